/**
 * Every use of pg's private API, in one place, verified against pg `PG_VERIFIED_VERSION` (pinned
 * exactly in package.json and mcp-server/package.json). An upgrade of pg fails
 * mcp-server/test/pgInternals.test.ts first, one test per private thing below, each naming it:
 *
 * 1. `Client.prototype._connect`: overridden so a connection's user and password are read just
 *    before it connects (the rotation clone), with `user`/`password`/`connectionParameters`.
 * 2. The Submittable protocol beyond its public `submit`: the `handle*` methods pg calls for each
 *    backend message of a submitted query, and the `callback` it wraps with its read timeout.
 * 3. The connection pg hands `submit` (pg/lib/connection.js): `parse`, `bind` (with `valueMapper`),
 *    `describe`, `execute`, `sync`, `query` and its `stream` (corked for one write).
 * 4. A client's cancel key, `processID` and `secretKey` (from BackendKeyData).
 *
 * Public API is used wherever there is one (`client.query(submittable)`, `getTransactionStatus()`).
 */
import type { Readable } from "node:stream";
import pg from "pg";
import type { ResultField } from "./fetch.js";

/** The pg version this module was last verified against (its tests passed on it). */
export const PG_VERIFIED_VERSION = "8.23.1";

/** 3. What pg hands a Submittable's `submit`, as far as the protocol messages of a pipeline go. */
export interface Connection {
  stream: NodeJS.WritableStream & { cork(): void; uncork(): void; destroy(): void };
  parse(q: { text: string; name: string; types: number[] }): void;
  bind(c: { portal: string; statement: string; values: readonly unknown[]; valueMapper: (v: unknown) => string | null }): void;
  describe(m: { type: "P"; name: string }): void;
  execute(c: { portal: string; rows: number }): void;
  sync(): void;
  query(text: string): void;
}

/** 2. What pg calls on a submitted query: one handler per backend message, until ReadyForQuery. */
export interface Submittable {
  /** Set by the reader; pg wraps it with its read timeout (called with an error) and expects a call with null at the end. */
  callback: (error: Error | null) => void;
  submit(connection: Connection): null;
  handleRowDescription(msg: { fields: ResultField[] }): void;
  handleDataRow(msg: { fields: Array<string | null> }): void;
  handlePortalSuspended(): void;
  handleCommandComplete(): void;
  handleEmptyQuery(): void;
  handleCopyInResponse(connection: Connection): void;
  handleCopyData(): void;
  handleError(error: Error): void;
  handleReadyForQuery(): void;
}

/**
 * Queue a reader of answers on the client. Given a Submittable (an object with `submit`), pg's
 * `client.query` queues that very object and returns it, no promise: its answers, errors and
 * read timeout arrive in its handlers and `callback`. The cast: @types/pg describes the connection
 * handed to `submit` differently from what pg passes (see `Connection`).
 */
export function queueSubmittable(client: pg.ClientBase, reader: Submittable): void {
  client.query(reader as unknown as pg.Submittable);
}

type Connect = (callback: (error: Error | null) => void) => void;

/**
 * 1. A pg client class that asks for its user and password just before connecting: the startup
 * message names the user, so a secret that switched to the rotation clone is followed.
 */
export function clientWithCredential(credential: () => Promise<{ user: string; password: string }>): typeof pg.Client {
  const Base = pg.Client as unknown as new (config: unknown) => {
    _connect: Connect;
    user: string;
    password: string;
    connectionParameters: { user: string; password: string };
  };
  class CredentialClient extends Base {
    override _connect: Connect = (callback) => {
      credential().then(
        ({ user, password }) => {
          this.user = this.connectionParameters.user = user;
          this.password = this.connectionParameters.password = password;
          Base.prototype._connect.call(this, callback);
        },
        (error: Error) => callback(error),
      );
    };
  }
  return CredentialClient as unknown as typeof pg.Client;
}

/** 4. The key a CancelRequest for the client's running statement carries; null before the backend sent it. */
export function cancelKeyOf(client: pg.ClientBase): { processID: number; secretKey: number } | null {
  const { processID, secretKey } = client as unknown as { processID: number | null; secretKey: number | null };
  return processID === null || secretKey === null ? null : { processID, secretKey };
}

/** 5. The socket a connected client reads the backend's messages from (`client.connection.stream`): pacing.ts pauses it between turns. */
export function socketOf(client: pg.ClientBase): Readable {
  return (client as unknown as { connection: { stream: Readable } }).connection.stream;
}
