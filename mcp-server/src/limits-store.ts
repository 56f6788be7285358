/**
 * Per-client limits shared by every replica, in a Redis-protocol store (Redis, Valkey,
 * ElastiCache with cluster mode disabled, 6.0 or later) named by the runtime config's `limitsStore`.
 *
 * One Lua script per call (EVALSHA; EVAL once when the store has not cached it) takes the slot
 * atomically: it drops expired leases, refuses over the concurrency cap, refills and spends the
 * token bucket, and adds the call's lease, with the store's own clock (no skew between replicas).
 * A lease lives the workflow's statement timeout plus a margin, so the slots of a crashed replica
 * free themselves; a finished call gives its slot back at once.
 *
 * Taking and giving back are idempotent per request id, because a store that answers late still
 * runs what it was sent: a replica that gave up on a frozen store (no answer within
 * COMMAND_TIMEOUT_MS) cannot know whether the take will run when the store resumes. So a take
 * whose answer was lost is given back anyway: the release removes the lease if the take ran, and
 * leaves a tombstone (the request id, for one lease length) that turns a take arriving after it
 * into a no-op. Releases that cannot be sent are kept and sent again until they land (and, before
 * a client's next take, on the same connection ahead of it), so slots come back as soon as the
 * store answers again rather than when their leases expire.
 *
 * Fails closed: an unreachable or slow store refuses the call with UNAVAILABLE and the audit
 * errorClass `limits-store`; it never counts per replica.
 * Why a small RESP client (resp.ts) rather than a package: a few commands are needed, and the
 * common clients queue commands while disconnected and resend unanswered ones after reconnecting
 * (defaults to switch off one by one), which for a limiter could take a slot twice.
 */
import { createHash } from "node:crypto";
import type { LimitsStoreConfig } from "@dbwarden/contract";
import type { LimitsPlan } from "./config.js";
import { readSecret, type SecretSource } from "./credentials.js";
import { ToolError } from "./errors.js";
import { concurrencyRefusal, rateRefusal, type LimitedClient, type Limiter } from "./limiter.js";
import { RespClient, RespError, StoreUnavailable, type RespValue } from "./resp.js";

/** How long the store may take to answer one call's acquire before the call is refused. */
export const COMMAND_TIMEOUT_MS = 250;
const CONNECT_TIMEOUT_MS = 1_000;
/**
 * After a failure, calls are refused at once for this long before the store is tried again. Short:
 * once the store answers again, calls are served again within about this long.
 */
const RETRY_MS = 100;
/** How often releases that could not be sent are tried again. */
const RELEASE_RETRY_MS = 100;
/** Releases kept for sending again at most (the oldest go first: their leases expire by themselves). */
export const MAX_PENDING_RELEASES = 10_000;
/** A lease outlives the call's statement timeout by this much (connection waits, audit). */
export const LEASE_MARGIN_MS = 30_000;
const DEFAULT_KEY_PREFIX = "dbwarden:";

/** The store's clock in milliseconds, in Lua. */
const NOW_LUA = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS[1] the client's token bucket (hash: tokens, at), KEYS[2] its running calls (sorted set:
 * request id -> lease expiry ms), KEYS[3] its released request ids (sorted set: request id ->
 * tombstone expiry ms). ARGV: callsPerMinute, concurrentCalls, lease ms, request id.
 * Returns {0, running} over the concurrency cap, {1, running, ms until a token} over the rate,
 * {2, running} when the slot is taken, {3, 0} when the request was released before its take ran
 * (nothing is taken or spent).
 */
export const ACQUIRE_SCRIPT = `
${NOW_LUA}
local released = redis.call('ZSCORE', KEYS[3], ARGV[4])
if released and tonumber(released) > now then return {3, 0} end
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

/**
 * KEYS[1] the client's running calls, KEYS[2] its released request ids. ARGV: request id,
 * tombstone ms (0: none, the take is known to have run). Removes the request's lease whether or
 * not its take ran; with a tombstone, a take of the request arriving later takes nothing.
 */
export const RELEASE_SCRIPT = `
${NOW_LUA}
redis.call('ZREM', KEYS[1], ARGV[1])
local tombstone = tonumber(ARGV[2])
if tombstone > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  redis.call('ZADD', KEYS[2], now + tombstone, ARGV[1])
  if redis.call('PTTL', KEYS[2]) < tombstone then redis.call('PEXPIRE', KEYS[2], tombstone) end
