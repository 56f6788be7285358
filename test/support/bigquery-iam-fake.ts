/**
 * A double of what `dbwarden drift` reads and writes of a BigQuery project's IAM, answering as the
 * services do, both in memory (`BigQueryIam`) and over HTTP for the real client
 * (`@google-cloud/bigquery`'s `apiEndpoint`, Cloud Resource Manager's endpoint):
 * - `datasets.get`: the access list and an etag that changes with every write; 404 `notFound`;
 * - `datasets.patch`: replaces the access list only when `If-Match` is the current etag (412
 *   "Precondition check failed." otherwise, as BigQuery answers), and answers the new etag;
 * - `tables.list` in pages of `pageSize` (`nextPageToken`), `tables.get` with a view's `view.query`;
 * - `projects.getIamPolicy` (Resource Manager v1): the bindings;
 * - every call needs a bearer token (401 without one).
 * `deployed` fills it as `pulumi up` leaves a plan, from the functions the access component uses.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AccessPlan, TargetPlan } from "@dbwarden/contract";
import { bigqueryAccessPlan, bigqueryLabels, JOB_USER_ROLE, viewDatasetAccesses } from "../../components/bigquery/plan.ts";
import { serviceAccountEmail } from "../../src/names/gcp.ts";
import type { CatalogSnapshot } from "../../components/postgres/catalog.ts";
import { ConcurrentChangeError, type AccessEntry, type BigQueryIam, type ProjectBinding } from "../../src/bigquery/iam.ts";

export interface FakeDataset {
  access: AccessEntry[];
  labels: Record<string, string>;
  etag: number;
  tables: Map<string, { type: string; query?: string }>;
}

export interface FakeRequest {
  method: string;
  path: string;
  ifMatch: string | null;
  body: Record<string, unknown> | null;
}

/** The source datasets' own entries, which drift must leave alone: the owner's, a group of analysts. */
export const OWNERS_ENTRIES: AccessEntry[] = [
  { role: "OWNER", specialGroup: "projectOwners" },
  { role: "READER", groupByEmail: "analysts@acme.example" },
];

export class BigQueryIamFake implements BigQueryIam {
  readonly datasets = new Map<string, FakeDataset>();
  bindings: ProjectBinding[] = [];
  readonly requests: FakeRequest[] = [];
  /** Runs before a PATCH is judged (a test changes the dataset concurrently here). */
  beforePatch: ((datasetId: string) => void) | null = null;
  /** Tables per `tables.list` page. */
  pageSize = 2;
  private server: Server | null = null;

  constructor(readonly project: string) {}

  /** The project as `pulumi up` leaves the plan's BigQuery target, plus the source datasets' own entries. */
  static deployed(plan: AccessPlan, target: TargetPlan, catalog: CatalogSnapshot): BigQueryIamFake {
    const fake = new BigQueryIamFake(target.database);
    const members: string[] = [];
    for (const access of bigqueryAccessPlan(plan, target, catalog, "test catalog")) {
      const email = serviceAccountEmail(access.accountId, target.database);
      members.push(`serviceAccount:${email}`);
      fake.dataset(access.viewDataset).access.push(...viewDatasetAccesses(email));
      fake.dataset(access.viewDataset).labels = bigqueryLabels(plan, target, access);
      for (const view of access.views) {
        fake.dataset(access.viewDataset).tables.set(view.view.tableId, { type: "VIEW", query: view.query });
        const source = fake.dataset(view.source.datasetId);
        if (source.access.length === 0) source.access.push(...OWNERS_ENTRIES.map((e) => ({ ...e })));
        source.access.push({ view: { projectId: target.database, ...view.view } });
        source.tables.set(view.source.tableId, { type: "TABLE" });
      }
    }
    fake.bindings = [
      { role: "roles/owner", members: ["user:admin@acme.example"] },
      { role: JOB_USER_ROLE, members: [...members, "user:analyst@acme.example"] },
    ];
    return fake;
  }

  /** A dataset, created empty when it does not exist. */
  dataset(id: string): FakeDataset {
    if (!this.datasets.has(id)) this.datasets.set(id, { access: [], labels: {}, etag: 1, tables: new Map() });
    return this.datasets.get(id)!;
  }

  private etagOf = (d: FakeDataset) => `etag-${d.etag}`;

