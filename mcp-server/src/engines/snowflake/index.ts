/**
 * The Snowflake engine: the only code that talks to Snowflake, through the small driver interface
 * of driver.ts (`snowflake-sdk` in production, a fake in tests). Enforcement, in layers:
 * 1. each client's own service user, logging in with its key pair (SNOWFLAKE_JWT), with its
 *    workflow's account role only (the user's secondary roles are off: components/snowflake);
 * 2. the role holds SELECT on the scoped tables, or on a secure view of the readable columns where
 *    a table has hidden ones (never on that base table): the database holds the line;
 * 3. the engine's own parse (sqlcheck.ts) before anything runs: one query, tables and columns in
 *    scope; what runs has every table reference rewritten to the granted object;
 * 4. per call: QUERY_TAG naming client, workflow and request id, STATEMENT_TIMEOUT_IN_SECONDS,
 *    rows fetched with `streamRows` up to the cap (inclusive end), bytes capped, `truncated` from
 *    `getNumRows()`; `cancel` cancels the running statement.
 */
import {
  isTokenLogin,
  JsonRows,
  ToolError,
  grantedObject,
  qualifiedSnowflake,
  redactUnparsed,
  snowflakeQueryTag,
  snowflakeRoleName,
  type CheckedStatement,
  type CredentialSources,
  type DatabaseEndpoint,
  type DatabaseEndpointOf,
  type Engine,
  type EngineCall,
  type EngineFactory,
  type EngineOptions,
  type Identity,
  type LiveTable,
  type Param,
  type ResultCaps,
  type RowSet,
  type RuntimeConfig,
  type StatementRequest,
  type TablePlan,
} from "../engine.js";
import { SNOWFLAKE_SDK_DRIVER, type SnowflakeConnection, type SnowflakeDriver, type SnowflakeStatement } from "./driver.js";
import { AUTH_ERROR_CODES, mapSnowflakeError, snowflakeCode } from "./errors.js";
import { analyzeSnowflakeSql, MAX_SQL_CHARS, rewriteReferences, type SnowflakeAnalysis } from "./sqlcheck.js";
import { SNOWFLAKE_TEXT } from "./text.js";

export { SNOWFLAKE_SDK_DRIVER, type SnowflakeDriver } from "./driver.js";

/** A statement that passed `check`: its text and, with the check on, its analysis. */
export interface SnowflakeCheckedStatement extends CheckedStatement {
  readonly sql: string;
  readonly analysis: SnowflakeAnalysis | null;
}

type SnowflakeEndpoint = DatabaseEndpointOf<"snowflakeAccount">["snowflakeAccount"];

/** How long past the statement timeout the engine waits before it cancels the statement itself (Snowflake enforces the timeout first). */
const CLIENT_GRACE_MS = 5_000;

/** The private key in a login's secret: JSON with `privateKey` (what the rotation job writes) or the PEM itself. */
export function privateKeyOf(secret: string): string {
  const text = secret.trim();
  if (text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text) as { privateKey?: unknown };
      if (typeof parsed.privateKey === "string") return parsed.privateKey;
    } catch {
      // not JSON: fall through to the PEM check, which refuses it without quoting it
    }
  }
  if (!/^-----BEGIN (ENCRYPTED )?PRIVATE KEY-----/.test(text)) {
    throw new ToolError("UNAVAILABLE", "the login's secret holds no private key (PKCS#8 PEM, or JSON with privateKey).", "config");
  }
  return text;
}

/** Rows of a statement, `start`..`end` inclusive, as arrays in column order, stopping past `maxBytes`. */
async function fetchRows(statement: SnowflakeStatement, caps: ResultCaps): Promise<RowSet> {
  const columns = statement.columns();
  const total = statement.numRows();
  const texts: string[] = [];
  let bytes = 0;
  let cut = false;
  const wanted = Math.min(total, caps.maxRows);
  if (wanted > 0) {
    const stream = statement.streamRows({ start: 0, end: wanted - 1 });
    try {
      for await (const row of stream as AsyncIterable<Record<string, unknown>>) {
        const text = JSON.stringify(columns.map((c) => row[c.name] ?? null));
        const size = Buffer.byteLength(text);
        if (bytes + size > caps.maxBytes) {
          cut = true;
          break;
        }
        bytes += size;
        texts.push(text);
      }
    } finally {
      stream.destroy();
    }
  }
  return { columns, rows: JsonRows.from(texts), bytes, truncated: cut || total > texts.length };
}

