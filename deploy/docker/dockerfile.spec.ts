import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Copy, DockerfileParser, From, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';

// The image can't be built on a machine without a Docker engine, so the Dockerfile is checked as text:
// dockerfile-utils (the linter behind the VS Code Dockerfile language server, offline) for syntax and
// instruction problems, then our own rules over the dockerfile-ast parse. Each rule is also run against
// a Dockerfile broken on purpose, so a rule that stops catching its problem fails here.

const DOCKERFILE = readFileSync(join(__dirname, '../../Dockerfile'), 'utf8');

/** Names that must never be baked into an image by ENV or ARG (the contract's secrets, and their kind). */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|API_?KEY|^JWT/i;
const NODE_24 = /^24(\.|-|$)/;

interface Stage { name: string | null; image: string | null; tag: string | null; instructions: Instruction[] }

function stagesOf(content: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(content).getInstructions()) {
    if (instruction instanceof From) {
      const from = instruction;
      stages.push({ name: from.getBuildStage(), image: from.getImageName(), tag: from.getImageTag(), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
const args = (i: Instruction) => i.getArgumentsContent() ?? '';
const copyFrom = (i: Instruction) => (i instanceof Copy ? i.getFromFlag()?.getValue() ?? null : null);

/** The argv of an exec-form (JSON array) CMD or ENTRYPOINT; null in shell form. */
function execForm(i: Instruction): string[] | null {
  try {
    const argv: unknown = JSON.parse(args(i));
    return Array.isArray(argv) && argv.length > 0 && argv.every((a) => typeof a === 'string') ? argv : null;
  } catch {
    return null;
  }
}

/** Every rule this image must keep, as a list of problems (empty when the Dockerfile is right). */
function problems(content: string): string[] {
  const found: string[] = [];
  const stages = stagesOf(content);
  const final = stages.at(-1);
  if (!final) return ['no FROM instruction'];
  const stageNames = new Set(stages.map((s) => s.name).filter(Boolean));

  // Node 24 LTS in every stage (a stage may also start from an earlier stage).
  for (const s of stages) {
    const fromEarlierStage = s.image !== null && stageNames.has(s.image) && s.image !== s.name;
    if (!fromEarlierStage && !(s.image === 'node' && NODE_24.test(s.tag ?? ''))) {
      found.push(`stage ${s.name ?? '(unnamed)'} is based on ${s.image}:${s.tag}, not node:24`);
    }
  }

  // Multi-stage: the final image takes its files from a build stage, not from the build context.
  const copies = of(final, 'COPY');
  if (stages.length < 2) found.push('not a multi-stage build');
  const fromContext = copies.filter((c) => copyFrom(c) === null);
  if (fromContext.length) found.push(`final stage copies from the build context: ${fromContext.map(args).join('; ')}`);
  if (of(final, 'RUN').some((r) => /\bnpm (install|i|ci)\b/.test(args(r)) && !/--omit=dev/.test(args(r)))) {
    found.push('final stage installs dev dependencies');
  }

  // Dev dependencies pruned: node_modules in the final image comes from a stage whose last npm step omits dev.
  const modulesCopy = copies.find((c) => /node_modules/.test(args(c)));
  if (!modulesCopy) found.push('final stage has no node_modules copied from a build stage');
  else {
    const source = stages.find((s) => s.name === copyFrom(modulesCopy));
    const npmSteps = (source ? of(source, 'RUN') : []).filter((r) => /\bnpm\b/.test(args(r)));
    const lastNpmStep = npmSteps.at(-1) ? args(npmSteps.at(-1)!) : '';
    const lastCommand = lastNpmStep.split('&&').at(-1) ?? '';
    if (!/npm (prune|install|ci)\b.*--omit=dev/.test(lastCommand)) {
      found.push(`node_modules comes from a stage whose last npm step keeps dev dependencies ("${lastNpmStep}")`);
    }
  }

  // Runs as a non-root user: the final stage's last USER is set and is not root.
  const user = of(final, 'USER').at(-1);
  const userName = user ? args(user).split(':')[0].trim() : 'root';
  if (userName === 'root' || userName === '0') found.push(`final stage runs as ${userName}`);

  // No secret in ENV or ARG, in any stage: both end up in the image's history.
  for (const s of stages) {
    for (const i of [...of(s, 'ENV'), ...of(s, 'ARG')]) {
      for (const name of args(i).split(/\s+/).map((p) => p.split('=')[0])) {
        if (name && SECRET_NAME.test(name)) found.push(`${i.getKeyword()} ${name} bakes a secret into the image`);
      }
    }
  }

  // CMD (or ENTRYPOINT) in exec form, so the app gets SIGTERM; a shell wrapper must `exec` the app.
  const start = [...of(final, 'ENTRYPOINT'), ...of(final, 'CMD')].at(-1);
  if (!start) found.push('final stage has no CMD or ENTRYPOINT');
  else {
    const argv = execForm(start);
    const isShell = argv !== null && (argv[0] === 'sh' || argv[0] === '/bin/sh');
    const script = isShell ? argv[argv.indexOf('-c') + 1] ?? '' : null;
    if (argv === null) found.push(`${start.getKeyword()} is in shell form: ${args(start)}`);
    else if (script !== null && !/^exec\s/.test(script.trim())) found.push(`${start.getKeyword()} runs a shell that does not exec the app`);
  }
  return found;
}

describe('Dockerfile', () => {
  it('has no problem that the dockerfile-utils linter reports', () => {
    const lines = DOCKERFILE.split('\n');
    const report = validate(DOCKERFILE).map((d) => `line ${d.range.start.line + 1}: ${d.message} (${lines[d.range.start.line]})`);
    expect(report).toEqual([]);
  });

  it('the linter sees a broken instruction (so the check above is live)', () => {
    const report = validate(DOCKERFILE.replace('WORKDIR /app', 'WORKDIR /app\nEXPOSE port')).map((d) => d.message);
    expect(report.length).toBeGreaterThan(0);
  });

  it('keeps every image rule: Node 24, multi-stage, dev deps pruned, non-root, no secrets, exec CMD', () => {
    expect(stagesOf(DOCKERFILE).map((s) => `${s.image}:${s.tag}`)).toEqual(['node:24-bookworm-slim', 'node:24-bookworm-slim']);
    expect(problems(DOCKERFILE)).toEqual([]);
  });

  it('names every application of nest-cli.json in its APP list, and `npm run build` builds each into dist/apps/<app>', () => {
    const all = JSON.parse(readFileSync(join(__dirname, '../../nest-cli.json'), 'utf8')).projects as Record<string, { type: string }>;
    const projects = Object.keys(all).filter((name) => all[name].type === 'application');
    expect(projects).toEqual(expect.arrayContaining(['gateway', 'query', 'delivery', 'analyzer']));
    const listed = /APP\s*\n#\s*\(([^)]*)\)/.exec(DOCKERFILE)?.[1].split(/,\s*/) ?? [];
    expect([...listed].sort()).toEqual([...projects].sort());
    const build: string = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')).scripts.build;
    for (const app of projects) expect({ app, built: build.includes(`nest build ${app}`) }).toEqual({ app, built: true });
  });

  // Each rule catches the defect it names (the real Dockerfile, broken one way at a time).
  const broken: Array<[string, (d: string) => string, RegExp]> = [
    ['a Node 20 build stage', (d) => d.replace('FROM node:24-bookworm-slim AS build', 'FROM node:20-bookworm-slim AS build'), /stage build is based on node:20/],
    ['an untagged base image', (d) => d.replace('FROM node:24-bookworm-slim AS runtime', 'FROM node AS runtime'), /stage runtime is based on node:null/],
    ['a single-stage build', (d) => `FROM node:24-bookworm-slim\nWORKDIR /app\nCOPY . .\nRUN npm install && npm run build\nUSER node\nCMD ["node", "dist/apps/gateway/main.js"]\n`, /not a multi-stage build/],
    ['no prune after the build', (d) => d.replace(' && npm prune --omit=dev', ''), /keeps dev dependencies/],
    ['a full npm install in the final stage', (d) => d.replace('USER node', 'RUN npm install\nUSER node'), /final stage installs dev dependencies/],
    ['no USER', (d) => d.replace(/^USER node$/m, ''), /final stage runs as root/],
    ['USER root', (d) => d.replace(/^USER node$/m, 'USER root'), /final stage runs as root/],
    ['a secret in ENV', (d) => d.replace('ENV APP=gateway', 'ENV APP=gateway JWT_SECRET=abc'), /ENV JWT_SECRET bakes a secret/],
    ['a secret in ARG', (d) => d.replace('WORKDIR /app\nCOPY package.json', 'ARG SERVICE_TOKEN\nWORKDIR /app\nCOPY package.json'), /ARG SERVICE_TOKEN bakes a secret/],
    ['a shell-form CMD', (d) => d.replace(/^CMD .*$/m, 'CMD node dist/apps/$APP/main.js'), /CMD is in shell form/],
    ['a shell CMD without exec', (d) => d.replace('exec node', 'node'), /does not exec the app/],
  ];
  it.each(broken)('catches %s', (_what, breakIt, expected) => {
    const changed = breakIt(DOCKERFILE);
    expect(changed).not.toBe(DOCKERFILE);
    expect(problems(changed).join('\n')).toMatch(expected);
  });
});
