// User tokens for local runs: HS256 JWTs as the gateway expects them (contract section 2),
// and the secrets file `npm start` writes so `npm run token` can sign with the same key.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';

/** Ids the contract allows for users (and orders, gifts): 1-128 of [A-Za-z0-9_-]. */
export const USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** Where `npm start` keeps generated secrets, relative to the project root (git-ignored). */
export const SECRETS_FILE = join('.rampart', 'secrets.json');

/**
 * Signs a user token. `sub` = userId, `iat` = now, `exp` = now + ttlSeconds.
 * @param {{ userId: string, secret: string, ttlSeconds?: number }} input ttlSeconds defaults to 3600.
 * @returns {Promise<string>}
 */
export async function signUserToken({ userId, secret, ttlSeconds = 3600 }) {
  if (!USER_ID_PATTERN.test(userId)) throw new Error(`userId must be 1-128 characters of [A-Za-z0-9_-] (got "${userId}")`);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) throw new Error(`ttlSeconds must be a positive integer (got "${ttlSeconds}")`);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}

/**
 * Reads `.rampart/secrets.json` under `root`; undefined when it does not exist.
 * @returns {{ jwtSecret?: string, adminToken?: string } | undefined}
 */
export function readSecretsFile(root) {
  let text;
  try {
    text = readFileSync(join(root, SECRETS_FILE), 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${SECRETS_FILE} is not valid JSON; delete it and run npm start again`);
  }
}
