import { EnvReader } from '../config/env-reader.js';
import { redactDatabaseUrl } from './database.js';
import { readDatabaseConfig } from './database.config.js';

describe('readDatabaseConfig', () => {
  const read = (env: Record<string, string | undefined>) => {
    const reader = new EnvReader(env);
    return { config: readDatabaseConfig(reader), problems: reader.problems };
  };

  it('is off without DATABASE_URL, with the defaults', () => {
    expect(read({})).toEqual({ config: { url: '', schema: 'public', poolMax: 5, statementTimeoutMs: 5_000 }, problems: [] });
  });

  it('takes a postgres URL and a schema', () => {
    const { config, problems } = read({ DATABASE_URL: 'postgresql://rampart:s3cret@db:5432/rampart', DATABASE_SCHEMA: 'rampart_eu', DATABASE_POOL_MAX: '12' });
    expect(problems).toEqual([]);
    expect(config).toMatchObject({ url: 'postgresql://rampart:s3cret@db:5432/rampart', schema: 'rampart_eu', poolMax: 12 });
  });

  it('names a wrong URL without echoing it (it may hold a password), and a schema that is no plain identifier', () => {
    const { problems } = read({ DATABASE_URL: 'mysql://root:hunter2@db/x', DATABASE_SCHEMA: 'a-b"; DROP' });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toBe('DATABASE_URL must be a postgres:// or postgresql:// URL');
    expect(problems.join(' ')).not.toContain('hunter2');
    expect(problems[1]).toMatch(/^DATABASE_SCHEMA must be 1-63 characters of \[a-z0-9_\]/);
  });

  it('logs URLs without their password', () => {
    expect(redactDatabaseUrl('postgres://rampart:s3cret@db:5432/rampart')).toBe('postgres://rampart:***@db:5432/rampart');
    expect(redactDatabaseUrl('postgres://postgres@127.0.0.1:5432/postgres')).toBe('postgres://postgres@127.0.0.1:5432/postgres');
  });
});
