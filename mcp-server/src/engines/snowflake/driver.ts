/**
 * The small driver interface the Snowflake engine talks to, and its real implementation over
 * `snowflake-sdk` (the only code importing it). Tests give the engine a fake that answers as the
 * driver does for these calls (test/support/snowflake-fake.ts): result metadata, `streamRows` with
 * an inclusive end, `getNumRows`, errors carrying Snowflake's codes, cancel and timeouts.
 *
 * The driver is loaded lazily, on the first connection: loading it costs seconds of CPU and its
 * AWS SDK dependency warns about node 20 through `process.emitWarning`, and its winston logger
 * writes to stdout by default, which would corrupt a stdio MCP session. Loading it here drops that
 * one warning, and the driver's own log is routed to nothing (its messages may quote SQL text).
 */
import type { Readable } from "node:stream";

/** How one login connects: key-pair (SNOWFLAKE_JWT) auth, its own role, the target's warehouse and database. */
export interface SnowflakeConnectOptions {
  /** `<org>-<account>`. */
  account: string;
  /** The service user (upper case). */
  username: string;
  /** PKCS#8 PEM private key. A credential: never logged. */
  privateKey: string;
  role: string;
  warehouse: string;
  database: string;
}

/** A column of a result, as `getColumns()` describes it. */
export interface SnowflakeColumn {
  name: string;
  type: string;
}

/** A completed statement whose rows are fetched on demand (`streamResult: true`). */
export interface SnowflakeStatement {
  /** Snowflake's query id (QUERY_HISTORY's QUERY_ID). */
  queryId(): string;
  columns(): SnowflakeColumn[];
  /** Rows the statement produced (all of them, not only those fetched). */
  numRows(): number;
  /** Rows `start` to `end`, both included, as objects keyed by column name. */
  streamRows(range: { start: number; end: number }): Readable;
}

/** One statement to execute: its text, its binds, and its statement-level parameters (QUERY_TAG, STATEMENT_TIMEOUT_IN_SECONDS). */
export interface SnowflakeExecute {
  sqlText: string;
  binds: readonly (string | number | boolean | null)[];
  parameters: Record<string, string | number>;
  /** Called with Snowflake's statement id as soon as the request is sent (cancel needs it). */
  onStarted?(cancel: () => Promise<void>): void;
}

export interface SnowflakeConnection {
  /** Executes one statement; resolves once it completed (rows not fetched yet); rejects with a `SnowflakeDriverError`. */
  execute(request: SnowflakeExecute): Promise<SnowflakeStatement>;
  isUp(): boolean;
  destroy(): Promise<void>;
}

export interface SnowflakeDriver {
  connect(options: SnowflakeConnectOptions): Promise<SnowflakeConnection>;
}

/** An error as the driver gives it: Snowflake's code (e.g. "002003"), its SQLSTATE, its message. */
export interface SnowflakeDriverError extends Error {
  code?: string | number;
  sqlState?: string;
}

/** Options the real driver takes for a key-pair connection (`snowflake.createConnection`). */
export function connectionOptions(options: SnowflakeConnectOptions): Record<string, unknown> {
  return {
    account: options.account,
    username: options.username,
    authenticator: "SNOWFLAKE_JWT",
    privateKey: options.privateKey,
    role: options.role,
    warehouse: options.warehouse,
    database: options.database,
    application: "dbwarden",
    // No connection-level queryTag: the driver would put it on every statement over the per-call one.
    clientSessionKeepAlive: true,
  };
}

/** Runs `load` with the AWS SDK's node-version warning dropped (every other warning passes). */
export async function withoutNodeVersionWarning<T>(load: () => Promise<T>): Promise<T> {
  const original = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === "string" ? warning : warning.message;
    if (text.includes("NodeVersionSupportWarning")) return;
    return (original as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return await load();
  } finally {
    process.emitWarning = original;
  }
}

/** The subset of snowflake-sdk used here. */
interface SdkStatement {
  getQueryId(): string;
  getColumns(): Array<{ getName(): string; getType(): string }> | undefined;
  getNumRows(): number;
  streamRows(options: { start: number; end: number }): Readable;
  cancel(callback: (error?: Error) => void): void;
}
interface SdkConnection {
  connect(callback: (error: Error | undefined) => void): void;
  execute(options: {
    sqlText: string;
    binds: unknown[];
    streamResult: boolean;
    parameters: Record<string, unknown>;
    complete(error: Error | undefined, statement: SdkStatement): void;
  }): SdkStatement;
  isUp(): boolean;
  destroy(callback: (error: Error | undefined) => void): void;
}
interface Sdk {
  configure(options: Record<string, unknown>): void;
  createConnection(options: Record<string, unknown>): SdkConnection;
}

let sdk: Promise<Sdk> | null = null;

/** snowflake-sdk, loaded once, quietly. */
function loadSdk(): Promise<Sdk> {
  sdk ??= withoutNodeVersionWarning(async () => {
    const loaded = ((await import("snowflake-sdk")) as unknown as { default: Sdk }).default;
    const silent = () => undefined;
    loaded.configure({ logLevel: "OFF", customLogger: { error: silent, warn: silent, info: silent, debug: silent, trace: silent } });
    return loaded;
  });
  return sdk;
}

/** The real driver: snowflake-sdk with key-pair auth, results streamed. */
export const SNOWFLAKE_SDK_DRIVER: SnowflakeDriver = {
  async connect(options) {
    const loaded = await loadSdk();
    const connection = loaded.createConnection(connectionOptions(options));
    await new Promise<void>((resolve, reject) => connection.connect((error) => (error ? reject(error) : resolve())));
    return {
      execute: (request) =>
        new Promise((resolve, reject) => {
          const statement = connection.execute({
            sqlText: request.sqlText,
            binds: [...request.binds],
            streamResult: true,
            parameters: request.parameters,
            complete: (error, done) =>
              error
                ? reject(error)
                : resolve({
                    queryId: () => done.getQueryId(),
                    columns: () => (done.getColumns() ?? []).map((c) => ({ name: c.getName(), type: c.getType() })),
                    numRows: () => done.getNumRows(),
                    streamRows: (range) => done.streamRows(range),
                  }),
          });
          request.onStarted?.(() => new Promise<void>((ok, fail) => statement.cancel((error) => (error ? fail(error) : ok()))));
        }),
      isUp: () => connection.isUp(),
      destroy: () => new Promise<void>((resolve) => connection.destroy(() => resolve())),
    };
  },
};
