/**
 * The BigQuery engine: the only code that talks to `@google-cloud/bigquery`. A call goes through
 * four layers, each enough on its own to keep a statement inside the workflow's scope:
 * 1. the statement check (sqlcheck.ts), before anything reaches BigQuery: one query, every table
 *    a table of the scope, rewritten to the workflow's authorized view of it;
 * 2. a dry run: the statement type must be SELECT, every referenced table the workflow's (its views
 *    or the tables they read), and the bytes it would process within the cap;
 * 3. the query job, as the workflow's own service account (impersonated: it reads only its views),
 *    with `maximumBytesBilled` (the workflow's `limits.maxBytesBilled`), `jobTimeoutMs` and labels
 *    naming the client, the workflow and the request id (INFORMATION_SCHEMA.JOBS, audit logs);
 * 4. rows and bytes capped while paging (`getQueryResults` with `maxResults`, never auto-paginated).
 * `cancel` cancels the job.
 */
import type * as BigQueryLibrary from "@google-cloud/bigquery";
import type { BigQuery, Job } from "@google-cloud/bigquery";
import {
  bigqueryViewDataset,
  bigqueryViewOf,
  endpointOfKind,
  JsonRows,
  ToolError,
  type CheckedStatement,
  type CredentialSources,
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
import { mapBigQueryError, reasonOf } from "./errors.js";
import { jobLabels } from "./labels.js";
import { cellValue, rowBytes, type RawRow } from "./rows.js";
import { checkStatement, statementFacts } from "./sqlcheck.js";
import { tokenize } from "./lexer.js";
import { BIGQUERY_TEXT } from "./text.js";

/** A statement that passed the check: the text sent to BigQuery (tables rewritten to views). */
export interface BqStatement extends CheckedStatement {
  readonly query: string;
}

/** BigQuery lists at most this many referenced tables; a longer list may be incomplete, so it proves nothing. */
export const MAX_REFERENCED_TABLES = 50;
/** Access tokens are reused this long (impersonated tokens live an hour). */
const TOKEN_TTL_MS = 5 * 60_000;
/** Rows asked for per page at most. */
const PAGE_ROWS = 10_000;
/** How long after the job's own timeout the server stops waiting and cancels it. */
const CLIENT_GRACE_MS = 5_000;
/** Between polls of a job still running. */
const POLL_MS = 100;

let loaded: Promise<typeof BigQueryLibrary> | null = null;
/** The client library, loaded when a BigQuery target is first served: a server reading only PostgreSQL never holds it. */
function bigqueryModule(): Promise<typeof BigQueryLibrary> {
  loaded ??= import("@google-cloud/bigquery");
  return loaded;
}

interface RunningJob {
  job: Job;
  /** Set by `cancel`: resolves once BigQuery answered the cancel, so the call ends after its job. */
  cancelled: Promise<void> | null;
}

interface TableReference {
  projectId?: string;
  datasetId?: string;
  tableId?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class BigQueryEngine implements Engine<BqStatement> {
  readonly name = "bigquery" as const;
  readonly text = BIGQUERY_TEXT;
  private runtime: RuntimeConfig;
  private readonly credentials: CredentialSources;
  private readonly checking: boolean;
  /** One client per (target, login): each authenticates as its login's service account. */
  private readonly clients = new Map<string, BigQuery>();
  private readonly tokens = new Map<string, { token: string; until: number }>();
  private readonly running = new Map<string, RunningJob>();

  constructor(options: EngineOptions) {
    this.runtime = options.runtime;
    this.credentials = options.credentials;
    this.checking = options.check;
  }

  private project(identity: Identity): DatabaseEndpointOf<"bigquery">["bigquery"] {
    const endpoint = endpointOfKind(this.runtime.databases[identity.workflow.target], "bigquery");
    if (!endpoint) throw new ToolError("UNAVAILABLE", "this client has no BigQuery project configured on the server.", "config");
    return endpoint.bigquery;
  }

  private async client(identity: Identity): Promise<BigQuery> {
    const key = `${identity.workflow.target}\u0000${identity.client.loginRole}`;
    let client = this.clients.get(key);
    if (!client) {
      const project = this.project(identity);
      const login = this.runtime.logins[identity.client.loginRole];
      if (!login) throw new ToolError("UNAVAILABLE", "this client has no BigQuery login configured on the server.", "config");
      const user = "gcpServiceAccount" in login ? String(login.gcpServiceAccount) : identity.client.loginRole;
      const token = async (): Promise<string> => {
        const cached = this.tokens.get(key);
        if (cached && cached.until > Date.now()) return cached.token;
        const { password } = await this.credentials.login(login, { host: "bigquery.googleapis.com", port: 443, user, fresh: cached !== undefined });
        this.tokens.set(key, { token: password, until: Date.now() + TOKEN_TTL_MS });
        return password;
      };
      // The client's own GoogleAuth takes any object answering getRequestHeaders: the login's token.
      const authClient = { getRequestHeaders: async () => new Headers({ authorization: `Bearer ${await token()}` }) };
      const { BigQuery } = await bigqueryModule();
      client = new BigQuery({
        projectId: project.project,
        location: project.location,
        ...(project.apiEndpoint ? { apiEndpoint: project.apiEndpoint } : {}),
        authClient: authClient as never,
        autoRetry: false,
      });
      this.clients.set(key, client);
    }
    return client;
  }

  async setRuntime(runtime: RuntimeConfig): Promise<void> {
    const old = this.runtime;
    this.runtime = runtime;
    for (const key of [...this.clients.keys()]) {
      const [target, role] = key.split("\u0000") as [string, string];
      if (
        JSON.stringify(old.databases[target]) !== JSON.stringify(runtime.databases[target]) ||
        JSON.stringify(old.logins[role]) !== JSON.stringify(runtime.logins[role])
      ) {
        this.clients.delete(key);
        this.tokens.delete(key);
      }
    }
  }

  endpoint(target: string): string {
    const endpoint = endpointOfKind(this.runtime.databases[target], "bigquery");
    return endpoint ? `bigquery:${endpoint.bigquery.project} (${endpoint.bigquery.location})` : "bigquery:(none)";
  }

  async ready(identity: Identity): Promise<void> {
    try {
      await (await this.client(identity)).createQueryJob({ query: "SELECT 1", dryRun: true });
    } catch (error) {
      throw mapBigQueryError(error);
    }
  }

  /** The columns of the workflow's view of the table: exactly its readable ones. */
  async describe(call: EngineCall, table: TablePlan): Promise<LiveTable> {
    const view = bigqueryViewOf(call.identity.workflow, table);
    try {
      const [metadata] = await (await this.client(call.identity)).dataset(view.datasetId).table(view.tableId).getMetadata();
      const fields = (metadata?.schema?.fields ?? []) as Array<{ name?: string; type?: string; mode?: string; description?: string }>;
      return {
        comment: typeof metadata?.description === "string" ? metadata.description : null,
        columns: fields.map((f) => ({ name: f.name ?? "", type: f.mode === "REPEATED" ? `ARRAY<${f.type}>` : (f.type ?? ""), comment: f.description ?? null })),
      };
    } catch (error) {
      if (reasonOf(error) === "notFound") return { comment: null, columns: [] };
      throw mapBigQueryError(error);
    }
  }

  async check(call: EngineCall, request: StatementRequest): Promise<BqStatement> {
    if (!this.checking) {
      return { ...statementFacts(tokenize(request.sql)), parameters: 0, query: request.sql };
    }
    const project = this.project(call.identity).project;
    const checked = checkStatement(request.sql, call, call.identity.workflow, project);
    if (request.tool === "explain" && checked.parameters > 0) {
      const error = new ToolError("INVALID", "explain takes a statement without ? placeholders (a dry run needs their values): write the values in.");
      error.statement = checked.facts;
      throw error;
    }
    return { ...checked.facts, parameters: checked.parameters, query: checked.rewritten };
  }

  /**
   * The dry run: SELECT only, every referenced table the workflow's, the bytes within the cap.
   * Returns the bytes it would process.
   */
  private async dryRun(call: EngineCall, statement: BqStatement, params: readonly Param[]): Promise<{ bytes: number; tables: string[] }> {
    const client = await this.client(call.identity);
    let job: Job;
    try {
      [job] = await client.createQueryJob({ query: statement.query, dryRun: true, ...(params.length > 0 ? { params: [...params] } : {}) });
    } catch (error) {
      throw mapBigQueryError(error);
    }
    const stats = (job.metadata?.statistics?.query ?? {}) as { statementType?: string; referencedTables?: TableReference[]; totalBytesProcessed?: string };
    if (stats.statementType !== "SELECT") {
      throw new ToolError(
        "DENIED",
        `the dry run says this is a ${stats.statementType ?? "statement of no known type"}, not a SELECT: only queries run.`,
        "not-a-query",
      );
    }
    const referenced = stats.referencedTables ?? [];
    if (referenced.length >= MAX_REFERENCED_TABLES) {
      throw new ToolError(
        "DENIED",
        `the query references ${referenced.length} tables or more; BigQuery lists at most ${MAX_REFERENCED_TABLES}, so its scope cannot be proven.`,
        "too-many-tables",
      );
    }
    const allowed = this.allowedTables(call, this.project(call.identity).project);
    const outside = referenced.map((t) => `${t.projectId}.${t.datasetId}.${t.tableId}`).filter((name) => !allowed.has(name));
    if (outside.length > 0) {
      throw new ToolError("DENIED", `the dry run says the query reads ${outside.slice(0, 3).join(", ")}, outside this workflow's scope.`, "out-of-scope");
    }
    const bytes = Number(stats.totalBytesProcessed ?? "0");
    return { bytes, tables: referenced.map((t) => `${t.datasetId}.${t.tableId}`) };
  }

  /** Tables a query of this workflow may reference: its views, and the scope's tables they read. */
  private allowedTables(call: EngineCall, project: string): Set<string> {
    const allowed = new Set<string>();
    for (const { table } of call.scope.values()) {
      const view = bigqueryViewOf(call.identity.workflow, table);
      allowed.add(`${project}.${view.datasetId}.${view.tableId}`);
      allowed.add(`${project}.${table.schema}.${table.table}`);
    }
    return allowed;
  }

  /** The workflow's per-call bytes cap; a workflow without one runs nothing (fail closed). */
  private bytesCap(call: EngineCall): number {
    const cap = call.identity.workflow.limits.maxBytesBilled;
    if (cap === null) {
      throw new ToolError("DENIED", "this workflow has no bytes-billed cap (limits.maxBytesBilled), so no query job runs for it.", "no-bytes-cap");
    }
    return cap;
  }

  async execute(call: EngineCall, statement: BqStatement, params: readonly Param[], caps: ResultCaps): Promise<RowSet> {
    const cap = this.bytesCap(call);
    const estimate = await this.dryRun(call, statement, params);
    if (estimate.bytes > cap) {
      throw new ToolError(
        "LIMIT",
        `the query would process ${estimate.bytes} bytes; this workflow may bill at most ${cap} per call. Read fewer columns or partitions.`,
        "bytes-estimate",
      );
    }
    const client = await this.client(call.identity);
    const jobId = `dbwarden_${call.requestId}`;
    const running: RunningJob = { job: client.job(jobId, { location: this.project(call.identity).location }), cancelled: null };
    this.running.set(call.requestId, running);
    try {
      const [job] = await client.createQueryJob({
        query: statement.query,
        ...(params.length > 0 ? { params: [...params] } : {}),
        jobId,
        maximumBytesBilled: String(cap),
        jobTimeoutMs: call.timeoutMs,
        labels: jobLabels(call),
      });
      running.job = job;
      return await this.page(call, running, caps);
    } catch (error) {
      if (running.cancelled && !(error instanceof ToolError)) {
        await running.cancelled;
        throw new ToolError("TIMEOUT", "the query job was cancelled.", "cancelled");
      }
      throw mapBigQueryError(error);
    } finally {
      this.running.delete(call.requestId);
    }
  }

  /** Read pages until the rows or bytes cap, the last page, or the deadline (then the job is cancelled). */
  private async page(call: EngineCall, running: RunningJob, caps: ResultCaps): Promise<RowSet> {
    const deadline = Date.now() + call.timeoutMs + CLIENT_GRACE_MS;
    const rows = new JsonRows();
    let columns: Array<{ name: string; type: string }> = [];
    let bytes = 0;
    let pageToken: string | undefined;
    for (;;) {
      if (running.cancelled) {
        await running.cancelled;
        throw new ToolError("TIMEOUT", "the query job was cancelled.", "cancelled");
      }
      if (Date.now() > deadline) {
        await running.job.cancel().catch(() => undefined);
        throw new ToolError("TIMEOUT", "the query job ran past the workflow's statement timeout and was cancelled.", "deadline");
      }
      const maxResults = Math.min(PAGE_ROWS, caps.maxRows - rows.length + 1);
      const [raw, , response] = (await running.job.getQueryResults({
        maxResults,
        autoPaginate: false,
        skipParsing: true,
        ...(pageToken ? { pageToken } : {}),
      })) as unknown as [
        RawRow[],
        unknown,
        { jobComplete?: boolean; pageToken?: string; schema?: { fields?: Array<{ name: string; type: string; mode?: string; fields?: unknown[] }> } },
      ];
      if (response?.jobComplete === false) {
        await sleep(POLL_MS);
        continue;
      }
      const fields = response?.schema?.fields ?? [];
      if (columns.length === 0) columns = fields.map((f) => ({ name: f.name, type: f.mode === "REPEATED" ? `ARRAY<${f.type}>` : f.type }));
      for (const row of raw ?? []) {
        const values = fields.map((field, i) => cellValue(field, row.f?.[i]?.v));
        const size = rowBytes(values);
        if (rows.length >= caps.maxRows || bytes + size > caps.maxBytes) return { columns, rows, truncated: true, bytes };
        const json = rows.escape(JSON.stringify(values));
        // The server's result memory (results.ts): a result it cannot hold is refused with BUSY, and the job stops.
        if (caps.memory && !caps.memory.grow(JsonRows.sizeOf(json))) {
          await running.job.cancel().catch(() => undefined);
          throw caps.memory.refusal();
        }
        rows.push(json);
        bytes += size;
      }
      if (!response?.pageToken) return { columns, rows, truncated: false, bytes };
      pageToken = response.pageToken;
    }
  }

  /** A dry run, as text: what the query would read and process. Nothing runs. */
  async explain(call: EngineCall, statement: BqStatement): Promise<string> {
    const estimate = await this.dryRun(call, statement, []);
    const cap = call.identity.workflow.limits.maxBytesBilled;
    return [
      "dry run (BigQuery): statement type SELECT",
      `bytes processed (estimate): ${estimate.bytes}`,
      `bytes billed cap per call: ${cap ?? "none (no job runs)"}`,
      `tables read: ${estimate.tables.join(", ") || "none"}`,
      `views of this workflow: dataset ${bigqueryViewDataset(call.identity.workflow)}`,
    ].join("\n");
  }

  async cancel(requestId: string): Promise<boolean> {
    const running = this.running.get(requestId);
    if (!running) return false;
    // The job may not exist yet (its insert in flight) or be done: the paging loop stops either way.
    running.cancelled ??= running.job.cancel().then(
      () => undefined,
      () => undefined,
    );
    await running.cancelled;
    return true;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.running.keys()].map((id) => this.cancel(id)));
    this.clients.clear();
    this.tokens.clear();
  }
}

export const createBigQueryEngine: EngineFactory = async (options) => new BigQueryEngine(options);
