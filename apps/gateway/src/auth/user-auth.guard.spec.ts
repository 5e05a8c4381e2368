import type { ExecutionContext } from '@nestjs/common';
import { SignJWT, UnsecuredJWT } from 'jose';
import { ErrorCode, isAppError } from '@app/contracts';
import type { GatewayConfig } from '../config/gateway.config.js';
import { AdminAuthGuard } from './admin-auth.guard.js';
import { UserAuthGuard, type UserRequest } from './user-auth.guard.js';

const JWT_SECRET = 'test-jwt-secret-of-at-least-32-bytes!!';
const ADMIN_TOKEN = 'test-admin-token-24-chars-long';
const config = { jwtSecret: JWT_SECRET, adminToken: ADMIN_TOKEN } as GatewayConfig;

function contextFor(authorization?: string): { context: ExecutionContext; request: UserRequest } {
  const request = { headers: authorization === undefined ? {} : { authorization } } as UserRequest;
  const context = { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
  return { context, request };
}

function sign(claims: Record<string, unknown>, secret = JWT_SECRET, expiresIn: string | number = '5m'): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

async function rejection(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function expectUnauthorized(guard: { canActivate(c: ExecutionContext): unknown }, authorization?: string): Promise<string> {
  const err = await rejection(() => guard.canActivate(contextFor(authorization).context));
  expect(isAppError(err) && err.code).toBe(ErrorCode.Unauthorized);
  return (err as Error).message;
}

describe('UserAuthGuard', () => {
  const guard = new UserAuthGuard(config);

  it('accepts a valid token and exposes sub as the user id', async () => {
    const { context, request } = contextFor(`Bearer ${await sign({ sub: 'user-1' })}`);
    expect(guard.canActivate(context)).toBe(true);
    expect(request.userId).toBe('user-1');
  });

  it('rejects a missing or malformed header', async () => {
    await expectUnauthorized(guard);
    await expectUnauthorized(guard, 'Basic dXNlcjpwYXNz');
    await expectUnauthorized(guard, 'Bearer');
    await expectUnauthorized(guard, 'Bearer not.a.jwt');
  });

  it('rejects an expired token', async () => {
    const token = await sign({ sub: 'user-1' }, JWT_SECRET, Math.floor(Date.now() / 1000) - 60);
    expect(await expectUnauthorized(guard, `Bearer ${token}`)).toBe('token expired');
  });

  it('rejects a token without exp (it would be valid forever)', async () => {
    const token = await new SignJWT({ sub: 'user-1' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(new TextEncoder().encode(JWT_SECRET));
    expect(await expectUnauthorized(guard, `Bearer ${token}`)).toBe('token has no exp');
  });

  it('rejects a token signed with another secret, without echoing it', async () => {
    const token = await sign({ sub: 'user-1' }, 'another-secret-that-is-32-bytes-long!!');
    const message = await expectUnauthorized(guard, `Bearer ${token}`);
    expect(message).not.toContain(token);
  });

  it('rejects alg none', async () => {
    const token = new UnsecuredJWT({ sub: 'user-1' }).setExpirationTime('5m').encode();
    await expectUnauthorized(guard, `Bearer ${token}`);
  });

  it('rejects a token without a valid sub', async () => {
    await expectUnauthorized(guard, `Bearer ${await sign({})}`);
    await expectUnauthorized(guard, `Bearer ${await sign({ sub: 'has spaces' })}`);
    await expectUnauthorized(guard, `Bearer ${await sign({ sub: 'x'.repeat(129) })}`);
  });
});

describe('AdminAuthGuard', () => {
  const guard = new AdminAuthGuard(config);

  it('accepts the admin token', () => {
    expect(guard.canActivate(contextFor(`Bearer ${ADMIN_TOKEN}`).context)).toBe(true);
  });

  it('rejects a missing, wrong or prefixed token', async () => {
    await expectUnauthorized(guard);
    await expectUnauthorized(guard, `Bearer ${ADMIN_TOKEN}x`);
    await expectUnauthorized(guard, `Bearer ${ADMIN_TOKEN.slice(0, -1)}`);
    await expectUnauthorized(guard, ADMIN_TOKEN);
  });

  it('does not accept a user JWT', async () => {
    await expectUnauthorized(guard, `Bearer ${await sign({ sub: 'user-1' })}`);
  });
});
