import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, type PoolClient } from 'pg';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait-for.js';

// npm start's embedded PostgreSQL (scripts/lib/embedded-postgres.mjs: PGlite behind pglite-socket), started
// as its own process, reached by `pg` over TCP exactly as the apps reach it with DATABASE_URL. What works,
// and what differs from a real server because pglite-socket multiplexes every connection over PGlite's one
// session (README, "PostgreSQL"); a pglite-socket release that changes any of it fails here.

const ROOT = join(__dirname, '..', '..');
const PROBE = join(ROOT, 'scripts', 'lib', 'pg-probe.mjs');

interface Embedded {
  child: ChildProcess;
  port: number;
  logs: string[];
  stop(): Promise<void>;
}

async function startEmbedded(dataDir: string, port: number): Promise<Embedded> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'lib', 'embedded-postgres.mjs'), dataDir, String(port)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => logs.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await waitFor(() => logs.find((l) => l.includes('listening on')) ?? (child.exitCode !== null ? 'exited' : undefined), {
    timeoutMs: 60_000,
    what: `the embedded PostgreSQL to listen (${logs.join(' | ')})`,
  });
  if (!line || line === 'exited') throw new Error(`embedded PostgreSQL exited: ${logs.join('\n')}`);
  return {
    child,
    port: Number(/:(\d+)$/.exec(line)?.[1]),
    logs,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

function probe(url: string): { ok: boolean; stderr: string } {
  const res = spawnSync(process.execPath, [PROBE, url], { encoding: 'utf8', timeout: 10_000 });
  return { ok: res.status === 0, stderr: res.stderr };
}

describe('embedded PostgreSQL (PGlite behind pglite-socket) over the wire', () => {
  let dataDir: string;
  let server: Embedded | undefined;
  let pool: Pool;
  let url: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'rampart-pglite-'));
    server = await startEmbedded(dataDir, 0);
    url = `postgres://postgres@127.0.0.1:${server.port}/postgres`;
    pool = new Pool({ connectionString: url, max: 8 });
  }, 90_000);

  afterAll(async () => {
    await pool?.end();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is usable to the probe npm start and .ci/run ask, which refuses what is not', async () => {
    expect(probe(url)).toEqual({ ok: true, stderr: '' });
    const closed = await freePort();
    expect(probe(`postgres://postgres@127.0.0.1:${closed}/postgres`)).toEqual({ ok: false, stderr: expect.stringContaining('ECONNREFUSED') });
    expect(probe('redis://127.0.0.1:6379').stderr).toContain('must be a postgres:// URL');
  });

  it('answers simple queries, and parameterised ones from many connections at once, each with its own values', async () => {
    expect((await pool.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => pool.query<{ v: number; t: string; j: { i: number } }>('select $1::int * 2 as v, $2::text as t, $3::jsonb as j', [i, `t${i}`, JSON.stringify({ i })])),
    );
    results.forEach((res, i) => expect(res.rows[0]).toEqual({ v: i * 2, t: `t${i}`, j: { i } }));
  });

  it('runs transactions of different connections one after the other (no lost update), rolls back, upserts', async () => {
    await pool.query('create table if not exists counter (id int primary key, n int not null)');
    await pool.query('insert into counter values (1, 0) on conflict (id) do update set n = 0');
    // Read, wait, write: on a real server at READ COMMITTED these lose updates; here no other connection runs
    // while one is inside a transaction.
    await Promise.all(
      Array.from({ length: 30 }, () =>
        withClient(pool, async (c) => {
          await c.query('begin');
          const { rows } = await c.query<{ n: number }>('select n from counter where id = 1');
          await new Promise((r) => setTimeout(r, 2));
          await c.query('update counter set n = $1 where id = 1', [rows[0].n + 1]);
          await c.query('commit');
        }),
      ),
    );
    expect((await pool.query('select n from counter where id = 1')).rows[0].n).toBe(30);
    await withClient(pool, async (c) => {
      await c.query('begin');
      await c.query('update counter set n = -1 where id = 1');
      await expect(c.query('select 1 / 0')).rejects.toMatchObject({ code: '22012' });
      await c.query('rollback');
    });
    await pool.query('insert into counter values (1, 5) on conflict (id) do update set n = excluded.n');
    expect((await pool.query('select n from counter where id = 1')).rows[0].n).toBe(5);
  });

  it('shares one session: a session advisory lock does not exclude another connection; a transaction-level one does', async () => {
    await withClient(pool, async (a) => {
      await withClient(pool, async (b) => {
        expect((await a.query('select pg_try_advisory_lock(42) as ok')).rows[0].ok).toBe(true);
        // On a real PostgreSQL this is false. Here both connections are the same backend session.
        expect((await b.query('select pg_try_advisory_lock(42) as ok')).rows[0].ok).toBe(true);
        await a.query('select pg_advisory_unlock_all()');

        await a.query('begin');
        await a.query('select pg_advisory_xact_lock(7)');
        let bAnswered = false;
        const bTry = b.query('select pg_try_advisory_xact_lock(7) as ok').then((r) => ((bAnswered = true), r.rows[0].ok as boolean));
        // b waits for a's transaction to end (it is not even run): a commits only after seeing that.
        await new Promise((r) => setTimeout(r, 200));
        expect(bAnswered).toBe(false);
        await a.query('commit');
        expect(await bTry).toBe(true); // a's lock went with its transaction
      });
    });
  });

  it('shares prepared statement names across connections (a client must not name its statements)', async () => {
    await withClient(pool, async (a) => {
      await withClient(pool, async (b) => {
        await a.query({ name: 'plus-one', text: 'select $1::int + 1 as v', values: [1] });
        await expect(b.query({ name: 'plus-one', text: 'select $1::int + 1 as v', values: [1] })).rejects.toThrow(/prepared statement "plus-one" already exists/);
      });
    });
  });

  it('keeps its data in the data folder across a restart', async () => {
    await pool.query('create table if not exists kept (v text)');
    await pool.query(`insert into kept values ('before restart')`);
    await pool.end();
    await server!.stop();
    server = await startEmbedded(dataDir, 0);
    url = `postgres://postgres@127.0.0.1:${server.port}/postgres`;
    pool = new Pool({ connectionString: url, max: 4 });
    expect((await pool.query('select v from kept')).rows).toEqual([{ v: 'before restart' }]);
  }, 90_000);
});

describe('the probe against a real PostgreSQL', () => {
  const real = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

  it('lets the test database in, and reports a database that does not exist as answering but refusing', () => {
    expect(probe(real)).toEqual({ ok: true, stderr: '' });
    const missing = new URL(real);
    missing.pathname = '/rampart_no_such_database';
    expect(probe(missing.toString())).toEqual({ ok: false, stderr: expect.stringContaining('does not exist') });
  });
});

async function withClient<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}
