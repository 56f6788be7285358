/**
 * The engine seam: what the server needs from one kind of database, behind one small interface.
 * The dispatcher (tools, identity, limits, audit) and the transports know no SQL dialect; each
 * engine lives in its own folder (engines/<name>/) and is the only code that talks to its driver.
 * Which engine serves a target comes from the contract's capability table
 * (`TARGET_PLATFORMS[platform].engine`), through engines/registry.ts.
 *
 * One call of a SQL tool is `check` then `execute` (or `explain`) with the same `EngineCall`.
 * The shape fits the three engines the contract names:
 * - PostgreSQL (engines/postgres): a pool per login role, a read-only transaction per call; `check`
 *   is the libpg-query parse, and the half of the check that needs the database's own name
 *   resolution (search_path, quoting) runs inside `execute`, in the statement's own transaction.
 * - BigQuery: no sessions or transactions; `check` is a dry run (statement type and referenced
 *   tables, checked against `EngineCall.scope`); `execute` a query job with the target's
 *   `maximumBytesBilled` (plan platform settings), `jobTimeoutMs` from `EngineCall.timeoutMs`,
 *   labels carrying the request id, one page of at most `maxRows`; `cancel` cancels the job.
 * - Snowflake: key-pair auth from the credential sources, the request id as query tag, a row cap
 *   through `streamRows`; no column grants, so column rules hold in the database through the
 *   secure views or masking policies the components create, and its own `check` (no statement
 *   type API: its own parse) refuses unreadable columns up front; `cancel` cancels the statement.
 * Per-target settings (BigQuery's cost cap, Snowflake's warehouse) are read from the plan's targets,
 * given at creation.
 *
 * This file is the whole of the server an engine sees: engines/<name>/ imports from here (and its
 * own driver) only, never another module of the server nor a cloud (ESLint refuses it). Credentials
 * come through `EngineOptions.credentials`, whatever their kind or cloud (clouds/, the cloud seam).
 */
import { endpointKind, type DatabaseEndpoint, type DatabaseEndpointKind, type DatabaseEndpointOf, type EngineName } from "@dbwarden/contract";
import type { AccessPlan, RuntimeConfig, TablePlan, TargetPlan } from "../config.js";
import type { Identity } from "../identity.js";
import type { CredentialSources } from "../credentials.js";
import type { JsonRows, ResultLease } from "../results.js";
import type { WorkflowScope } from "../scope.js";

export type { CredentialSources, EngineName, Identity };
export type { AccessPlan, RuntimeConfig, TablePlan, TargetPlan, WorkflowPlan } from "../config.js";
export type { CertificateAuthorityName, DatabaseEndpoint, DatabaseEndpointOf, LoginSource } from "@dbwarden/contract";
export { bigqueryViewOf, bigqueryViewDataset, type BigQueryTableId } from "@dbwarden/contract";
export {
  endpointKind,
  isTokenLogin,
  grantedObject,
  qualifiedSnowflake,
  quoteSnowflake,
  readsThroughView,
  snowflakeQueryTag,
  snowflakeRoleName,
  SNOWFLAKE_DBWARDEN_SCHEMA,
  keySecretValue,
  newKeyPair,
} from "@dbwarden/contract";
export type { ParsedSecret } from "../credentials.js";
export { findTarget, rotationCloneName } from "@dbwarden/contract";
// PostgreSQL identifiers, quoted as the reconciler quotes them.
export { quoteIdent } from "@dbwarden/contract";
// The request tags every engine puts on its statements (the audit join) and its housekeeping statements.
export {
  READINESS_STATEMENT,
  agentSearchPath,
  maskName,
  requestApplicationName,
  requestComment,
  serverApplicationName,
  SESSION_RESET,
} from "@dbwarden/contract";
export { JsonRows, type ResultLease } from "../results.js";
export { ToolError, type StatementFacts } from "../errors.js";
export { redactUnparsed } from "../audit.js";
export { readableColumns, readInstead, scopeTables, tableKey, type TableScope, type WorkflowScope } from "../scope.js";

/**
 * A target's endpoint if it is of the kind this engine reads (`DATABASE_ENDPOINT_KINDS`), else
 * null: a runtime config giving a BigQuery project to a PostgreSQL target is refused, not misread.
 */
export function endpointOfKind<K extends DatabaseEndpointKind>(endpoint: DatabaseEndpoint | undefined, kind: K): DatabaseEndpointOf<K> | null {
  return endpoint !== undefined && endpointKind(endpoint) === kind ? (endpoint as DatabaseEndpointOf<K>) : null;
}

/** A positional parameter value, as the `query` tool accepts it. */
export type Param = string | number | boolean | null;

/**
 * What the database enforces on the relations a call's statement reads (docs/masks.md), for its
 * audit line: `schema.table.column:mask` per masked column, `schema.table` per filtered table
 * (where the agent reads them) and `schema.view` per reporting view. Filled by the engine where its
 * statement check resolved the relations (not with the check off).
 */
export interface AppliedControls {
  masked: string[];
  filtered: string[];
  reportingViews: string[];
}

/** One tool call, as an engine sees it. Built once per call by the dispatcher. */
export interface EngineCall {
  /** The verified caller: its workflow (target, tables, limits) and its client (login). */
  readonly identity: Identity;
  /** Joins the audit line with the database's own logs (comment, application name, job label, query tag). */
  readonly requestId: string;
  /** The workflow's tables and column rules (`readableColumns` says what a table's live columns allow). */
  readonly scope: WorkflowScope;
  /** Every statement the engine runs for this call ends within this many milliseconds. */
  readonly timeoutMs: number;
  /** Where the engine notes the masks, row filters and reporting views the statement read; absent: nobody asks. */
  readonly applied?: AppliedControls;
}