  async datasetAccess(datasetId: string) {
    const d = this.datasets.get(datasetId);
    return d ? { access: structuredClone(d.access), etag: this.etagOf(d), labels: { ...d.labels } } : null;
  }

  async listTables(datasetId: string) {
    return [...(this.datasets.get(datasetId)?.tables ?? [])].map(([tableId, t]) => ({ tableId, type: t.type }));
  }

  async viewQuery(datasetId: string, tableId: string) {
    return this.datasets.get(datasetId)?.tables.get(tableId)?.query ?? null;
  }

  async projectBindings() {
    return structuredClone(this.bindings);
  }

  async setDatasetAccess(datasetId: string, access: AccessEntry[], etag: string) {
    const d = this.datasets.get(datasetId);
    if (!d || this.etagOf(d) !== etag) throw new ConcurrentChangeError(`dataset ${datasetId}: precondition failed`);
    d.access = structuredClone(access);
    d.etag++;
  }

  /** Someone else changes a dataset's list (its etag moves). */
  touch(datasetId: string, entry: AccessEntry): void {
    const d = this.dataset(datasetId);
    d.access.push(entry);
    d.etag++;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : null;
    const method = req.method ?? "GET";
    const ifMatch = typeof req.headers["if-match"] === "string" ? req.headers["if-match"] : null;
    this.requests.push({ method, path: url.pathname, ifMatch, body });
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    const error = (status: number, reason: string, message: string) =>
      send(status, { error: { code: status, message, errors: [{ reason, message, domain: "global" }], status: reason } });
    if (!(req.headers.authorization ?? "").startsWith("Bearer ")) return error(401, "unauthorized", "Request is missing required authentication credential.");
    if (method === "POST" && url.pathname === `/v1/projects/${this.project}:getIamPolicy`)
      return send(200, { version: 3, etag: "BwX", bindings: this.bindings });
    const base = `/bigquery/v2/projects/${this.project}/datasets`;
    const match = new RegExp(`^${base}/([^/]+)(?:/tables(?:/([^/]+))?)?$`).exec(url.pathname);
    const dataset = match ? this.datasets.get(decodeURIComponent(match[1]!)) : undefined;
    if (!match || !dataset) return error(404, "notFound", `Not found: ${url.pathname}`);
    const datasetId = decodeURIComponent(match[1]!);
    const reference = { projectId: this.project, datasetId };
    const datasetBody = () => ({
      kind: "bigquery#dataset",
      id: `${this.project}:${datasetId}`,
      datasetReference: reference,
      access: dataset.access,
      labels: dataset.labels,
      etag: this.etagOf(dataset),
    });
    if (url.pathname.endsWith("/tables")) {
      const all = [...dataset.tables];
      const start = Number(url.searchParams.get("pageToken") ?? "0");
      const page = all.slice(start, start + this.pageSize);
      const next = start + this.pageSize < all.length ? { nextPageToken: String(start + this.pageSize) } : {};
      const tables = page.map(([tableId, t]) => ({
        kind: "bigquery#table",
        id: `${this.project}:${datasetId}.${tableId}`,
        tableReference: { ...reference, tableId },
        type: t.type,
      }));
      return send(200, { kind: "bigquery#tableList", tables, totalItems: all.length, ...next });
    }
    if (match[2] !== undefined) {
      const tableId = decodeURIComponent(match[2]);
      const table = dataset.tables.get(tableId);
      if (!table) return error(404, "notFound", `Not found: Table ${this.project}:${datasetId}.${tableId}`);
      return send(200, {
        kind: "bigquery#table",
        tableReference: { ...reference, tableId },
        type: table.type,
        ...(table.query ? { view: { query: table.query, useLegacySql: false } } : {}),
      });
    }
    if (method === "GET") return send(200, datasetBody());
    if (method === "PATCH") {
      this.beforePatch?.(datasetId);
      if (ifMatch !== null && ifMatch !== this.etagOf(dataset)) return error(412, "conditionNotMet", "Precondition check failed.");
      if (Array.isArray(body?.access)) dataset.access = body.access as AccessEntry[];
      dataset.etag++;
      return send(200, datasetBody());
    }
    return error(405, "methodNotAllowed", `${method} ${url.pathname}`);
  }
}
