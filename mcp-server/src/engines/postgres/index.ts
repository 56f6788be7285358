/**
 * The PostgreSQL engine (plain PostgreSQL, Amazon RDS, Cloud SQL): the only code that talks to
 * `pg` and `libpg-query`. Layers 1-4 of enforcement live here:
 * 1. each client's own login role (pool.ts, logins.ts);
 * 2. a read-only transaction per call, reset afterwards (session.ts);
 * 3. the libpg-query check (sqlcheck.ts), with names resolved by the database (catalog.ts);
 * 4. rows and bytes capped at the protocol (fetch.ts).
 */
import type pg from "pg";
import type { RuntimeConfig, TablePlan, WorkflowPlan } from "../../config.js";
import type { CredentialSources } from "../../credentials.js";
import { redactUnparsed } from "../../audit.js";
import { ToolError } from "../../errors.js";
import type { Identity } from "../../identity.js";
import type { CheckedStatement, Engine, EngineCall, EngineFactory, EngineOptions, LiveTable, Param, ResultCaps, RowSet, StatementRequest } from "../engine.js";
import { resolutionQuery, TargetCatalog } from "./catalog.js";
import { mapDbError } from "./errors.js";
import { fetchCapped } from "./fetch.js";
import { LoginPool } from "./pool.js";
import { safeTag, Sessions } from "./session.js";
import { analyzeSql, checkSchemas, loadParser, MAX_SQL_CHARS, quoteIdent, type SqlAnalysis } from "./sqlcheck.js";
import { POSTGRES_TEXT } from "./text.js";

/** A statement that passed `check`: its text and, with the check on, its analysis (names still to resolve). */
export interface PgStatement extends CheckedStatement {
  readonly sql: string;
  readonly analysis: SqlAnalysis | null;
}

/** What a workflow's sessions need, derived once (the plan never changes while the server runs). */
interface WorkflowSession {
  /** `SET LOCAL search_path = <its schemas>`. */
  setSearchPath: string;
  /** Its target's catalog cache. */
  catalog: TargetCatalog;
}

const DESCRIBE_COLUMNS =
  "SELECT a.attname::text AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, " +
  "pg_catalog.col_description(a.attrelid, a.attnum) AS comment, pg_catalog.obj_description(a.attrelid, 'pg_class') AS table_comment " +
  "FROM pg_catalog.pg_attribute a WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";

function searchPathOf(workflow: WorkflowPlan): string {
  const schemas = [...new Set(workflow.tables.map((t) => t.schema))];
  return `SET LOCAL search_path = ${schemas.length > 0 ? schemas.map(quoteIdent).join(", ") : "''"}`;
}

/** The leading comment of a call's statements: database logs join the audit line by request id. */
function requestTag(call: EngineCall): string {
  return `/* dbwarden request=${call.requestId} client=${safeTag(call.identity.client.name)} */ `;
}

/** At most `maxRows` rows and about `maxBytes` bytes of a result read whole (a plan: bounded by the statement's size). */
function capLines(rows: unknown[][], caps: ResultCaps): unknown[][] {
  let bytes = 0;
  const kept: unknown[][] = [];
  for (const row of rows) {
    bytes += String(row[0]).length + 5;
    if (kept.length >= caps.maxRows || bytes > caps.maxBytes) break;
    kept.push(row);
  }
  return kept;
}

export class PostgresEngine implements Engine<PgStatement> {
  readonly name = "postgres" as const;
  readonly text = POSTGRES_TEXT;
  private runtime: RuntimeConfig;
  private readonly credentials: CredentialSources;
  private readonly checking: boolean;
  /**
   * One pool per (target, login role) for calls, and one of a single connection, closed when idle,
   * for readiness checks: a client at its concurrency limit must not make the server look down.
   */
  private readonly pools = new Map<string, LoginPool>();
  private readonly sessions = new Sessions();
  /** Per target: OIDs are per database. */
  private readonly catalogs = new Map<string, TargetCatalog>();
  /** Per workflow name. */
  private readonly workflows = new Map<string, WorkflowSession>();

  constructor(options: EngineOptions) {
    this.runtime = options.runtime;
    this.credentials = options.credentials;
    this.checking = options.check;
    const served = new Set(options.targets.map((t) => t.name));
    for (const workflow of options.plan.workflows) if (served.has(workflow.target)) this.workflowSession(workflow);
  }

  private workflowSession(workflow: WorkflowPlan): WorkflowSession {
    let session = this.workflows.get(workflow.name);
    if (!session) {
      let catalog = this.catalogs.get(workflow.target);
      if (!catalog) this.catalogs.set(workflow.target, (catalog = new TargetCatalog()));
      session = { setSearchPath: searchPathOf(workflow), catalog };
      this.workflows.set(workflow.name, session);
    }
    return session;
  }

