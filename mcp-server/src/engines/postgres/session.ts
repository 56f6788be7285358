/**
 * Layer 2 of enforcement: one call, one session, pipelined. A pooled connection gets, in ONE write:
 * 1. the setup, one simple Query: `BEGIN READ ONLY`, server-issued `SET LOCAL statement_timeout`,
 *    the workflow's search_path and the request's application_name;
 * 2. one extended-protocol group: the guard, then the call's one statement, then Sync;
 * 3. `ROLLBACK` and a full session reset (everything DISCARD ALL does), one simple Query.
 *
 * Why this holds:
 * - The guard is a SELECT that divides by zero unless the setup is in effect: application_name is
 *   this call's (set by the setup's last SET LOCAL, which lasts only inside an open transaction
 *   block: the setup's own BEGIN READ ONLY) and the transaction is read-only. It also re-resolves
 *   the statement's relation names when they were checked with earlier resolutions (catalog.ts).
 *   A failed setup aborts its transaction (the guard then fails with "in failed transaction") or,
 *   had its BEGIN failed, leaves none (the guard's assertion fails): either way Postgres skips
 *   every message up to the Sync, so the statement never runs outside the read-only transaction,
 *   and never on stale names. The guard also takes the snapshot: `SET TRANSACTION READ WRITE`
 *   after it is refused.
 * - The statement is exactly one Parse/Bind/Execute: Postgres refuses several commands in one Parse.
 * - Each part must end "in transaction" (checked at its ReadyForQuery): a statement that ended the
 *   transaction itself is refused and its connection destroyed.
 * - The reset follows the Sync, so it runs whatever happened before it. The call's answer goes back
 *   as soon as the statement's group is answered; the connection returns to the pool only once the
 *   reset has answered and the session is idle, and is destroyed if the reset failed, the
 *   connection failed, or a cancel was sent.
 * Running sessions are known by request id, so `cancel` can stop one.
 */
import type { Duplex } from "node:stream";
import { requestApplicationName, SESSION_RESET } from "../engine.js";
import pg from "pg";
import { ToolError, type EngineCall, type Param } from "../engine.js";
import { mapDbError } from "./errors.js";
import type { ResultField, RowReader } from "./fetch.js";
import { cancelKeyOf, queueSubmittable, type Connection, type Submittable } from "./pgInternals.js";
import type { LoginPool } from "./pool.js";

/**
 * Everything DISCARD ALL does, which itself cannot run in the implicit transaction of a
 * multi-statement query: sent as one simple Query with the ROLLBACK.
 */
export const RESET_SESSION = SESSION_RESET;

/** One statement of a call's transaction, over the extended protocol unless `simple`. */
export interface Step {
  readonly text: string;
  /** Bound positionally, in text form. */
  readonly values?: readonly Param[];
  /** Reads its rows (the portal is described first); without one its rows are dropped. */
  readonly reader?: RowReader;
  /** Over the simple protocol, unbound (a generic EXPLAIN): alone in its send, after the others are answered. */
  readonly simple?: boolean;
}

/** The result sets of the server's own catalog statements: rows by column name, in text form. */
export type SetupResult = { rows: ReadonlyArray<Record<string, string | null>> };

/** The guard found a relation name resolving differently than when the statement was checked: nothing ran; check again. */
export class GuardMissed extends Error {
  override name = "GuardMissed";
}

/**
 * The request's application_name (`dbwarden/<request id>/<client>`, the contract's one format):
 * pg_stat_activity and the database log join the audit line by it; the guard checks it is in effect.
 */
function applicationName(call: EngineCall): string {
  return requestApplicationName(call.requestId, call.identity.client.name);
}

/** The read-only transaction, its timeout, search_path and application_name: one simple Query. */
function setupText(call: EngineCall, setSearchPath: string, application: string): string {
  return [
    "BEGIN READ ONLY",
    `SET LOCAL statement_timeout = ${Math.floor(call.timeoutMs)}`,
    setSearchPath,
    `SET LOCAL application_name = ${pg.escapeLiteral(application)}`,
  ].join("; ");
}

/**
 * The guard (see the header): the setup is in effect (`application` is the call's
 * application_name), and, given `names`, the statement's relation names still resolve as checked
 * (catalog.ts `TargetCatalog.guard`). Literals rather than parameters: no parameter line in the
 * database's statement log. Operators are schema-qualified: nothing on the workflow's search_path
 * can stand in for them.
 */
function guardText(application: string, names: string | null): string {
  const setup =
    `pg_catalog.current_setting('application_name') OPERATOR(pg_catalog.=) ${pg.escapeLiteral(application)} ` +
    `AND pg_catalog.current_setting('transaction_read_only') OPERATOR(pg_catalog.=) 'on'`;
  return `SELECT 1 OPERATOR(pg_catalog./) (CASE WHEN ${setup}${names ? ` AND ${names}` : ""} THEN 1 ELSE 0 END) AS guard`;
}