export class SnowflakeEngine implements Engine<SnowflakeCheckedStatement> {
  readonly name = "snowflake" as const;
  readonly text = SNOWFLAKE_TEXT;
  private runtime: RuntimeConfig;
  private readonly credentials: CredentialSources;
  private readonly checking: boolean;
  /** One connection per (target, login role): Snowflake runs a connection's statements concurrently. */
  private readonly connections = new Map<string, Promise<SnowflakeConnection>>();
  /** Cancels of running statements by request id. */
  private readonly running = new Map<string, () => Promise<void>>();

  constructor(
    options: EngineOptions,
    private readonly driver: SnowflakeDriver,
  ) {
    this.runtime = options.runtime;
    this.credentials = options.credentials;
    this.checking = options.check;
  }

  private endpointOf(target: string): SnowflakeEndpoint {
    const endpoint: DatabaseEndpoint | undefined = this.runtime.databases[target];
    if (!endpoint || !("snowflakeAccount" in endpoint)) {
      throw new ToolError("UNAVAILABLE", "this client has no Snowflake account configured on the server.", "config");
    }
    return endpoint.snowflakeAccount;
  }

  /** The private key of a login, read from its secret (`fresh`: past any cache, after an authentication failure). */
  private async privateKey(identity: Identity, fresh: boolean): Promise<string> {
    const login = this.runtime.logins[identity.client.loginRole];
    if (!login || isTokenLogin(login)) throw new ToolError("UNAVAILABLE", "this client has no Snowflake key configured on the server.", "config");
    return privateKeyOf(await this.credentials.secrets.read(login, { fresh }));
  }

  private connection(identity: Identity): Promise<SnowflakeConnection> {
    const key = `${identity.workflow.target}\u0000${identity.client.loginRole}`;
    let connection = this.connections.get(key);
    if (!connection) {
      connection = this.connect(identity);
      this.connections.set(key, connection);
      connection.catch(() => this.connections.delete(key));
    }
    return connection;
  }

  /** Logs in with the login's key; after a key-pair authentication failure reads the secret again once (a rotation swapped it). */
  private async connect(identity: Identity): Promise<SnowflakeConnection> {
    const endpoint = this.endpointOf(identity.workflow.target);
    const options = (privateKey: string) => ({
      account: endpoint.account,
      username: snowflakeRoleName(identity.client.loginRole),
      role: snowflakeRoleName(identity.workflow.roles.group),
      warehouse: endpoint.warehouse,
      database: endpoint.database,
      privateKey,
    });
    try {
      return await this.driver.connect(options(await this.privateKey(identity, false)));
    } catch (error) {
      if (!AUTH_ERROR_CODES.has(snowflakeCode(error) ?? 0)) throw mapSnowflakeError(error);
    }
    try {
      return await this.driver.connect(options(await this.privateKey(identity, true)));
    } catch (error) {
      throw mapSnowflakeError(error);
    }
  }

  async setRuntime(runtime: RuntimeConfig): Promise<void> {
    const old = this.runtime;
    this.runtime = runtime;
    const stale: Promise<SnowflakeConnection>[] = [];
    for (const [key, connection] of this.connections) {
      const [target, role] = key.split("\u0000") as [string, string];
      if (
        JSON.stringify(old.databases[target]) !== JSON.stringify(runtime.databases[target]) ||
        JSON.stringify(old.logins[role]) !== JSON.stringify(runtime.logins[role])
      ) {
        this.connections.delete(key);
        stale.push(connection);
      }
    }
    await Promise.allSettled(stale.map(async (c) => (await c).destroy()));
  }

  endpoint(target: string): string {
    const endpoint = this.runtime.databases[target];
    if (!endpoint || !("snowflakeAccount" in endpoint)) return "(not a Snowflake account)";
    const { account, database, warehouse } = endpoint.snowflakeAccount;
    return `${account}.snowflakecomputing.com/${database} (warehouse ${warehouse})`;
  }

  /**
   * Runs one statement for a call: its query tag and timeout as statement parameters, a client-side
   * guard past the timeout, cancellable by request id while it runs.
   */
  private async run(call: EngineCall, sqlText: string, binds: readonly Param[]): Promise<SnowflakeStatement> {
    const connection = await this.connection(call.identity);
    const timeoutSeconds = Math.max(1, Math.ceil(call.timeoutMs / 1000));
    let cancel: (() => Promise<void>) | null = null;
    let guard: NodeJS.Timeout | undefined;
    let timedOut = false;
    try {
      return await connection.execute({
        sqlText,
        binds,
        parameters: {
          QUERY_TAG: snowflakeQueryTag({ client: call.identity.client.name, workflow: call.identity.workflow.name, requestId: call.requestId }),
          STATEMENT_TIMEOUT_IN_SECONDS: timeoutSeconds,
        },
        onStarted: (cancelStatement) => {
          cancel = cancelStatement;
          this.running.set(call.requestId, cancelStatement);
          guard = setTimeout(() => {
            timedOut = true;
            void cancelStatement().catch(() => undefined);
          }, call.timeoutMs + CLIENT_GRACE_MS);
          guard.unref();
        },
      });
    } catch (error) {
      if (timedOut) throw new ToolError("TIMEOUT", "the statement ran past the workflow's statement timeout and was cancelled.", "client-timeout");
      throw mapSnowflakeError(error);
    } finally {
      clearTimeout(guard);
      if (cancel && this.running.get(call.requestId) === cancel) this.running.delete(call.requestId);
    }
  }

