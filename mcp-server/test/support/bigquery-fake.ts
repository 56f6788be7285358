/**
 * A local HTTP double of the BigQuery REST calls `@google-cloud/bigquery` makes (its `apiEndpoint`
 * points here), answering as the service does, so the real client code runs end to end:
 * - `jobs.insert` with `dryRun`: `statistics.query.statementType`, `referencedTables`,
 *   `totalBytesProcessed`; 404 `notFound` for an unknown dataset or table; 403 `accessDenied`
 *   when the caller's service account cannot read a table (IAM: readers per table);
 * - `jobs.insert`: a job; it fails with `bytesBilledLimitExceeded` when it would bill more than
 *   `maximumBytesBilled` (BigQuery bills at least 10 MB per table read), with `timeout` once it
 *   runs past `jobTimeoutMs`; `jobs.cancel` stops it (`stopped`);
 * - `jobs.getQueryResults`: pages of at most `maxResults` rows (and at most `pageRows`), with
 *   `pageToken`; `jobComplete: false` while a slow job runs;
 * - `tables.get`: a table's schema.
 * The caller is the bearer token: `token:<service account email>` (the fake token source's).
 * The SQL is read only as far as a double must: the first keyword for the statement type, and
 * backquoted or dotted names after FROM/JOIN for the referenced tables.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const MIN_BILLED_PER_TABLE = 10 * 1000 * 1000;

export interface FakeTable {
  fields: Array<{ name: string; type: string }>;
  rows: string[][];
  /** Bytes a query reading it processes. */
  bytes: number;
  /** Service accounts that may read it. */
  readers: string[];
  /** A job reading it never finishes by itself (timeout and cancel tests). */
  slow?: boolean;
}

interface FakeJob {
  id: string;
  tables: string[];
  rows: string[][];
  fields: FakeTable["fields"];
  started: number;
  timeoutMs: number | null;
  slow: boolean;
  error: { reason: string; message: string } | null;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown> | null;
  caller: string | null;
}

export class BigQueryFake {
  readonly requests: RecordedRequest[] = [];
  readonly jobs = new Map<string, FakeJob>();
  /** Rows per page at most, whatever maxResults says (the service pages too). */
  pageRows = 7;
  private server!: Server;
  private jobWaiters: Array<(id: string) => void> = [];

  constructor(
    readonly project: string,
    readonly tables: Map<string, FakeTable>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Resolves with the id of the next real (not dry-run) job inserted. */
  nextJob(): Promise<string> {
    return new Promise((resolve) => this.jobWaiters.push(resolve));
  }

  /** Requests other than dry runs that would run something. */
  jobInserts(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.endsWith("/jobs") && r.method === "POST" && !(r.body?.configuration as { dryRun?: boolean })?.dryRun);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
    const auth = req.headers.authorization ?? "";
    const caller = auth.startsWith("Bearer token:") ? auth.slice("Bearer token:".length) : null;
    const request = { method: req.method ?? "GET", path: url.pathname, query: url.searchParams, body, caller };
    this.requests.push(request);
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    const error = (status: number, reason: string, message: string) =>
      send(status, { error: { code: status, message, errors: [{ reason, message, domain: "global" }], status: reason } });
    if (!caller) return error(401, "unauthorized", "Request is missing required authentication credential.");
    const base = `/bigquery/v2/projects/${this.project}`;
    const path = url.pathname;
    if (req.method === "POST" && path === `${base}/jobs`) return this.insert(request, send, error);
    const results = new RegExp(`^${base}/queries/([^/]+)$`).exec(path);
    if (req.method === "GET" && results) return this.results(decodeURIComponent(results[1]!), url.searchParams, send, error);
    const cancel = new RegExp(`^${base}/jobs/([^/]+)/cancel$`).exec(path);
    if (req.method === "POST" && cancel) return this.cancel(decodeURIComponent(cancel[1]!), send, error);
    const table = new RegExp(`^${base}/datasets/([^/]+)/tables/([^/]+)$`).exec(path);
    if (req.method === "GET" && table) return this.table(`${table[1]}.${table[2]}`, caller, send, error);
    return error(404, "notFound", `Not found: URL ${path}`);
  }