const paramText = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === "string" ? v : String(v));

/**
 * Part of a write answered up to one ReadyForQuery: a simple Query (its statements' texts joined)
 * or an extended-protocol group ending in Sync.
 */
interface Part {
  simple: boolean;
  steps: readonly Step[];
  /** The guard's step index in `steps`, when it re-checks relation names. */
  namesGuard?: number;
}

/** Write the parts (and the reset) in one write. */
function writeParts(connection: Connection, parts: readonly Part[], reset: boolean): void {
  connection.stream.cork();
  try {
    for (const part of parts) {
      if (part.simple) {
        connection.query(part.steps.map((s) => s.text).join("; "));
        continue;
      }
      for (const step of part.steps) {
        connection.parse({ text: step.text, name: "", types: [] });
        connection.bind({ portal: "", statement: "", values: step.values ?? [], valueMapper: paramText });
        if (step.reader) connection.describe({ type: "P", name: "" });
        connection.execute({ portal: "", rows: step.reader?.limit ?? 0 });
      }
      connection.sync();
    }
    if (reset) connection.query(RESET_SESSION);
  } finally {
    connection.stream.uncork();
  }
}

/**
 * One write of a transaction, answered part by part. pg runs one submitted query at a time and
 * hands it every message until ReadyForQuery (or the first error): each part has its own reader,
 * queued behind the previous one when that one ends, and the reset's reader behind the last.
 */
class Write {
  /** The first failure; later parts are still read (Postgres answers them), never reported. */
  private error: Error | null = null;

  constructor(
    readonly tx: Transaction,
    readonly parts: readonly Part[],
    readonly last: boolean,
    private readonly done: (error: Error | null) => void,
  ) {}

  start(): void {
    queueSubmittable(this.tx.client, new PartReader(this, 0, true));
  }

  /** Part `index` is answered (`error`: the failure that ended it); queue what reads the rest. */
  ended(index: number, error: Error | null): void {
    if (error && !this.error) this.error = error;
    if (index + 1 < this.parts.length) {
      queueSubmittable(this.tx.client, new PartReader(this, index + 1, false));
      return;
    }
    if (this.last) this.tx.awaitReset();
    this.done(this.error);
  }
}

/** Reads the answers of one part of a write. */
class PartReader implements Submittable {
  /** Set by pg's `client.query` wrapper (its read timeout). */
  callback: (error: Error | null) => void;
  /** The step whose answers arrive next. */
  private at = 0;
  private finished = false;

  constructor(
    private readonly write: Write,
    private readonly index: number,
    /** The first reader writes the whole write (every part, and the reset). */
    private readonly writes: boolean,
  ) {
    // pg wraps this with its read timeout, which calls it with an error (the connection is then in
    // doubt); `end` calls it with null, which clears that timer.
    this.callback = (error) => {
      if (error) this.fail(error);
    };
  }

  private get part(): Part {
    return this.write.parts[this.index]!;
  }

  submit(connection: Connection): null {
    if (this.writes) writeParts(connection, this.write.parts, this.write.last);
    return null;
  }

  handleRowDescription(msg: { fields: ResultField[] }): void {
    this.part.steps[this.at]?.reader?.fields(msg.fields);
  }

  handleDataRow(msg: { fields: Array<string | null> }): void {
    this.part.steps[this.at]?.reader?.row(msg.fields);
  }

  handlePortalSuspended(): void {
    this.part.steps[this.at++]?.reader?.suspended();
  }

  handleCommandComplete(): void {
    this.at++;
  }

  handleEmptyQuery(): void {
    this.at++;
  }

  /** A read-only transaction refuses COPY FROM before this; were it reached, the pipeline behind it would stall: drop the connection. */
  handleCopyInResponse(connection: Connection): void {
    this.write.tx.inDoubt = true;
    connection.stream.destroy();
  }

  handleCopyData(): void {}

  /** Postgres skips the rest of the part (to its Sync, or the rest of the Query); the parts after it still run. */
  handleError(error: Error): void {
    this.fail(error);
  }

  handleReadyForQuery(): void {
    if (this.write.tx.client.getTransactionStatus() !== "T") {
      // Only a statement that ends the transaction itself gets here (the parser check refuses any).
      this.write.tx.inDoubt = true;
      this.end(new ToolError("DENIED", "the statement ended the read-only transaction; send one SELECT.", "transaction-ended"));
      return;
    }
    this.end(null);
  }

