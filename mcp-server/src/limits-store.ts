/**
 * Per-client limits shared by every replica, in a Redis-protocol store (Redis, Valkey,
 * ElastiCache with cluster mode disabled, 6.0 or later) named by the runtime config's `limitsStore`.
 *
 * One Lua script per call (EVALSHA; EVAL once when the store has not cached it) takes the slot
 * atomically: it drops expired leases, refuses over the concurrency cap, refills and spends the
 * token bucket, and adds the call's lease, with the store's own clock (no skew between replicas).
 * A lease lives the workflow's statement timeout plus a margin, so the slots of a crashed replica
 * free themselves; a finished call gives its slot back at once (ZREM).
 *
 * Fails closed: an unreachable or slow store (no answer within COMMAND_TIMEOUT_MS) refuses the
 * call with UNAVAILABLE and the audit errorClass `limits-store`; it never counts per replica.
 * Why a small RESP client (resp.ts) rather than a package: three commands are needed, and the
 * common clients queue commands while disconnected and resend unanswered ones after reconnecting
 * (defaults to switch off one by one), which for a limiter could take a slot twice.
 */
import { createHash } from "node:crypto";
import type { LimitsStoreConfig } from "@dbwarden/contract";
import type { LimitsPlan } from "./config.js";
import { readSecret, type SecretSource } from "./credentials.js";
import { ToolError } from "./errors.js";
import { concurrencyRefusal, rateRefusal, type LimitedClient, type Limiter } from "./limits.js";
import { RespClient, RespError, type RespValue } from "./resp.js";

/** How long the store may take to answer one call's acquire before the call is refused. */
export const COMMAND_TIMEOUT_MS = 250;
const CONNECT_TIMEOUT_MS = 1_000;
/** After a failure, calls are refused at once for this long before the store is tried again. */
const RETRY_MS = 1_000;
/** A lease outlives the call's statement timeout by this much (connection waits, audit). */
export const LEASE_MARGIN_MS = 30_000;
const DEFAULT_KEY_PREFIX = "dbwarden:";

/**
 * KEYS[1] the client's token bucket (hash: tokens, at), KEYS[2] its running calls (sorted set:
 * lease id -> expiry ms). ARGV: callsPerMinute, concurrentCalls, lease ms, lease id.
 * Returns {0, running} over the concurrency cap, {1, running, ms until a token} over the rate,
 * {2, running} when the slot is taken.
 */
export const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local running = redis.call('ZCARD', KEYS[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then
  tokens = rate
  at = now
end
if now > at then
  tokens = math.min(rate, tokens + (now - at) * rate / 60000)
  at = now
end
local verdict = 2
if running >= cap then
  verdict = 0
elseif tokens < 1 then
  verdict = 1
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], 120000)
if verdict == 0 then return {0, running} end
if verdict == 1 then return {1, running, math.ceil((1 - tokens) * 60000 / rate)} end
redis.call('ZADD', KEYS[2], now + lease, ARGV[4])
redis.call('PEXPIRE', KEYS[2], lease)
return {2, running + 1}
`;
const ACQUIRE_SHA = createHash("sha1").update(ACQUIRE_SCRIPT).digest("hex");

function storeDown(): ToolError {
  return new ToolError("UNAVAILABLE", "the shared limits store cannot be reached, so calls are refused; try again shortly.", "limits-store");
}

/** The two keys of a client, in one Redis Cluster hash slot (`{...}`), named by a hash: client names never reach the store. */
export function clientKeys(prefix: string, who: LimitedClient): { rate: string; running: string } {
  const tag = createHash("sha256").update(`${who.workflow}\u0000${who.client}`).digest("hex").slice(0, 24);
  return { rate: `${prefix}limits:{${tag}}:rate`, running: `${prefix}limits:{${tag}}:running` };
}

export class SharedLimiter implements Limiter {
  readonly mode = "shared" as const;
  private readonly client: RespClient;
  private readonly prefix: string;
  /** Each client's keys, hashed once: the clients are the plan's, so this stays small. */
  private readonly keys = new Map<string, { rate: string; running: string }>();

  constructor(config: LimitsStoreConfig, secrets: SecretSource) {
    this.prefix = config.keyPrefix ?? DEFAULT_KEY_PREFIX;
    const auth = config.auth;
    this.client = new RespClient({
      host: config.host,
      port: config.port,
      tls: config.tls,
      password: async () => (auth ? (await readSecret(auth, secrets)).password : null),
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      retryMs: RETRY_MS,
    });
  }

  async acquire(who: LimitedClient, limits: LimitsPlan, requestId: string): Promise<() => void> {
    const keys = this.keysOf(who);
    const args = [keys.rate, keys.running, limits.callsPerMinute, limits.concurrentCalls, limits.statementTimeoutMs + LEASE_MARGIN_MS, requestId];
    let reply: RespValue;
    try {
      reply = await this.client.command(["EVALSHA", ACQUIRE_SHA, 2, ...args]);
      if (reply instanceof RespError && reply.message.startsWith("NOSCRIPT")) reply = await this.client.command(["EVAL", ACQUIRE_SCRIPT, 2, ...args]);
    } catch {
      throw storeDown();
    }
    if (!Array.isArray(reply) || typeof reply[0] !== "number" || typeof reply[1] !== "number") throw storeDown();
    if (reply[0] === 0) throw concurrencyRefusal(reply[1], limits);
    if (reply[0] === 1) throw rateRefusal(typeof reply[2] === "number" ? reply[2] : 60_000, limits);
    if (reply[0] !== 2) throw storeDown();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Not awaited: the answer does not wait for it. If it is lost, the lease expires.
      this.client.command(["ZREM", keys.running, requestId]).catch(() => {});
    };
  }

  private keysOf(who: LimitedClient): { rate: string; running: string } {
    const id = `${who.workflow}\u0000${who.client}`;
    let keys = this.keys.get(id);
    if (!keys) this.keys.set(id, (keys = clientKeys(this.prefix, who)));
    return keys;
  }

  async check(): Promise<{ ok: boolean; error: string | null }> {
    try {
      const reply = await this.client.command(["PING"]);
      return reply === "PONG" ? { ok: true, error: null } : { ok: false, error: "limits-store" };
    } catch {
      return { ok: false, error: "limits-store" };
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
