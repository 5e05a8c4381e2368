import { AppError } from '@app/contracts';
import { actorOf } from './actor.decorator.js';

describe('actorOf (X-Actor)', () => {
  it('names the operator when the header is well-formed, and is plain admin without it', () => {
    expect(actorOf(undefined)).toBe('admin');
    expect(actorOf('sre.alice@corp-1_x')).toBe('admin:sre.alice@corp-1_x');
    expect(actorOf('a'.repeat(64))).toBe(`admin:${'a'.repeat(64)}`);
  });

  it('refuses a malformed header with 400 BAD_REQUEST', () => {
    for (const bad of ['', 'a'.repeat(65), 'bob smith', 'eve<script>', 'ü', ['a', 'b']]) {
      expect(() => actorOf(bad)).toThrow(AppError);
      try {
        actorOf(bad);
      } catch (err) {
        expect((err as AppError).code).toBe('BAD_REQUEST');
      }
    }
  });
});
