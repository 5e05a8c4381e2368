import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@app/contracts';
import { API_OPERATIONS, buildOpenApiDocument } from '../../apps/gateway/src/openapi/openapi.document.js';
import { CLIENT_EXAMPLE, generateClientTypes, ROOT } from './api-docs.js';

jest.setTimeout(60_000);

/**
 * Generates the client types (openapi-typescript) from `document` next to a copy of the README's
 * example client, and type-checks it with the project's tsc under browser libs (fetch, EventSource).
 */
async function typeCheckExample(document: Record<string, unknown>): Promise<{ status: number | null; output: string; types: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-client-'));
  try {
    const types = await generateClientTypes(document);
    writeFileSync(join(dir, 'rampart-api.d.ts'), types);
    copyFileSync(CLIENT_EXAMPLE, join(dir, 'client.ts'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const compilerOptions = { strict: true, noEmit: true, target: 'ES2023', lib: ['ES2023', 'DOM'], module: 'nodenext', moduleResolution: 'nodenext', types: [] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['client.ts'] }));
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    return { status: tsc.status, output: `${tsc.stdout}${tsc.stderr}`, types };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('typed client (openapi-typescript) and the README example', () => {
  it('generates types from the document the code produces, and the example client compiles against them', async () => {
    const { status, output, types } = await typeCheckExample(buildOpenApiDocument());
    expect(output).toBe('');
    expect(status).toBe(0);
    expect(types).toContain('"/api/gifts/{giftId}/claims"');
    expect(types).toContain('"Idempotency-Key": string');
    expect(readFileSync(CLIENT_EXAMPLE, 'utf8')).toContain('new EventSource(');
  });

  it('is what the README shows', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const shown = /<!-- client-example:start -->\n```ts\n([\s\S]*?)```\n<!-- client-example:end -->/.exec(readme)?.[1];
    expect(shown).toBe(readFileSync(CLIENT_EXAMPLE, 'utf8'));
  });

  it('fails to compile when the claim gains an error code the example does not handle', async () => {
    const operations = API_OPERATIONS.map((op) => (op.id === 'claimGift' ? { ...op, errors: [...(op.errors ?? []), ErrorCode.Conflict] } : op));
    const { status, output } = await typeCheckExample(buildOpenApiDocument(operations));
    expect(status).not.toBe(0);
    expect(output).toMatch(/"CONFLICT"' is not assignable to type 'never'/);
  });
});
