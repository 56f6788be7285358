/**
 * Layer 2 of enforcement: one call, one session, pipelined. A pooled connection gets, in ONE write:
 * `BEGIN READ ONLY`, server-issued `SET LOCAL statement_timeout`, the workflow's search_path and the
 * request's application_name, a SELECT that takes the snapshot (the name resolution or guard of
 * catalog.ts, else `SELECT 1`), the call's one statement, each over the extended protocol, one Sync,
 * and then `ROLLBACK` and a full session reset (everything DISCARD ALL does) as one simple Query.
 *
 * Why this holds:
 * - Everything before the Sync is one message group: after an error Postgres skips every message up
 *   to the Sync, so a statement never runs when the BEGIN, a SET or the guard before it failed, and
 *   every statement of the group runs inside the read-only transaction (checked again when the group
 *   ends: the connection must report "in transaction").
 * - The reset follows the Sync, so it runs whatever happened before it. The call's answer goes back
 *   as soon as the statement's group is answered; the connection returns to the pool only once the
 *   reset has answered and the session is idle, and is destroyed if the reset failed, the
 *   connection failed, or a cancel was sent.
 * - The statement is exactly one Parse/Bind/Execute: Postgres refuses several commands in one Parse.
 * Running sessions are known by request id, so `cancel` can stop one.
 */
import { connect as connectTcp } from "node:net";
import pg from "pg";
import { ToolError } from "../../errors.js";
import type { EngineCall, Param } from "../engine.js";
import { mapDbError } from "./errors.js";
import type { ResultField, RowReader } from "./fetch.js";
import type { LoginPool } from "./pool.js";

/**
 * Everything DISCARD ALL does, which itself cannot run in the implicit transaction of a
 * multi-statement query: sent as one simple Query with the ROLLBACK.
 */
export const RESET_SESSION =
  "ROLLBACK; RESET ALL; CLOSE ALL; DEALLOCATE ALL; UNLISTEN *; SELECT pg_catalog.pg_advisory_unlock_all(); DISCARD PLANS; DISCARD SEQUENCES; DISCARD TEMP";

/** Only characters that cannot end a comment or a literal (request ids, client names). */
export const safeTag = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 60);

/** One statement of a call's transaction, over the extended protocol unless `simple`. */
export interface Step {
  readonly text: string;
  /** Bound positionally, in text form. */
  readonly values?: readonly Param[];
  /** Reads its rows (the portal is described first); without one its rows are dropped. */
  readonly reader?: RowReader;
  /** A SELECT: it takes the transaction's snapshot, after which `SET TRANSACTION READ WRITE` is refused. */
  readonly snapshot?: boolean;
  /** catalog.ts `guard`: fails with division_by_zero, aborting the transaction, if a name resolves differently now. */
  readonly guard?: boolean;
  /** Over the simple protocol, unbound (a generic EXPLAIN): only as the last step of a send, after the others are answered. */
  readonly simple?: boolean;
}

/** The result sets of the server's own catalog statements. */
export type SetupResult = { rows: any[] };

/** A guard step found a name resolving differently than when the statement was checked: nothing ran; check again. */
export class GuardMissed extends Error {
  override name = "GuardMissed";
}

const SNAPSHOT: Step = { text: "SELECT 1", snapshot: true };

/** The read-only transaction, its timeout, search_path and application_name. */
function setupSteps(call: EngineCall, setSearchPath: string): Step[] {
  return [
    { text: "BEGIN READ ONLY" },
    { text: `SET LOCAL statement_timeout = ${Math.floor(call.timeoutMs)}` },
    { text: setSearchPath },
    { text: `SET LOCAL application_name = ${pg.escapeLiteral(`dbwarden/${safeTag(call.identity.client.name)}/${call.requestId}`.slice(0, 63))}` },
  ];
}

const paramText = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === "string" ? v : String(v));

/** What pg calls on a submitted query, as far as the protocol messages of a pipeline go. */
interface Connection {
  stream: NodeJS.WritableStream & { cork(): void; uncork(): void; destroy(): void };
  parse(q: { text: string; name: string; types: number[] }): void;
  bind(c: { portal: string; statement: string; values: readonly unknown[]; valueMapper: (v: unknown) => string | null }): void;
  describe(m: { type: "P"; name: string }): void;
  execute(c: { portal: string; rows: number }): void;
  sync(): void;
  query(text: string): void;
  sendCopyFail(message: string): void;
}

