// Secrets for local runs: JWT_SECRET, ADMIN_TOKEN and SERVICE_TOKEN from the environment, else generated once and
// kept in .rampart/secrets.json (mode 0600) so restarts and `npm run token` reuse them.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readSecretsFile, SECRETS_FILE } from './jwt.mjs';

/**
 * @returns {{ jwtSecret: string, adminToken: string, serviceToken: string, sources: { jwtSecret: string, adminToken: string, serviceToken: string } }}
 *   sources say where each came from: "env", "file" or "generated"
 */
export function loadOrCreateSecrets(root, env = process.env) {
  const saved = readSecretsFile(root) ?? {};
  const pick = (envName, key, generate) => {
    const fromEnv = env[envName]?.trim();
    if (fromEnv) return [fromEnv, 'env'];
    if (typeof saved[key] === 'string' && saved[key]) return [saved[key], 'file'];
    return [generate(), 'generated'];
  };
  // 32 random bytes for the HS256 key (the gateway wants at least 32 bytes); 24 for the admin token.
  const [jwtSecret, jwtSource] = pick('JWT_SECRET', 'jwtSecret', () => randomBytes(32).toString('base64url'));
  const [adminToken, adminSource] = pick('ADMIN_TOKEN', 'adminToken', () => randomBytes(24).toString('base64url'));
  const [serviceToken, serviceSource] = pick('SERVICE_TOKEN', 'serviceToken', () => randomBytes(32).toString('base64url'));
  if (jwtSource === 'generated' || adminSource === 'generated' || serviceSource === 'generated') {
    // Only generated values are written: a secret given through the environment stays out of the file.
    const file = join(root, SECRETS_FILE);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const next = { ...saved };
    if (jwtSource === 'generated') next.jwtSecret = jwtSecret;
    if (adminSource === 'generated') next.adminToken = adminToken;
    if (serviceSource === 'generated') next.serviceToken = serviceToken;
    writeFileSync(file, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600); // writeFileSync's mode applies only when it creates the file
  }
  return { jwtSecret, adminToken, serviceToken, sources: { jwtSecret: jwtSource, adminToken: adminSource, serviceToken: serviceSource } };
}
