/**
 * Per-client rate limit (token bucket refilled continuously at callsPerMinute) and concurrency cap.
 * Both answer at once: a call over either limit is refused with RATE_LIMITED, never queued.
 */
import type { LimitsPlan } from "./config.js";
import { ToolError } from "./errors.js";

interface Bucket {
  tokens: number;
  at: number;
  running: number;
}

export class ClientLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Take a slot for `key`; returns the release function. Throws RATE_LIMITED. */
  acquire(key: string, limits: LimitsPlan): () => void {
    const t = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: limits.callsPerMinute, at: t, running: 0 };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(limits.callsPerMinute, bucket.tokens + ((t - bucket.at) / 60_000) * limits.callsPerMinute);
    bucket.at = t;
    if (bucket.running >= limits.concurrentCalls) {
      throw new ToolError("RATE_LIMITED", `this client already has ${bucket.running} call(s) running (limit ${limits.concurrentCalls}); wait for them to finish.`, "concurrency");
    }
    if (bucket.tokens < 1) {
      const waitS = Math.ceil(((1 - bucket.tokens) / limits.callsPerMinute) * 60);
      throw new ToolError("RATE_LIMITED", `this client is over ${limits.callsPerMinute} calls per minute; retry in about ${waitS} s.`, "rate");
    }
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
}