  async ready(identity: Identity): Promise<void> {
    const connection = await this.connection(identity);
    try {
      await connection.execute({ sqlText: "SELECT 1", binds: [], parameters: {} });
    } catch (error) {
      throw mapSnowflakeError(error);
    }
  }

  /** The live columns of the object the workflow reads for a table: the secure view has only the readable ones. */
  async describe(call: EngineCall, table: TablePlan): Promise<LiveTable> {
    const { database } = this.endpointOf(call.identity.workflow.target);
    const [schema, name] = grantedObject(call.identity.workflow.roles.group, table);
    const sql =
      `SELECT COLUMN_NAME, DATA_TYPE, COMMENT FROM ${qualifiedSnowflake(database)}.INFORMATION_SCHEMA.COLUMNS ` +
      "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION";
    const statement = await this.run(call, sql, [schema, name]);
    const rows = await fetchRows(statement, { maxRows: 10_000, maxBytes: 10_000_000 });
    return {
      comment: table.description,
      columns: rows.rows
        .values()
        .map(([column, type, comment]) => ({ name: String(column), type: String(type), comment: comment === null ? null : String(comment) })),
    };
  }

  async check(call: EngineCall, request: StatementRequest): Promise<SnowflakeCheckedStatement> {
    const { sql } = request;
    if (!this.checking) {
      if (sql.length > MAX_SQL_CHARS) throw new ToolError("LIMIT", `the statement is ${sql.length} characters; the limit is ${MAX_SQL_CHARS}.`);
      return { fingerprint: null, redacted: redactUnparsed(sql), parameters: 0, sql, analysis: null };
    }
    const { database } = this.endpointOf(call.identity.workflow.target);
    const analysis = analyzeSnowflakeSql(sql, call.scope, database);
    return { fingerprint: analysis.fingerprint, redacted: analysis.redacted, parameters: analysis.parameters, sql, analysis };
  }

  /** The text that runs: with the check on, every table reference rewritten to the granted object. */
  private runnable(call: EngineCall, statement: SnowflakeCheckedStatement): string {
    if (!statement.analysis) return statement.sql;
    const { database } = this.endpointOf(call.identity.workflow.target);
    return rewriteReferences(statement.sql, statement.analysis, database, call.identity.workflow.roles.group);
  }

  async execute(call: EngineCall, statement: SnowflakeCheckedStatement, params: readonly Param[], caps: ResultCaps): Promise<RowSet> {
    const done = await this.run(call, this.runnable(call, statement), params);
    try {
      return await fetchRows(done, caps);
    } catch (error) {
      throw mapSnowflakeError(error);
    }
  }

  async explain(call: EngineCall, statement: SnowflakeCheckedStatement, caps: ResultCaps): Promise<string> {
    const done = await this.run(call, `EXPLAIN USING TEXT ${this.runnable(call, statement)}`, []);
    const { rows } = await fetchRows(done, caps);
    return rows
      .values()
      .map((r) => String(r[0]))
      .join("\n");
  }

  async cancel(requestId: string): Promise<boolean> {
    const cancel = this.running.get(requestId);
    if (!cancel) return false;
    this.running.delete(requestId);
    await cancel().catch(() => undefined);
    return true;
  }

  async close(): Promise<void> {
    const connections = [...this.connections.values()];
    this.connections.clear();
    await Promise.allSettled(connections.map(async (c) => (await c).destroy()));
  }
}

/** The engine over a driver (tests give a fake); nothing connects until the first call. */
export function snowflakeEngineFactory(driver: SnowflakeDriver): EngineFactory {
  return async (options: EngineOptions) => new SnowflakeEngine(options, driver);
}

/** The engine over snowflake-sdk, loaded on the first connection. */
export const createSnowflakeEngine: EngineFactory = snowflakeEngineFactory(SNOWFLAKE_SDK_DRIVER);
