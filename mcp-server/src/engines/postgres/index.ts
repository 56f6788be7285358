/**
 * The PostgreSQL engine (plain PostgreSQL, Amazon RDS, Cloud SQL): the only code that talks to
 * `pg` and `libpg-query`. Layers 1-4 of enforcement live here:
 * 1. each client's own login role (pool.ts, logins.ts);
 * 2. a read-only transaction per call, reset afterwards (session.ts);
 * 3. the libpg-query check (sqlcheck.ts), with names resolved by the database (catalog.ts);
 * 4. rows and bytes capped at the protocol (fetch.ts).
 */
import {
  READINESS_STATEMENT,
  agentSearchPath,
  maskName,
  requestComment,
  serverApplicationName,
  ToolError,
  redactUnparsed,
  type CheckedStatement,
  type CredentialSources,
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
  type TableScope,
  type TablePlan,
  type WorkflowPlan,
} from "../engine.js";
import { resolutionQuery, TargetCatalog } from "./catalog.js";
import { mapDbError } from "./errors.js";
import { CappedLines, CappedRows, TextRows, type RowReader } from "./fetch.js";
import { LoginPool, endpointText, postgresEndpoint } from "./pool.js";
import { ShapeCache } from "./literals.js";
import { GuardMissed, Sessions, type Step } from "./session.js";
import { analyzeSql, checkSchemas, loadParser, MAX_SQL_CHARS, type SqlAnalysis } from "./sqlcheck.js";
import { findTarget, quoteIdent } from "../engine.js";
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

/** The workflow's search_path (the contract's: its governed schema first, as the login's own is). */
function searchPathOf(workflow: WorkflowPlan): string {
  const schemas = agentSearchPath(workflow);
  return `SET LOCAL search_path = ${schemas.length > 0 ? schemas.map(quoteIdent).join(", ") : "''"}`;
}

/** Note on the call what the database enforces on the relations its statement reads (for the audit line). */
function noteApplied(call: EngineCall, read: readonly TableScope[]): void {
  const applied = call.applied;
  if (!applied) return;
  for (const { relation, table } of read) {
    const at = `${relation.schema}.${relation.name}`;
    if (relation.kind === "reporting-view") applied.reportingViews.push(at);
    if (relation.kind !== "governed-table") continue;
    for (const c of table.columns) if (c.mask) applied.masked.push(`${at}.${c.name}:${maskName(c.mask)}`);
    if (table.rowFilter) applied.filtered.push(at);
  }
}

/**
 * The leading comment of every statement the server runs for a call (the contract's one format):
 * database logs join the audit line by request id, and `dbwarden audit` takes a statement of an
 * agent login without it for one run outside the server.
 */
function requestTag(call: EngineCall): string {
  return requestComment(call.requestId, call.identity.client.name);
}

/** Analyses kept by statement text (the parse is a pure function of it); past this many, the oldest go. */
const MAX_CACHED_ANALYSES = 1_000;
/** Statements longer than this are parsed every time (bounds the cache's memory). */
const MAX_CACHED_SQL_CHARS = 4_000;

