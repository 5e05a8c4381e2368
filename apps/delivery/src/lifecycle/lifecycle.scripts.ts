import type { Redis } from 'ioredis';
import bindOrder from './lua/bind-order.lua';
import holdAttempt from './lua/hold-attempt.lua';
import moveOrder from './lua/move-order.lua';
import prelude from './lua/prelude.lua';
import readOrders from './lua/read-orders.lua';
import retireBinding from './lua/retire-binding.lua';
import retireOrder from './lua/retire-order.lua';
import startClaim from './lua/start-claim.lua';
import storeLatch from './lua/store-latch.lua';
import takeAttempt from './lua/take-attempt.lua';

type Arg = string | number;

/** The lifecycle's Redis commands (each a Lua script of `./lua`, one hash slot each). */
export interface LifecycleCommands {
  rpBindOrder(binding: string, retiredShard: string, ...argv: Arg[]): Promise<string[]>;
  rpStartClaim(gift: string, day: string, user: string, ledger: string, state: string, history: string, open: string, orders: string, latch: string, ...argv: Arg[]): Promise<string[]>;
  rpTakeAttempt(state: string, history: string, open: string, gift: string, ...argv: Arg[]): Promise<[number, string, string?, string?, string?, string?]>;
  rpHoldAttempt(state: string, open: string, ...argv: Arg[]): Promise<number>;
  rpRetireOrder(state: string, history: string, ledger: string, orders: string, open: string, uncertain: string, ...argv: Arg[]): Promise<[number, string]>;
  rpMoveOrder(state: string, history: string, open: string, gift: string, user: string, ledger: string, uncertain: string, latch: string, settled: string, ...argv: Arg[]): Promise<[number, string, string?]>;
  rpStoreLatch(gift: string, latch: string, ...argv: Arg[]): Promise<number>;
  rpRetireBinding(binding: string, retiredShard: string, retiredNext: string, ...offsets: Arg[]): Promise<number>;
  /** Keys counted first (state and history of each order, one gift), then the state fields to read. */
  rpReadOrders(numberOfKeys: number, ...keysThenFields: string[]): Promise<Array<Array<string | null>>>;
}

/** `numberOfKeys` undefined: the caller passes the count first (a batch of any size). */
const SCRIPTS: Record<keyof LifecycleCommands, { numberOfKeys?: number; lua: string }> = {
  rpBindOrder: { numberOfKeys: 2, lua: bindOrder },
  rpStartClaim: { numberOfKeys: 9, lua: startClaim },
  rpTakeAttempt: { numberOfKeys: 4, lua: takeAttempt },
  rpHoldAttempt: { numberOfKeys: 2, lua: holdAttempt },
  rpMoveOrder: { numberOfKeys: 9, lua: moveOrder },
  rpStoreLatch: { numberOfKeys: 2, lua: storeLatch },
  rpRetireOrder: { numberOfKeys: 6, lua: retireOrder },
  rpRetireBinding: { numberOfKeys: 3, lua: retireBinding },
  rpReadOrders: { lua: readOrders },
};

/**
 * Defines the lifecycle scripts on a connection, once (ioredis sends EVALSHA and loads a script on
 * NOSCRIPT, e.g. after a Redis restart). Each script gets the shared prelude.
 */
export function withLifecycleCommands(redis: Redis): Redis & LifecycleCommands {
  const defined = redis as Redis & LifecycleCommands;
  for (const [name, script] of Object.entries(SCRIPTS)) {
    if (typeof (defined as unknown as Record<string, unknown>)[name] === 'function') continue;
    redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: `${prelude}\n${script.lua}` });
  }
  return defined;
}