/** A client of our pools, with the transaction status pg keeps from the last ReadyForQuery. */
type SessionClient = pg.PoolClient & { getTransactionStatus(): string | null };

/**
 * One write of a transaction's steps (and, for the last, the reset), answered in order. pg runs
 * one submitted query at a time and hands it every message until ReadyForQuery (or the first
 * error): the reset's answers come after that, to the `SessionReset` queued behind this one.
 */
class Pipeline {
  /** Set by pg's `client.query` wrapper (its read timeout); called once, at the end or the first error. */
  callback!: (error: Error | null) => void;
  /** The step whose answers arrive next. */
  private at = 0;

  constructor(
    private readonly tx: Transaction,
    private readonly steps: readonly Step[],
    private readonly last: boolean,
    done: (error: Error | null) => void,
  ) {
    this.callback = done;
  }

  submit(connection: Connection): null {
    connection.stream.cork();
    try {
      for (const step of this.steps) {
        if (step.simple) {
          connection.query(step.text);
          continue;
        }
        connection.parse({ text: step.text, name: "", types: [] });
        connection.bind({ portal: "", statement: "", values: step.values ?? [], valueMapper: paramText });
        if (step.reader) connection.describe({ type: "P", name: "" });
        connection.execute({ portal: "", rows: step.reader?.limit ?? 0 });
      }
      if (!this.steps[this.steps.length - 1]?.simple) connection.sync();
      if (this.last) connection.query(RESET_SESSION);
    } finally {
      connection.stream.uncork();
    }
    return null;
  }

  handleRowDescription(msg: { fields: ResultField[] }): void {
    this.steps[this.at]?.reader?.fields(msg.fields);
  }

  handleDataRow(msg: { fields: Array<string | null> }): void {
    this.steps[this.at]?.reader?.row(msg.fields);
  }

  handlePortalSuspended(): void {
    this.steps[this.at++]?.reader?.suspended();
  }

  handleCommandComplete(): void {
    this.at++;
  }

  handleEmptyQuery(): void {
    this.at++;
  }

  /** A read-only transaction refuses COPY FROM before this; were it reached, the pipeline behind it would stall: drop the connection. */
  handleCopyInResponse(connection: Connection): void {
    this.tx.inDoubt = true;
    connection.stream.destroy();
  }

  handleCopyData(): void {}

  /** Postgres skipped to the Sync (the reset after it still runs), or the connection failed. */
  handleError(error: Error): void {
    const fromServer = error instanceof pg.DatabaseError;
    if (!fromServer) this.tx.inDoubt = true;
    else if (this.last) this.tx.awaitReset();
    const missed = fromServer && this.steps[this.at]?.guard === true && error.code === "22012";
    this.callback(missed ? new GuardMissed("a relation name resolves differently now") : error);
  }

  handleReadyForQuery(): void {
    if (this.last) this.tx.awaitReset();
    if (this.tx.client.getTransactionStatus() !== "T") {
      // Only a statement that ends the transaction itself gets here (the parser check refuses any).
      this.tx.inDoubt = true;
      this.callback(new ToolError("DENIED", "the statement ended the read-only transaction; send one SELECT.", "transaction-ended"));
      return;
    }
    this.callback(null);
  }
}

/** The reset's answers (sent with the last steps, or now); the session must end idle. */
class SessionReset {
  callback: (error: Error | null) => void;

  constructor(
    private readonly client: SessionClient,
    private readonly sent: boolean,
    done: (error: Error | null) => void,
  ) {
    this.callback = done;
  }

  submit(connection: Connection): null {
    if (!this.sent) connection.query(RESET_SESSION);
    return null;
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleCommandComplete(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}

  handleCopyInResponse(connection: Connection): void {
    connection.stream.destroy();
  }

  handleError(error: Error): void {
    this.callback(error);
  }

  handleReadyForQuery(): void {
    this.callback(this.client.getTransactionStatus() === "I" ? null : new Error("the session is not idle after the reset"));
  }
}

/** One call's read-only transaction on one pooled connection. */
export class Transaction {
  /** The connection cannot be trusted to be clean: it is destroyed, never reused. */
  inDoubt = false;
  /** The setup steps, sent ahead of the first steps. */
  private setup: Step[] | null;
  /** The reset was sent (or is queued): it releases the connection. */
  private resetting = false;
  /** Back in the pool (or destroyed): nothing of the call runs on it any more. */
  released = false;