  private pool(identity: Identity, purpose: "calls" | "readiness" = "calls"): LoginPool {
    const key = `${identity.workflow.target}\u0000${identity.client.loginRole}\u0000${purpose}`;
    let pool = this.pools.get(key);
    if (!pool) {
      const endpoint = this.runtime.databases[identity.workflow.target];
      const login = this.runtime.logins[identity.client.loginRole];
      if (!endpoint || !login) throw new ToolError("UNAVAILABLE", "this client has no database configured on the server.", "config");
      pool = new LoginPool({
        endpoint,
        role: identity.client.loginRole,
        login,
        credentials: this.credentials,
        max: purpose === "calls" ? identity.workflow.limits.concurrentCalls : 1,
        ...(purpose === "readiness" ? { idleTimeoutMs: 1_000 } : {}),
        applicationName: `dbwarden-mcp/${safeTag(identity.client.name)}`,
        queryTimeoutMs: identity.workflow.limits.statementTimeoutMs + 10_000,
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  async setRuntime(runtime: RuntimeConfig): Promise<void> {
    const old = this.runtime;
    this.runtime = runtime;
    const stale: LoginPool[] = [];
    for (const [key, pool] of this.pools) {
      const [target, role] = key.split("\u0000") as [string, string];
      if (JSON.stringify(old.databases[target]) !== JSON.stringify(runtime.databases[target]) || JSON.stringify(old.logins[role]) !== JSON.stringify(runtime.logins[role])) {
        this.pools.delete(key);
        stale.push(pool);
      }
    }
    await Promise.allSettled(stale.map((p) => p.end()));
  }

  endpoint(target: string): string {
    const db = this.runtime.databases[target];
    return `${db?.host}:${db?.port}/${db?.database}`;
  }

  async ready(identity: Identity): Promise<void> {
    const client = await this.pool(identity, "readiness").connect();
    try {
      await client.query("SELECT 1");
      client.release();
    } catch (error) {
      client.release(true);
      throw mapDbError(error);
    }
  }

  async describe(call: EngineCall, table: TablePlan): Promise<LiveTable> {
    const workflow = this.workflowSession(call.identity.workflow);
    return this.sessions.run(this.pool(call.identity), call, workflow.setSearchPath, null, async (client) => {
      const res = await client.query<{ name: string; type: string; comment: string | null; table_comment: string | null }>({
        text: DESCRIBE_COLUMNS,
        values: [`${quoteIdent(table.schema)}.${quoteIdent(table.table)}`],
      });
      return {
        comment: res.rows[0]?.table_comment ?? null,
        columns: res.rows.map((r) => ({ name: r.name, type: r.type, comment: r.comment })),
      };
    });
  }

  /**
   * The parse (sqlcheck.ts `analyzeSql`): shape, functions, caps. The relation names are resolved
   * and checked against the scope in `execute` / `explain`, in the statement's own transaction.
   */
  async check(call: EngineCall, request: StatementRequest): Promise<PgStatement> {
    const { sql } = request;
    if (!this.checking) {
      if (sql.length > MAX_SQL_CHARS) throw new ToolError("LIMIT", `the statement is ${sql.length} characters; the limit is ${MAX_SQL_CHARS}.`);
      return { fingerprint: null, redacted: redactUnparsed(sql), parameters: 0, sql, analysis: null };
    }
    const analysis = analyzeSql(sql);
    try {
      checkSchemas(analysis, call.scope);
    } catch (error) {
      if (error instanceof ToolError) error.statement = { fingerprint: analysis.fingerprint, redacted: analysis.redacted };
      throw error;
    }
    return { fingerprint: analysis.fingerprint, redacted: analysis.redacted, parameters: analysis.maxParam, sql, analysis };
  }

  async execute(call: EngineCall, statement: PgStatement, params: readonly Param[], caps: ResultCaps): Promise<RowSet> {
    const text = requestTag(call) + statement.sql;
    return this.checkedSession(call, statement, (client) => fetchCapped(client, text, params, caps.maxRows, caps.maxBytes));
  }

  async explain(call: EngineCall, statement: PgStatement, caps: ResultCaps): Promise<string> {
    const generic = statement.parameters > 0;
    const text = `${requestTag(call)}EXPLAIN (FORMAT TEXT${generic ? ", GENERIC_PLAN" : ""}) ${statement.sql}`;
    const lines = await this.checkedSession(call, statement, async (client) => {
      // Values bound to $n would be planned for (a NULL makes "One-Time Filter: false"): a generic
      // plan goes over the simple protocol, unbound. Only the parser check counts parameters, so
      // the statement is proven to be one SELECT here.
      if (generic) return capLines((await client.query<string[]>({ text, rowMode: "array" })).rows, caps);
      return (await fetchCapped(client, text, [], caps.maxRows, caps.maxBytes)).rows;
    });
    return lines.map((r) => String(r[0])).join("\n");
  }

  /**
   * Run `fn` in the call's read-only session once the statement's relation names, resolved in the
   * setup round trip, passed the scope check (with the check on).
   */
  private checkedSession<T>(call: EngineCall, statement: PgStatement, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const workflow = this.workflowSession(call.identity.workflow);
    const { analysis } = statement;
    return this.sessions.run(this.pool(call.identity), call, workflow.setSearchPath, resolutionQuery(analysis), async (client, resolved) => {
      if (analysis) await workflow.catalog.check(client, resolved, call, analysis);
      return fn(client);
    });
  }

  cancel(requestId: string): Promise<boolean> {
    return this.sessions.cancel(requestId);
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((p) => p.end()));
  }
}

/** Loads the parser once (startup), then serves. */
export const createPostgresEngine: EngineFactory = async (options) => {
  await loadParser();
  return new PostgresEngine(options);
};
