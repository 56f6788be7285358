/**
 * Layer 2 of enforcement: one call, one session. A pooled connection goes through `BEGIN READ ONLY`,
 * server-issued `SET LOCAL statement_timeout`, the workflow's search_path and the request's
 * application_name in one round trip (with the name resolution of the statement's relations, see
 * catalog.ts), runs the call's statement over the extended protocol, then `ROLLBACK` and a full
 * session reset (everything DISCARD ALL does) before going back to the pool; a connection in any
 * doubt is destroyed. Running sessions are known by request id, so `cancel` can stop one.
 */
import { connect as connectTcp } from "node:net";
import pg from "pg";
import { ToolError } from "../../errors.js";
import type { EngineCall } from "../engine.js";
import { mapDbError } from "./errors.js";
import type { LoginPool } from "./pool.js";

/**
 * Everything DISCARD ALL does, which itself cannot run in the implicit transaction of a
 * multi-statement query: sent in one round trip with the ROLLBACK.
 */
export const RESET_SESSION =
  "ROLLBACK; RESET ALL; CLOSE ALL; DEALLOCATE ALL; UNLISTEN *; SELECT pg_catalog.pg_advisory_unlock_all(); DISCARD PLANS; DISCARD SEQUENCES; DISCARD TEMP";

/** How many result sets the setup round trip yields before the name resolution's (see `setupText`). */
const SETUP_RESULTS = 5;

/** Only characters that cannot end a comment or a literal (request ids, client names). */
export const safeTag = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 60);

/** One round trip: the read-only transaction, its timeout, search_path and application_name, then `resolution` if any. */
function setupText(call: EngineCall, setSearchPath: string, resolution: string | null): string {
  const setup = [
    "BEGIN READ ONLY",
    `SET LOCAL statement_timeout = ${Math.floor(call.timeoutMs)}`,
    setSearchPath,
    `SET LOCAL application_name = ${pg.escapeLiteral(`dbwarden/${safeTag(call.identity.client.name)}/${call.requestId}`.slice(0, 63))}`,
    // Takes the transaction's snapshot: from here on `SET TRANSACTION READ WRITE` is refused.
    "SELECT 1",
  ];
  if (resolution !== null) setup.push(resolution);
  return setup.join("; ");
}

/** A result set of the setup round trip. */
export type SetupResult = { rows: any[] };

interface Running {
  client: pg.PoolClient;
  pool: LoginPool;
  /** A cancel request was sent: the connection is never reused (the request may land after the call). */
  cancelled: boolean;
}

export class Sessions {
  private readonly running = new Map<string, Running>();

  /**
   * Run `fn` in a fresh read-only session for the call. `fn` gets the connection and the results of
   * `resolution` (sent in the setup round trip). Database errors come out as ToolErrors.
   */
  async run<T>(pool: LoginPool, call: EngineCall, setSearchPath: string, resolution: string | null, fn: (client: pg.PoolClient, resolved: SetupResult[]) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    const running: Running = { client, pool, cancelled: false };
    this.running.set(call.requestId, running);
    let destroy = false;
    try {
      const results: unknown = await client.query(setupText(call, setSearchPath, resolution));
      return await fn(client, Array.isArray(results) ? (results.slice(SETUP_RESULTS) as SetupResult[]) : []);
    } catch (error) {
      if (running.cancelled) throw new ToolError("TIMEOUT", "the call was cancelled before it finished.", "cancelled");
      const mapped = mapDbError(error);
      if (mapped.errorClass === "connection") destroy = true;
      throw mapped;
    } finally {
      this.running.delete(call.requestId);
      if (running.cancelled) destroy = true;
      if (!destroy) {
        try {
          await client.query(RESET_SESSION);
        } catch {
          destroy = true;
        }
      }
      client.release(destroy ? true : undefined);
    }
  }

  /** Ask the server to cancel the request's running statement (PostgreSQL CancelRequest). */
  async cancel(requestId: string): Promise<boolean> {
    const running = this.running.get(requestId);
    if (!running) return false;
    running.cancelled = true;
    const { processID, secretKey } = running.client as unknown as { processID: number | null; secretKey: number | null };
    if (processID === null || secretKey === null) return false;
    const { host, port } = running.pool.options.endpoint;
    await sendCancelRequest(host, port, processID, secretKey);
    return true;
  }
}

/** The protocol's CancelRequest on a new connection: no authentication, no TLS needed, answered by closing. */
function sendCancelRequest(host: string, port: number, processID: number, secretKey: number): Promise<void> {
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  return new Promise((resolve) => {
    const socket = host.startsWith("/") ? connectTcp({ path: `${host}/.s.PGSQL.${port}` }) : connectTcp({ host, port });
    socket.setTimeout(2_000, () => socket.destroy());
    socket.once("connect", () => socket.end(packet));
    socket.once("error", () => resolve());
    socket.once("close", () => resolve());
  });
}
