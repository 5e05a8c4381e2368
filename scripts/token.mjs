#!/usr/bin/env node
// npm run token -- <userId> [ttlSeconds]
// Prints a user JWT (HS256, sub = userId, exp = now + ttlSeconds, default 3600) signed with
// JWT_SECRET, or else with the secret `npm start` saved in .rampart/secrets.json.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSecretsFile, SECRETS_FILE, signUserToken, USER_ID_PATTERN } from './lib/jwt.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function fail(message) {
  console.error(`token: ${message}`);
  process.exit(1);
}

const [userId, ttlArg] = process.argv.slice(2);
if (!userId) fail('usage: npm run token -- <userId> [ttlSeconds]');
if (!USER_ID_PATTERN.test(userId)) fail(`userId must be 1-128 characters of [A-Za-z0-9_-] (got "${userId}")`);
const ttlSeconds = ttlArg === undefined ? 3600 : Number(ttlArg);
if (!/^\d+$/.test(ttlArg ?? '3600') || ttlSeconds < 1) fail(`ttlSeconds must be a positive integer (got "${ttlArg}")`);

let secret = process.env.JWT_SECRET?.trim();
if (!secret) {
  try {
    secret = readSecretsFile(root)?.jwtSecret;
  } catch (err) {
    fail(err.message);
  }
}
if (!secret) fail(`no secret: set JWT_SECRET, or run npm start once (it writes ${SECRETS_FILE})`);

console.log(await signUserToken({ userId, secret, ttlSeconds }));
