/**
 * Per-client rate limit (token bucket refilled continuously at callsPerMinute) and concurrency cap.
 * Both answer at once: a call over either limit is refused with RATE_LIMITED, never queued.
 *
 * Where they are counted: in this process (`ClientLimiter`: behind a load balancer each replica
 * counts on its own, so a client's limits multiply by the replica count), or, when the runtime
 * config names a `limitsStore`, in that Redis-protocol store, shared by every replica
 * (limits-store.ts). A shared store that cannot answer refuses the call (UNAVAILABLE, audit
 * errorClass `limits-store`): it never falls back to counting per replica.
 */
import type { LimitsPlan, RuntimeConfig } from "./config.js";
import type { SecretSource } from "./credentials.js";
import { concurrencyRefusal, rateRefusal, type LimitedClient, type Limiter, type LimitsMode } from "./limiter.js";
import { SharedLimiter } from "./limits-store.js";

export { concurrencyRefusal, rateRefusal, type LimitedClient, type Limiter, type LimitsMode } from "./limiter.js";

interface Bucket {
  tokens: number;
  at: number;
  running: number;
}

/** Limits counted in this process. */
export class ClientLimiter implements Limiter {
  readonly mode = "per-replica" as const;
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  async acquire(who: LimitedClient, limits: LimitsPlan): Promise<() => void> {
    return this.take(`${who.workflow}\u0000${who.client}`, limits);
  }

  /** Take a slot for `key`; returns the release function. Throws RATE_LIMITED. */
  take(key: string, limits: LimitsPlan): () => void {
    const t = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: limits.callsPerMinute, at: t, running: 0 };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(limits.callsPerMinute, bucket.tokens + ((t - bucket.at) / 60_000) * limits.callsPerMinute);
    bucket.at = t;
    if (bucket.running >= limits.concurrentCalls) throw concurrencyRefusal(bucket.running, limits);
    if (bucket.tokens < 1) throw rateRefusal(((1 - bucket.tokens) / limits.callsPerMinute) * 60_000, limits);
    bucket.tokens -= 1;
    bucket.running++;
    let released = false;
    const b = bucket;
    return () => {
      if (!released) {
        released = true;
        b.running--;
      }
    };
  }

  async check(): Promise<{ ok: boolean; error: string | null }> {
    return { ok: true, error: null };
  }

  async close(): Promise<void> {}
}

/** The limiter a runtime config asks for: the shared store it names, else per replica. */
export function limiterFor(runtime: RuntimeConfig, secrets: SecretSource): Limiter {
  return runtime.limitsStore ? new SharedLimiter(runtime.limitsStore, secrets) : new ClientLimiter();
}

/**
 * The limiter of a running server: follows the runtime config across reloads (a changed
 * `limitsStore` replaces the limiter; per-replica counts start over when one is created).
 */
export class Limits implements Limiter {
  private limiter: Limiter;
  private store: string;

  constructor(
    runtime: RuntimeConfig,
    private readonly secrets: SecretSource,
  ) {
    this.limiter = limiterFor(runtime, secrets);
    this.store = JSON.stringify(runtime.limitsStore ?? null);
  }

  get mode(): LimitsMode {
    return this.limiter.mode;
  }

  acquire(who: LimitedClient, limits: LimitsPlan, requestId: string): Promise<() => void> {
    return this.limiter.acquire(who, limits, requestId);
  }

  check(): Promise<{ ok: boolean; error: string | null }> {
    return this.limiter.check();
  }

  async setRuntime(runtime: RuntimeConfig): Promise<void> {
    const store = JSON.stringify(runtime.limitsStore ?? null);
    if (store === this.store) return;
    const old = this.limiter;
    this.limiter = limiterFor(runtime, this.secrets);
    this.store = store;
    await old.close();
  }

  close(): Promise<void> {
    return this.limiter.close();
  }
}
