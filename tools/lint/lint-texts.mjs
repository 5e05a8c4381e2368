#!/usr/bin/env node
// Lints snippets of code as if they sat at given paths of the repo, with the repo's own eslint.config.js.
// Input (stdin): JSON `[{ "filePath": "apps/x/src/y.ts", "code": "import ..." }, ...]`, paths relative
// to the repo root (the files need not exist; what they import must, for the path rules to resolve).
// Output (stdout): JSON `[{ "filePath", "messages": [{ "ruleId", "message", "severity" }] }, ...]`, in
// input order. Exit 0 unless ESLint itself fails.
// Why a separate process: ESLint loads the ESM config with import(), which Jest's CommonJS sandbox
// refuses (it needs --experimental-vm-modules); a child Node runs it exactly as `npm run lint` does.
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { ESLint } from 'eslint';

const root = path.resolve(import.meta.dirname, '../..');
const cases = JSON.parse(await text(process.stdin));
const eslint = new ESLint({ cwd: root });
const out = [];
for (const { filePath, code } of cases) {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, filePath), warnIgnored: true });
  out.push({
    filePath,
    messages: result.messages.map(({ ruleId, message, severity }) => ({ ruleId, message, severity })),
  });
}
process.stdout.write(JSON.stringify(out));