  constructor(
    readonly client: SessionClient,
    setup: Step[],
  ) {
    this.setup = setup;
  }

  /**
   * Send `steps` in one write (after the setup and a snapshot-taking SELECT, the first time);
   * resolves once the database answered them all, their rows in their readers. `last`: the reset
   * goes in the same write and this is the transaction's end.
   */
  async send(steps: readonly Step[], last = false): Promise<void> {
    if (this.resetting) throw new Error("the transaction has ended");
    let batch: Step[] = [...steps];
    if (this.setup) {
      batch = [...this.setup, ...(steps[0]?.snapshot ? [] : [SNAPSHOT]), ...steps];
      this.setup = null;
    }
    const simple = batch.findIndex((s) => s.simple);
    if (simple !== -1 && simple !== batch.length - 1) throw new Error("a simple-protocol step must be the last of a send");
    if (simple > 0) {
      await this.write(batch.slice(0, simple), false);
      batch = batch.slice(simple);
    }
    await this.write(batch, last);
  }

  private write(steps: readonly Step[], last: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.query(new Pipeline(this, steps, last, (error) => (error ? reject(error) : resolve())) as unknown as pg.QueryConfig);
    });
  }

  /** Queue the reset's reader behind the current pipeline (its messages were written with it). */
  awaitReset(): void {
    if (this.resetting) return;
    this.resetting = true;
    this.client.query(new SessionReset(this.client, true, (error) => this.release(error !== null)) as unknown as pg.QueryConfig);
  }

  /** The call is over: reset the session in the background if its last steps did not, or destroy the connection. */
  end(destroy: boolean): void {
    if (destroy || this.inDoubt) return this.release(true);
    if (this.resetting) return;
    this.resetting = true;
    this.client.query(new SessionReset(this.client, false, (error) => this.release(error !== null)) as unknown as pg.QueryConfig);
  }

  private release(destroy: boolean): void {
    if (this.released) return;
    this.released = true;
    this.client.release(destroy || this.inDoubt ? true : undefined);
  }
}

interface Running {
  tx: Transaction;
  pool: LoginPool;
  /** A cancel request was sent: the connection is never reused (the request may land after the call). */
  cancelled: boolean;
}

export class Sessions {
  private readonly running = new Map<string, Running>();

  /**
   * Run `fn` in a fresh read-only transaction for the call. `fn` sends the call's steps (its last
   * send with `last`); the transaction ends when `fn` settles, and the connection goes back to the
   * pool once reset. Database errors come out as ToolErrors; `GuardMissed` as it is.
   */
  async run<T>(pool: LoginPool, call: EngineCall, setSearchPath: string, fn: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = (await pool.connect()) as SessionClient;
    const tx = new Transaction(client, setupSteps(call, setSearchPath));
    const running: Running = { tx, pool, cancelled: false };
    this.running.set(call.requestId, running);
    try {
      return await fn(tx);
    } catch (error) {
      if (running.cancelled) throw new ToolError("TIMEOUT", "the call was cancelled before it finished.", "cancelled");
      if (error instanceof GuardMissed) throw error;
      const mapped = mapDbError(error);
      if (mapped.errorClass === "connection") tx.inDoubt = true;
      throw mapped;
    } finally {
      this.running.delete(call.requestId);
      tx.end(running.cancelled);
    }
  }

  /** Ask the server to cancel the request's running statement (PostgreSQL CancelRequest). */
  async cancel(requestId: string): Promise<boolean> {
    const running = this.running.get(requestId);
    // Released: the reset already answered and the connection may serve another call now.
    if (!running || running.tx.released) return false;
    running.cancelled = true;
    // Before the request goes out: however the call ends, this connection is destroyed, not reused.
    running.tx.inDoubt = true;
    const { processID, secretKey } = running.tx.client as unknown as { processID: number | null; secretKey: number | null };
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