/** Deep-frozen: a cached analysis is shared by every call of the same text and must never change. */
function frozen<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) frozen(v);
  }
  return value;
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
  /** Per pool key: what the pool was made for (`poolSignature`); a new plan takes over pools whose signature it shares. */
  private readonly signatures = new Map<string, string>();
  private readonly plan: EngineOptions["plan"];
  private readonly sessions = new Sessions();
  /** Per target: OIDs are per database. */
  private readonly catalogs = new Map<string, TargetCatalog>();
  /** Per workflow name. */
  private readonly workflows = new Map<string, WorkflowSession>();
  /** Parses by statement text, oldest first. */
  private readonly analyses = new Map<string, SqlAnalysis>();
  /** Parses by shape: statements that differ only in literal values share one (literals.ts). */
  private readonly shapes = new ShapeCache(MAX_CACHED_ANALYSES, MAX_CACHED_SQL_CHARS);

  constructor(options: EngineOptions) {
    this.runtime = options.runtime;
    this.plan = options.plan;
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

  /**
   * What a pool serves, as one string: its endpoint and credential source, and the plan entries
   * its connections depend on (the target, the workflow with its limits and clients).
   */
  private poolSignature(target: string, role: string): string | null {
    const workflow = this.plan.workflows.find((w) => w.target === target && w.clients.some((c) => c.loginRole === role));
    if (!workflow) return null;
    return JSON.stringify([this.runtime.databases[target] ?? null, this.runtime.logins[role] ?? null, findTarget(this.plan, target), workflow]);
  }

  takeOver(previous: Engine): void {
    if (!(previous instanceof PostgresEngine)) return;
    for (const [key, pool] of previous.pools) {
      const [target, role] = key.split("\u0000") as [string, string];
      const signature = this.poolSignature(target, role);
      if (this.pools.has(key) || signature === null || previous.signatures.get(key) !== signature) continue;
      previous.pools.delete(key);
      previous.signatures.delete(key);
      this.pools.set(key, pool);
      this.signatures.set(key, signature);
    }
    for (const [sql, analysis] of previous.analyses) if (!this.analyses.has(sql) && this.analyses.size < MAX_CACHED_ANALYSES) this.analyses.set(sql, analysis);
    this.shapes.takeOver(previous.shapes);
  }

  private pool(identity: Identity, purpose: "calls" | "readiness" = "calls"): LoginPool {
    const key = `${identity.workflow.target}\u0000${identity.client.loginRole}\u0000${purpose}`;
    let pool = this.pools.get(key);
    if (!pool) {
      const endpoint = postgresEndpoint(this.runtime.databases[identity.workflow.target]);
      const login = this.runtime.logins[identity.client.loginRole];
      if (!endpoint || !login) throw new ToolError("UNAVAILABLE", "this client has no database configured on the server.", "config");
      pool = new LoginPool({
        endpoint,
        role: identity.client.loginRole,
        login,
        credentials: this.credentials,
        max: purpose === "calls" ? identity.workflow.limits.concurrentCalls : 1,
        ...(purpose === "readiness" ? { idleTimeoutMs: 1_000 } : {}),
        applicationName: serverApplicationName(identity.client.name),
        queryTimeoutMs: identity.workflow.limits.statementTimeoutMs + 10_000,
      });
      this.pools.set(key, pool);
      const signature = this.poolSignature(identity.workflow.target, identity.client.loginRole);
      if (signature !== null) this.signatures.set(key, signature);
    }
    return pool;
  }

  async setRuntime(runtime: RuntimeConfig): Promise<void> {
    const old = this.runtime;
    this.runtime = runtime;
    const stale: LoginPool[] = [];
    for (const [key, pool] of this.pools) {
      const [target, role] = key.split("\u0000") as [string, string];
      if (
        JSON.stringify(old.databases[target]) !== JSON.stringify(runtime.databases[target]) ||
        JSON.stringify(old.logins[role]) !== JSON.stringify(runtime.logins[role])
      ) {
        this.pools.delete(key);
        this.signatures.delete(key);
        stale.push(pool);
      }
    }
    await Promise.allSettled(stale.map((p) => p.end()));
  }

  endpoint(target: string): string {
    return endpointText(postgresEndpoint(this.runtime.databases[target]));
  }

  async ready(identity: Identity): Promise<void> {
    const client = await this.pool(identity, "readiness").connect();
    try {
      // Exactly the contract's text: `dbwarden audit` knows it as the server's own, not a call.
      await client.query(READINESS_STATEMENT);
      client.release();
    } catch (error) {
      client.release(true);
      throw mapDbError(error);
    }
  }

  async describe(call: EngineCall, table: Pick<TablePlan, "schema" | "table">): Promise<LiveTable> {
    const workflow = this.workflowSession(call.identity.workflow);
    const rows = new TextRows();
    const step: Step = { text: requestTag(call) + DESCRIBE_COLUMNS, values: [`${quoteIdent(table.schema)}.${quoteIdent(table.table)}`], reader: rows };
    await this.sessions.run(this.pool(call.identity), call, workflow.setSearchPath, (tx) => tx.send([step], { last: true }));
    return {
      comment: rows.rows[0]?.table_comment ?? null,
      columns: rows.rows.map((r) => ({ name: r.name ?? "", type: r.type ?? "", comment: r.comment ?? null })),
    };
  }

  /**
   * The parse (sqlcheck.ts `analyzeSql`): shape, functions, caps, kept by statement text. The
   * relation names are resolved and checked against the scope in `execute` / `explain`, in the
   * statement's own transaction.
   */
  async check(call: EngineCall, request: StatementRequest): Promise<PgStatement> {
    const { sql } = request;
    if (!this.checking) {
      if (sql.length > MAX_SQL_CHARS) throw new ToolError("LIMIT", `the statement is ${sql.length} characters; the limit is ${MAX_SQL_CHARS}.`);
      return { fingerprint: null, redacted: redactUnparsed(sql), parameters: 0, sql, analysis: null };
    }
    const analysis = this.analysis(sql);
    try {
      checkSchemas(analysis, call.scope);
    } catch (error) {
      if (error instanceof ToolError) error.statement = { fingerprint: analysis.fingerprint, redacted: analysis.redacted };
      throw error;
    }
    return { fingerprint: analysis.fingerprint, redacted: analysis.redacted, parameters: analysis.maxParam, sql, analysis };
  }

  private analysis(sql: string): SqlAnalysis {
    const known = this.analyses.get(sql) ?? this.shapes.get(sql);
    if (known) return known;
    const analysis = analyzeSql(sql);
    if (sql.length <= MAX_CACHED_SQL_CHARS) {
      if (this.analyses.size >= MAX_CACHED_ANALYSES) this.analyses.delete(this.analyses.keys().next().value!);
      this.analyses.set(sql, frozen(analysis));
      this.shapes.remember(sql, analysis);
    }
    return analysis;
  }

  async execute(call: EngineCall, statement: PgStatement, params: readonly Param[], caps: ResultCaps): Promise<RowSet> {
    const text = requestTag(call) + statement.sql;
    const rows = await this.checkedRun(call, statement, () => ({
      text,
      values: params,
      reader: new CappedRows(caps.maxRows, caps.maxBytes, caps.memory ?? null),
    }));
    return rows.result();
  }

  async explain(call: EngineCall, statement: PgStatement, caps: ResultCaps): Promise<string> {
    const generic = statement.parameters > 0;
    const text = `${requestTag(call)}EXPLAIN (FORMAT TEXT${generic ? ", GENERIC_PLAN" : ""}) ${statement.sql}`;
    // Values bound to $n would be planned for (a NULL makes "One-Time Filter: false"), and a Bind
    // must supply every $n: a generic plan goes over the simple protocol, unbound, once the rest of
    // the transaction has answered. Only the parser check counts parameters, so the statement is
    // proven to be one SELECT here.
    const plan = await this.checkedRun(call, statement, () => ({ text, reader: new CappedLines(caps.maxRows, caps.maxBytes), simple: generic }));
    return plan.lines.join("\n");
  }

  /**
   * Run the call's statement (`final()` builds its step afresh for each attempt) in a read-only
   * transaction once its relation names passed the scope check, resolved in that same transaction;
   * resolves with the statement's reader. One write when the names' resolution is known (the guard
   * re-checks it in the transaction, before the statement); else the names are resolved first,
   * checked, and the statement sent after.
   */
  private async checkedRun<R extends RowReader>(call: EngineCall, statement: PgStatement, final: () => Step & { reader: R }): Promise<R> {
    const workflow = this.workflowSession(call.identity.workflow);
    const pool = this.pool(call.identity);
    const { analysis } = statement;
    const known = analysis ? workflow.catalog.guard(call, analysis) : null;
    if (known || !analysis) {
      const step = final();
      try {
        await this.sessions.run(pool, call, workflow.setSearchPath, (tx) => tx.send([step], { last: true, names: known?.condition ?? null }));
        if (known) noteApplied(call, known.read);
        return step.reader;
      } catch (error) {
        if (!(error instanceof GuardMissed)) throw error;
      }
    }
    const step = final();
    await this.sessions.run(pool, call, workflow.setSearchPath, async (tx) => {
      // The setup goes first either way: the catalog's own reads need the workflow's search_path.
      const query = resolutionQuery(analysis);
      const resolved = new TextRows();
      await tx.send(query ? [{ text: requestTag(call) + query, reader: resolved }] : []);
      if (analysis) noteApplied(call, await workflow.catalog.check(tx.client, [{ rows: resolved.rows }], call, analysis));
      await tx.send([step], { last: true });
    });
    return step.reader;
  }

  cancel(requestId: string): Promise<boolean> {
    return this.sessions.cancel(requestId);
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    this.signatures.clear();
    await Promise.allSettled(pools.map((p) => p.end()));
  }
}

/** Loads the parser once (startup), then serves. */
export const createPostgresEngine: EngineFactory = async (options) => {
  await loadParser();
  return new PostgresEngine(options);
};