/** A statement to check, from the `query` or `explain` tool. */
export interface StatementRequest {
  readonly tool: "query" | "explain";
  readonly sql: string;
}

/**
 * A statement that passed `check`. Engines extend it with what they need to run it; the
 * dispatcher reads only these fields.
 */
export interface CheckedStatement {
  /** For the audit line: the statement's shape, stable across literal values; null if not computed. */
  readonly fingerprint: string | null;
  /** For the audit line: a bounded excerpt with literals replaced. Never parameter values. */
  readonly redacted: string;
  /** How many positional parameters the statement uses (the highest `$n`, or the number of `?`). */
  readonly parameters: number;
}

/** Caps on what one statement may return. */
export interface ResultCaps {
  readonly maxRows: number;
  /** Approximate bytes of row data. */
  readonly maxBytes: number;
  /**
   * The call's share of the server's result memory (results.ts): each row read is counted against
   * it, and a row it cannot hold refuses the call with BUSY. Absent: not counted.
   */
  readonly memory?: ResultLease;
}

/** What `execute` returns: at most `maxRows` rows and `maxBytes` bytes, whatever the statement says. */
export interface RowSet {
  /** Column names and the engine's type names. */
  columns: Array<{ name: string; type: string }>;
  /**
   * Each row as the JSON text of an array of its values (numbers and booleans as JSON natives,
   * JSON values parsed, the rest as text): the form the answer carries it in, kept from the read on
   * (`JsonRows.from(texts)` for an engine that has them as strings).
   */
  rows: JsonRows;
  /** More rows (or bytes) existed than were returned. */
  truncated: boolean;
  /** Approximate bytes of the row data returned. */
  bytes: number;
}

/** A table as the database has it now. */
export interface LiveTable {
  /** The database's comment on the table (untrusted text), if any. */
  comment: string | null;
  /** Every live column, in the database's order. */
  columns: Array<{ name: string; type: string; comment: string | null }>;
}

/**
 * The words an engine gives the MCP tools, in its dialect, so tools.ts has none. Built once per
 * engine: tool schemas are derived from it once and shared.
 */
export interface EngineText {
  /** What one statement is, for the server instructions: e.g. "one PostgreSQL SELECT, $1-style params". */
  statement: string;
  /** The `query` tool: what it runs and how (its result shape is added by tools.ts). */
  query: string;
  /** The `sql` argument of `query`. */
  querySql: string;
  /** The `params` argument of `query`. */
  queryParams: string;
  /** The `explain` tool. */
  explain: string;
  /** The `sql` argument of `explain`. */
  explainSql: string;
  /** How a statement refers to positional parameter `n`, for messages: e.g. "$2". */
  param(n: number): string;
  /**
   * What an agent must know to read a result's values, by its columns (e.g. that exact numbers come
   * back as strings), or nothing. Added to the `query` result as `notes`.
   */
  valueNotes?(columns: ReadonlyArray<{ name: string; type: string }>): string[];
}

export interface EngineOptions {
  plan: AccessPlan;
  /** The targets this engine serves: those whose platform's engine it is, read by some workflow. */
  targets: readonly TargetPlan[];
  runtime: RuntimeConfig;
  credentials: CredentialSources;
  /** The engine's own statement check (layer 3). Off only in tests that prove the database alone holds. */
  check: boolean;
}

/** Creates an engine once every check it needs at startup (e.g. loading a parser) is done. */
export type EngineFactory = (options: EngineOptions) => Promise<Engine>;

/**
 * One kind of database. Every method that can fail throws `ToolError` (errors.ts) with a stable
 * code and a message that never carries row data or secrets; the dispatcher maps anything else to
 * DB_ERROR.
 */
export interface Engine<S extends CheckedStatement = CheckedStatement> {
  readonly name: EngineName;
  readonly text: EngineText;
  /** Take a new runtime config (reload): connections whose endpoint or credential changed are replaced. */
  setRuntime(runtime: RuntimeConfig): Promise<void>;
  /**
   * A new plan replaced `previous`'s (an engine of the same kind): take over its connections that
   * serve what did not change (the same login, endpoint, credential and plan entries), so that only
   * what changed gets new connections. `previous` keeps serving its running calls meanwhile.
   */
  takeOver?(previous: Engine): void;
  /** The endpoint of a target, for startup messages (no secrets): e.g. "host:5432/app". */
  endpoint(target: string): string;
  /** Readiness: the identity's target answers a trivial statement as the identity's login. */
  ready(identity: Identity): Promise<void>;
  /** The live columns of one relation of the call's workflow, where the agent reads it (empty when it does not exist). */
  describe(call: EngineCall, table: Pick<TablePlan, "schema" | "table">): Promise<LiveTable>;
  /**
   * Check one statement against the call's workflow before anything runs (engine-native: a
   * parser, a dry run). Fails closed with DENIED / INVALID / LIMIT.
   */
  check(call: EngineCall, request: StatementRequest): Promise<S>;
  /** Run a checked statement, read-only, with `params` bound positionally and the result capped. */
  execute(call: EngineCall, statement: S, params: readonly Param[], caps: ResultCaps): Promise<RowSet>;
  /** The plan of a checked statement, as text, without running it. */
  explain(call: EngineCall, statement: S, caps: ResultCaps): Promise<string>;
  /** Stop the statement running for a request id; false if none is running. */
  cancel(requestId: string): Promise<boolean>;
  /** Release every connection. */
  close(): Promise<void>;
}