  private insert(request: RecordedRequest, send: (s: number, v: unknown) => void, error: (s: number, r: string, m: string) => void): void {
    const body = request.body as {
      configuration: { dryRun?: boolean; jobTimeoutMs?: string; query: { query: string; maximumBytesBilled?: string } };
      jobReference: { jobId: string; location?: string };
    };
    const sql = body.configuration.query.query;
    const statementType = statementTypeOf(sql);
    const names = referencedNames(sql, this.project);
    for (const name of names) {
      const dataset = name.split(".")[0]!;
      if (![...this.tables.keys()].some((k) => k.startsWith(`${dataset}.`))) {
        return error(404, "notFound", `Not found: Dataset ${this.project}:${dataset} was not found in location EU`);
      }
      const table = this.tables.get(name);
      if (!table) return error(404, "notFound", `Not found: Table ${this.project}:${name} was not found in location EU`);
      if (!table.readers.includes(request.caller!)) {
        return error(
          403,
          "accessDenied",
          `Access Denied: Table ${this.project}:${name}: User does not have permission to query table ${this.project}:${name}.`,
        );
      }
    }
    const tables = names.map((n) => this.tables.get(n)!);
    const processed = tables.reduce((sum, t) => sum + t.bytes, 0);
    const reference = { projectId: this.project, jobId: body.jobReference.jobId, location: body.jobReference.location ?? "EU" };
    const referencedTables = names.map((n) => ({ projectId: this.project, datasetId: n.split(".")[0], tableId: n.split(".")[1] }));
    if (body.configuration.dryRun) {
      return send(200, {
        kind: "bigquery#job",
        jobReference: reference,
        configuration: body.configuration,
        status: { state: "DONE" },
        statistics: { totalBytesProcessed: String(processed), query: { statementType, referencedTables, totalBytesProcessed: String(processed) } },
      });
    }
    const billed = Math.max(processed, names.length * MIN_BILLED_PER_TABLE);
    const cap = body.configuration.query.maximumBytesBilled;
    const job: FakeJob = {
      id: reference.jobId,
      tables: names,
      rows: tables[0]?.rows ?? [["1"]],
      fields: tables[0]?.fields ?? [{ name: "f0_", type: "INTEGER" }],
      started: Date.now(),
      timeoutMs: body.configuration.jobTimeoutMs ? Number(body.configuration.jobTimeoutMs) : null,
      slow: tables.some((t) => t.slow),
      error:
        cap !== undefined && billed > Number(cap)
          ? { reason: "bytesBilledLimitExceeded", message: `Query exceeded limit for bytes billed: ${cap}. ${billed} or higher required.` }
          : null,
    };
    this.jobs.set(job.id, job);
    for (const waiter of this.jobWaiters.splice(0)) waiter(job.id);
    send(200, { kind: "bigquery#job", jobReference: reference, configuration: body.configuration, status: { state: "RUNNING" } });
  }

  private results(id: string, query: URLSearchParams, send: (s: number, v: unknown) => void, error: (s: number, r: string, m: string) => void): void {
    const job = this.jobs.get(id);
    if (!job) return error(404, "notFound", `Not found: Job ${this.project}:EU.${id}`);
    if (!job.error && job.timeoutMs !== null && Date.now() - job.started > job.timeoutMs && job.slow) {
      job.error = { reason: "timeout", message: `Job ${id} timed out after ${job.timeoutMs} ms` };
    }
    if (job.error) return error(job.error.reason === "stopped" ? 400 : 400, job.error.reason, job.error.message);
    const reference = { projectId: this.project, jobId: id, location: "EU" };
    if (job.slow) return send(200, { kind: "bigquery#getQueryResultsResponse", jobReference: reference, jobComplete: false });
    const start = Number(query.get("pageToken") ?? "0");
    const size = Math.min(Number(query.get("maxResults") ?? "100000"), this.pageRows);
    const page = job.rows.slice(start, start + size);
    const next = start + size < job.rows.length ? String(start + size) : undefined;
    send(200, {
      kind: "bigquery#getQueryResultsResponse",
      jobReference: reference,
      jobComplete: true,
      schema: { fields: job.fields.map((f) => ({ ...f, mode: "NULLABLE" })) },
      totalRows: String(job.rows.length),
      rows: page.map((row) => ({ f: row.map((v) => ({ v })) })),
      ...(next ? { pageToken: next } : {}),
    });
  }

  private cancel(id: string, send: (s: number, v: unknown) => void, error: (s: number, r: string, m: string) => void): void {
    const job = this.jobs.get(id);
    if (!job) return error(404, "notFound", `Not found: Job ${this.project}:EU.${id}`);
    job.error ??= { reason: "stopped", message: "Job execution was cancelled: User requested cancellation" };
    job.slow = false;
    send(200, { kind: "bigquery#jobCancelResponse", job: { jobReference: { projectId: this.project, jobId: id }, status: { state: "DONE" } } });
  }

  private table(name: string, caller: string, send: (s: number, v: unknown) => void, error: (s: number, r: string, m: string) => void): void {
    const table = this.tables.get(name);
    if (!table) return error(404, "notFound", `Not found: Table ${this.project}:${name}`);
    if (!table.readers.includes(caller)) return error(403, "accessDenied", `Access Denied: Table ${this.project}:${name}`);
    const [datasetId, tableId] = name.split(".");
    send(200, {
      kind: "bigquery#table",
      tableReference: { projectId: this.project, datasetId, tableId },
      schema: { fields: table.fields.map((f) => ({ ...f, mode: "NULLABLE" })) },
    });
  }
}

/** The statement type BigQuery reports, from the first keyword. */
function statementTypeOf(sql: string): string {
  const word = /^\s*(?:\(\s*)*([A-Za-z]+)/.exec(sql)?.[1]?.toUpperCase() ?? "";
  if (sql.trim().replace(/;\s*$/, "").includes(";")) return "SCRIPT";
  const types: Record<string, string> = {
    SELECT: "SELECT",
    WITH: "SELECT",
    INSERT: "INSERT",
    UPDATE: "UPDATE",
    DELETE: "DELETE",
    MERGE: "MERGE",
    DROP: "DROP_TABLE",
    CREATE: "CREATE_TABLE",
  };
  return types[word] ?? "SCRIPT";
}

/** `dataset.table` names after FROM, JOIN or INTO (backquoted with or without the project, or plain). */
function referencedNames(sql: string, project: string): string[] {
  const names = new Set<string>();
  for (const match of sql.matchAll(/\b(?:FROM|JOIN|INTO)\s+(`[^`]+`|[A-Za-z_][\w]*\.[A-Za-z_][\w]*)/gi)) {
    const parts = match[1]!.replaceAll("`", "").split(".");
    const name = parts.length === 3 && parts[0] === project ? `${parts[1]}.${parts[2]}` : parts.join(".");
    if (name.includes(".")) names.add(name);
  }
  return [...names];
}