  private fail(error: Error): void {
    if (!(error instanceof pg.DatabaseError)) {
      // The connection failed or timed out: nothing more will be read from it.
      this.write.tx.inDoubt = true;
      if (!this.finished) {
        this.finished = true;
        this.write.tx.abandon(error);
      }
      return;
    }
    const missed = this.part.namesGuard === this.at && error.code === "22012";
    this.end(missed ? new GuardMissed("a relation name resolves differently now") : error);
  }

  private end(error: Error | null): void {
    if (this.finished) return;
    this.finished = true;
    this.callback(null);
    this.write.ended(this.index, error);
  }
}

/** The reset's answers (sent with the last steps, or now); the session must end idle. */
class SessionReset implements Submittable {
  callback: (error: Error | null) => void;

  constructor(
    private readonly client: pg.PoolClient,
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
  /** The setup, sent ahead of the first steps (with the guard). */
  private setup: string | null;
  /** The reset was sent (or is queued): it releases the connection. */
  private resetting = false;
  /** Back in the pool (or destroyed): nothing of the call runs on it any more. */
  released = false;
  /** The write in flight, if its connection failed: it is told so (pg will not answer it). */
  private pending: ((error: Error) => void) | null = null;

  constructor(
    readonly client: pg.PoolClient,
    private readonly application: string,
    setup: string,
  ) {
    this.setup = setup;
  }

  /**
   * Send `steps` in one write, the first time after the setup and the guard (with `names`, the
   * condition that the statement's relation names still resolve as checked); resolves once the
   * database answered them, their rows in their readers. `last`: the reset goes in the same write
   * and this is the transaction's end. A simple step goes alone, after the others are answered.
   */
  async send(steps: readonly Step[], options: { last?: boolean; names?: string | null } = {}): Promise<void> {
    if (this.resetting) throw new Error("the transaction has ended");
    const last = options.last === true;
    const simple = steps.findIndex((s) => s.simple);
    if (simple !== -1 && simple !== steps.length - 1) throw new Error("a simple-protocol step must be the last of a send");
    const extended = simple === -1 ? steps : steps.slice(0, simple);
    const parts: Part[] = [];
    if (this.setup !== null) {
      parts.push({ simple: true, steps: [{ text: this.setup }] });
      const guard: Step = { text: guardText(this.application, options.names ?? null) };
      parts.push({ simple: false, steps: [guard, ...extended], ...(options.names ? { namesGuard: 0 } : {}) });
      this.setup = null;
    } else if (extended.length > 0) {
      parts.push({ simple: false, steps: extended });
    }
    if (simple === -1) return parts.length > 0 ? this.write(parts, last) : undefined;
    if (parts.length > 0) await this.write(parts, false);
    return this.write([{ simple: true, steps: [steps[simple]!] }], last);
  }

  private write(parts: readonly Part[], last: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending = reject;
      new Write(this, parts, last, (error) => {
        this.pending = null;
        if (error) reject(error);
        else resolve();
      }).start();
    });
  }

  /** The connection failed under a write: it ends with that error. */
  abandon(error: Error): void {
    this.pending?.(error);
    this.pending = null;
  }

  /** Queue the reset's reader behind the current write (its messages went with it). */
  awaitReset(): void {
    this.queueReset(true);
  }

  /** The call is over: reset the session in the background if its last steps did not, or destroy the connection. */
  end(destroy: boolean): void {
    if (destroy || this.inDoubt) return this.release(true);
    this.queueReset(false);
  }

  /** The reset's reader, queued once; `sent`: its messages already went out with the last write. */
  private queueReset(sent: boolean): void {
    if (this.resetting) return;
    this.resetting = true;
    queueSubmittable(this.client, new SessionReset(this.client, sent, (error) => this.release(error !== null)));
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
    const client = await pool.connect();
    const application = applicationName(call);
    const tx = new Transaction(client, application, setupText(call, setSearchPath, application));
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
    const key = cancelKeyOf(running.tx.client);
    if (key === null) return false;
    await sendCancelRequest(await running.pool.cancelSocket(), key.processID, key.secretKey);
    return true;
  }
}

/** The protocol's CancelRequest on a new connection: no authentication, no TLS needed, answered by closing. */
function sendCancelRequest(socket: Duplex & { setTimeout(ms: number, cb: () => void): unknown }, processID: number, secretKey: number): Promise<void> {
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4);
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  return new Promise((resolve) => {
    socket.setTimeout(2_000, () => socket.destroy());
    // A connector's stream is TLS: the packet goes once the handshake is done.
    socket.once("connect", () => {
      if (!("encrypted" in socket)) socket.end(packet);
    });
    socket.once("secureConnect", () => socket.end(packet));
    socket.once("error", () => resolve());
    socket.once("close", () => resolve());
  });
}