end
return 1
`;

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");
const SCRIPTS = { acquire: { text: ACQUIRE_SCRIPT, sha: sha1(ACQUIRE_SCRIPT) }, release: { text: RELEASE_SCRIPT, sha: sha1(RELEASE_SCRIPT) } };

function storeDown(): ToolError {
  return new ToolError("UNAVAILABLE", "the shared limits store cannot be reached, so calls are refused; try again shortly.", "limits-store");
}

/** A client's keys: its token bucket, its running calls' leases, its released request ids. */
export interface ClientKeys {
  rate: string;
  running: string;
  released: string;
}

/** The keys of a client, in one Redis Cluster hash slot (`{...}`), named by a hash: client names never reach the store. */
export function clientKeys(prefix: string, who: LimitedClient): ClientKeys {
  const tag = createHash("sha256").update(`${who.workflow}\u0000${who.client}`).digest("hex").slice(0, 24);
  const base = `${prefix}limits:{${tag}}`;
  return { rate: `${base}:rate`, running: `${base}:running`, released: `${base}:released` };
}

/** A release not yet known to have landed. */
interface PendingRelease {
  keys: ClientKeys;
  requestId: string;
  /** Tombstone length in ms; 0 when the take is known to have run. */
  tombstoneMs: number;
  /** After this (Date.now() ms) it is dropped: the lease, if any, has expired by itself. */
  until: number;
}

export class SharedLimiter implements Limiter {
  readonly mode = "shared" as const;
  private readonly client: RespClient;
  private readonly prefix: string;
  /** Each client's keys, hashed once: the clients are the plan's, so this stays small. */
  private readonly keys = new Map<string, ClientKeys>();
  /** Releases to send again, by request id, oldest first. */
  private readonly pending = new Map<string, PendingRelease>();
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

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

  /** Releases waiting to be sent again (tests, `/readyz` stays about the store itself). */
  get pendingReleases(): number {
    return this.pending.size;
  }

  async acquire(who: LimitedClient, limits: LimitsPlan, requestId: string): Promise<() => void> {
    const keys = this.keysOf(who);
    const leaseMs = limits.statementTimeoutMs + LEASE_MARGIN_MS;
    // This client's releases still owed go first, on the same connection: the take then sees them.
    const owed = [...this.pending.values()].filter((p) => p.keys === keys).map((p) => this.sendRelease(p));
    let reply: RespValue;
    try {
      reply = await this.script("acquire", [keys.rate, keys.running, keys.released], [limits.callsPerMinute, limits.concurrentCalls, leaseMs, requestId]);
    } catch (error) {
      // The take may still run in the store (a slow or frozen store answers late): give it back anyway.
      if (!(error instanceof StoreUnavailable && !error.sent)) this.release({ keys, requestId, tombstoneMs: leaseMs, until: Date.now() + 2 * leaseMs });
      throw storeDown();
    } finally {
      void Promise.allSettled(owed);
    }
    if (!Array.isArray(reply) || typeof reply[0] !== "number" || typeof reply[1] !== "number") {
      // An error reply (a script that failed part way, a store out of memory): its effect is unknown.
      this.release({ keys, requestId, tombstoneMs: leaseMs, until: Date.now() + 2 * leaseMs });
      throw storeDown();
    }
    if (reply[0] === 0) throw concurrencyRefusal(reply[1], limits);
    if (reply[0] === 1) throw rateRefusal(typeof reply[2] === "number" ? reply[2] : 60_000, limits);
    if (reply[0] !== 2) throw storeDown();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Not awaited: the answer does not wait for it. Sent again until it lands.
      this.release({ keys, requestId, tombstoneMs: 0, until: Date.now() + leaseMs });
    };
  }

  /** Give a slot back (or make sure a take that may still run takes nothing); kept and sent again until it lands. */
  private release(release: PendingRelease): void {
    if (this.closed) return;
    this.pending.delete(release.requestId);
    this.pending.set(release.requestId, release);
    while (this.pending.size > MAX_PENDING_RELEASES) this.pending.delete(this.pending.keys().next().value!);
    void this.sendRelease(release);
  }

  /** Send one release; once it landed it is forgotten, else the retry timer sends it again. */
  private async sendRelease(release: PendingRelease): Promise<void> {
    try {
      const reply = await this.script("release", [release.keys.running, release.keys.released], [release.requestId, release.tombstoneMs]);
      if (reply instanceof RespError) throw reply;
      if (this.pending.get(release.requestId) === release) this.pending.delete(release.requestId);
    } catch {
      this.scheduleRetry();
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      const now = Date.now();
      for (const [id, release] of this.pending) {
        if (release.until < now) this.pending.delete(id);
        else void this.sendRelease(release);
      }
    }, RELEASE_RETRY_MS);
    this.retryTimer.unref();
  }

  /** EVALSHA, or EVAL once when the store does not hold the script (a restarted store). */
  private async script(name: keyof typeof SCRIPTS, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<RespValue> {
    const { text, sha } = SCRIPTS[name];
    const reply = await this.client.command(["EVALSHA", sha, keys.length, ...keys, ...args]);
    if (reply instanceof RespError && reply.message.startsWith("NOSCRIPT")) return this.client.command(["EVAL", text, keys.length, ...keys, ...args]);
    return reply;
  }

  private keysOf(who: LimitedClient): ClientKeys {
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
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pending.clear();
    this.client.close();
  }
}
