/**
 * What a limiter is (`Limiter`: counted in this process, limits.ts, or in a shared store,
 * limits-store.ts) and the words of its refusals, the same wherever limits are counted. Apart from
 * both so that neither imports the other.
 */
import type { LimitsPlan, RuntimeConfig } from "./config.js";
import { ToolError } from "./errors.js";

/** Whose limits a call counts against. */
export interface LimitedClient {
  workflow: string;
  client: string;
}

/** Where limits are counted, as `/readyz` reports it. */
export type LimitsMode = "shared" | "per-replica";

export interface Limiter {
  readonly mode: LimitsMode;
  /**
   * Take a slot for the client's call `requestId`; resolves with the function that gives it back.
   * Throws RATE_LIMITED over a limit, UNAVAILABLE when the limits cannot be counted.
   */
  acquire(who: LimitedClient, limits: LimitsPlan, requestId: string): Promise<() => void>;
  /** Whether limits can be counted now (`/readyz`); `error` is a class, never a secret. */
  check(): Promise<{ ok: boolean; error: string | null }>;
  /** Follow a reloaded runtime config, for a limiter that can (`Limits`). */
  setRuntime?(runtime: RuntimeConfig): Promise<void>;
  close(): Promise<void>;
}

/** The refusal of a call over the concurrency cap (the same words wherever limits are counted). */
export function concurrencyRefusal(running: number, limits: LimitsPlan): ToolError {
  return new ToolError(
    "RATE_LIMITED",
    `this client already has ${running} call(s) running (limit ${limits.concurrentCalls}); wait for them to finish.`,
    "concurrency",
  );
}

/** The refusal of a call over the rate; `waitMs` until a token is back. */
export function rateRefusal(waitMs: number, limits: LimitsPlan): ToolError {
  return new ToolError(
    "RATE_LIMITED",
    `this client is over ${limits.callsPerMinute} calls per minute; retry in about ${Math.max(1, Math.ceil(waitMs / 1000))} s.`,
    "rate",
  );
}
