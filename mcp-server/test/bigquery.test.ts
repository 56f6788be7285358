/**
 * The BigQuery engine with the REAL `@google-cloud/bigquery` client against a local HTTP double of
 * the service (support/bigquery-fake.ts, through `apiEndpoint`), through the dispatcher, so audit
 * lines are the ones production writes: the scope check refuses before any request, the dry run
 * refuses what is not a query or reads outside the scope, the bytes-billed cap holds at the
 * estimate and at the job, rows and bytes are capped while paging, a timeout and a cancel stop
 * the job, and every job carries the cap, the timeout and the labels.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { buildPlan } from "../../src/plan/build.ts";
import { EnvironmentSchema, WorkflowSchema } from "../../src/spec/schema.ts";
import type { AuditRecord, AuditSink } from "../src/audit.ts";
import { openClouds } from "../src/clouds/registry.ts";
import { parseRuntime, type AccessPlan, type RuntimeConfig } from "../src/config.ts";
import { credentialSources } from "../src/credentials.ts";
import { Dispatcher, type Identity, type ToolResult } from "../src/dispatcher.ts";
import { BigQueryEngine } from "../src/engines/bigquery/index.ts";
import type { Engines } from "../src/engines/registry.ts";
import { workflowScope } from "../src/scope.ts";
import { BigQueryFake, type FakeTable } from "./support/bigquery-fake.ts";

const PROJECT = "acme-analytics";
const sa = (workflow: string) => `dbw-${workflow}@${PROJECT}.iam.gserviceaccount.com`;
const MB = 1000 * 1000;

function workflow(name: string, limits: Record<string, unknown>, scope: Record<string, unknown>) {
  return WorkflowSchema.parse({
    apiVersion: "dbwarden/v1",
    kind: "Workflow",
    name,
    owner: "data",
    description: "Order questions.",
    target: "wh",
    scope,
    limits,
    clients: [{ name: "claude-ops", auth: "api-key" }],
  });
}

const SCOPE = {
  sales: {
    orders: { exclude: ["card"] },
    customers: { columns: { id: null, name: null } },
    events: { exclude: [] },
    wide: { exclude: [] },
    slow: { exclude: [] },
  },
};

function testPlan(): AccessPlan {
  const environment = EnvironmentSchema.parse({
    apiVersion: "dbwarden/v1",
    kind: "Environment",
    name: "test",
    targets: { wh: { platform: "bigquery", database: PROJECT, location: "EU", credentials: { mode: "iam" }, logging: { statements: "query-history" } } },
    workflows: ["orders", "nocap", "slowpoke"],
  });
  return buildPlan(
    environment,
    [
      workflow("orders", { maxRows: 10, maxBytesBilled: "15MB" }, SCOPE),
      workflow("nocap", {}, { sales: { orders: { exclude: ["card"] } } }),
      workflow("slowpoke", { statementTimeout: "300ms", maxBytesBilled: "15MB" }, { sales: { slow: { exclude: [] } } }),
    ],
    new Date("2026-12-07T00:00:00Z"),
  );
}

/** The workflow's views (readable by its service account only) and the source tables (readable by nobody here). */
function fakeTables(): Map<string, FakeTable> {
  const tables = new Map<string, FakeTable>();
  const orders = {
    fields: [
      { name: "id", type: "INTEGER" },
      { name: "amount", type: "NUMERIC" },
      { name: "status", type: "STRING" },
    ],
    bytes: 1 * MB,
  };
  const ordersRows = [
    ["1", "10.50", "paid"],
    ["2", "99.00", "open"],
  ];
  tables.set("sales.orders", { ...orders, fields: [...orders.fields, { name: "card", type: "STRING" }], rows: [], readers: [] });
  for (const wf of ["orders", "nocap"]) tables.set(`dbw_${wf}.sales__orders`, { ...orders, rows: ordersRows, readers: [sa(wf)] });
  tables.set("dbw_orders.sales__customers", {
    fields: [
      { name: "id", type: "INTEGER" },
      { name: "name", type: "STRING" },
    ],
    rows: [["1", "Ada"]],
    bytes: 1 * MB,
    readers: [sa("orders")],
  });
  const events = Array.from({ length: 100 }, (_, i) => [String(i), "x".repeat(40)]);
  tables.set("dbw_orders.sales__events", {
    fields: [
      { name: "id", type: "INTEGER" },
      { name: "note", type: "STRING" },
    ],
    rows: events,
    bytes: 2 * MB,
    readers: [sa("orders")],
  });
  tables.set("dbw_orders.sales__wide", { fields: [{ name: "blob", type: "STRING" }], rows: [["b"]], bytes: 20 * MB, readers: [sa("orders")] });
  for (const wf of ["orders", "slowpoke"]) {
    tables.set(`dbw_${wf}.sales__slow`, { fields: [{ name: "n", type: "INTEGER" }], rows: [], bytes: 1 * MB, readers: [sa(wf)], slow: true });
  }
  return tables;
}

class MemoryAudit implements AuditSink {
  readonly lines: AuditRecord[] = [];
  async write(record: AuditRecord): Promise<void> {
    this.lines.push(structuredClone(record));
  }
  async close(): Promise<void> {}
}

let fake: BigQueryFake;
let plan: AccessPlan;
let runtime: RuntimeConfig;
let checked: BigQueryEngine;
let unchecked: BigQueryEngine;
let audit: MemoryAudit;
let dispatcher: Dispatcher;

const credentials = credentialSources(
  openClouds({
    aws: {
      secrets: { getSecret: () => Promise.reject(new Error("no secrets here")) },
      rdsTokens: { getAuthToken: () => Promise.reject(new Error("no RDS here")) },
    },
    // The impersonated token names its service account, so the double knows the caller.
    gcp: { serviceAccountTokens: { accessToken: async (email) => `token:${email}` } },
  }),
);

function identity(name: string): Identity {
  const w = plan.workflows.find((x) => x.name === name)!;
  return { workflow: w, client: w.clients[0]!, principal: "test" };
}

function engines(engine: BigQueryEngine): Engines {
  return { of: () => engine, all: [engine], close: async () => {}, takeOver: () => {} };
}

const text = (result: ToolResult) => result.content[0]!.text;
const payload = (result: ToolResult) => JSON.parse(text(result)) as { rows: unknown[][]; truncated: boolean; columns: Array<{ name: string }> };

before(async () => {
  plan = testPlan();
  fake = new BigQueryFake(PROJECT, fakeTables());
  await fake.start();
  runtime = parseRuntime(
    {
      listen: { host: "127.0.0.1", port: 0 },
      databases: { wh: { bigquery: { project: PROJECT, location: "EU", apiEndpoint: fake.url } } },
      logins: Object.fromEntries(plan.workflows.flatMap((w) => w.clients.map((c) => [c.loginRole, { gcpServiceAccount: sa(w.name) }]))),
      audit: { stream: "stderr" },
    },
    plan,
  );
  const options = { plan, targets: plan.targets, runtime, credentials };
  checked = new BigQueryEngine({ ...options, check: true });
  unchecked = new BigQueryEngine({ ...options, check: false });
  audit = new MemoryAudit();
  dispatcher = new Dispatcher(plan, engines(checked), audit);
});
after(async () => {
  await Promise.allSettled([checked?.close(), unchecked?.close()]);
  await fake?.stop();
});

/** A query through the dispatcher; its result and its audit line. */
async function query(sql: string, params: unknown[] = [], who = "orders", signal?: AbortSignal, through = dispatcher) {
  const before = audit.lines.length;
  const result = await through.call(identity(who), "query", { sql, params }, "stdio", signal);
  return { result, line: audit.lines[before]! };
}

describe("the BigQuery engine against the real client and a local double of the service", { timeout: 60_000 }, () => {
  test("the plan carries the per-call cap: the workflow's own, none where neither it nor its target sets one", () => {
    assert.equal(identity("orders").workflow.limits.maxBytesBilled, 15 * MB);
    assert.equal(identity("nocap").workflow.limits.maxBytesBilled, null);
  });

  test("a statement outside the scope is refused before any request reaches BigQuery, and audited as refused", async () => {
    const refused = [
      "SELECT * FROM hr.salaries",
      `SELECT * FROM \`${PROJECT}.sales.orders_*\``,
      "SELECT * FROM `other-project.sales.orders`",
      "DELETE FROM sales.orders WHERE true",
      "SELECT 1; DROP TABLE sales.orders",
      'SELECT * FROM EXTERNAL_QUERY("conn", "SELECT 1")',
      "SELECT @@project_id",
      "SELECT * FROM `region-eu`.INFORMATION_SCHEMA.JOBS",
      "SELECT mydataset.remote_fn(id) FROM sales.orders",
      "SELECT * FROM sales.orders o, o.items",
      "WITH x AS (SELECT 1) SELECT * FROM x JOIN hr.salaries ON true",
    ];
    const requests = fake.requests.length;
    for (const sql of refused) {
      const { result, line } = await query(sql);
      assert.ok(result.isError, sql);
      assert.match(text(result), /^(DENIED|INVALID):/, sql);
      assert.equal(line.verdict, "refused", sql);
      assert.equal(line.tool, "query");
    }
    assert.equal(fake.requests.length, requests, "nothing was sent to BigQuery, not even a dry run");
    const { line } = await query("SELECT * FROM hr.salaries WHERE id = 'x'");
    assert.equal(line.code, "DENIED");
    assert.ok(line.fingerprint, "the refused statement's shape is on the audit line");
    assert.ok(!line.statement!.includes("'x'"), "literals are redacted");
  });

  test("a query in scope runs as the workflow's service account, on its views, with the cap, the timeout and the labels", async () => {
    fake.requests.length = 0;
    const { result, line } = await query("SELECT id, status FROM sales.orders WHERE amount > ?", [5]);
    assert.ok(!result.isError, text(result));
    const out = payload(result);
    assert.deepEqual(
      out.columns.map((c) => c.name),
      ["id", "amount", "status"],
    );
    assert.deepEqual(out.rows, [
      ["1", "10.50", "paid"],
      ["2", "99.00", "open"],
    ]);
    const [dry, job] = fake.requests.filter((r) => r.path.endsWith("/jobs"));
    assert.equal((dry!.body!.configuration as { dryRun: boolean }).dryRun, true, "a dry run first");
    const config = job!.body!.configuration as {
      query: { query: string; maximumBytesBilled: string; parameterMode: string };
      jobTimeoutMs: string;
      labels: Record<string, string>;
    };
    assert.equal(
      config.query.query,
      `SELECT id, status FROM \`${PROJECT}.dbw_orders.sales__orders\` WHERE amount > ?`,
      "the table is read through the workflow's view",
    );
    assert.equal(config.query.maximumBytesBilled, String(15 * MB));
    assert.equal(config.query.parameterMode, "positional");
    assert.equal(config.jobTimeoutMs, "15000");
    assert.deepEqual(config.labels, { "dbwarden-client": "claude-ops", "dbwarden-workflow": "orders", "dbwarden-request": line.requestId });
    assert.equal((job!.body!.jobReference as { jobId: string }).jobId, `dbwarden_${line.requestId}`);
    assert.ok(
      fake.requests.every((r) => r.caller === sa("orders")),
      "every request authenticates as the workflow's service account",
    );
    assert.equal(line.verdict, "allowed");
    assert.equal(line.rows, 2);
    assert.equal(line.truncated, false);
  });

  test(
    "the dry run refuses what is not a query, an unknown dataset, and a table " + "the service account cannot read (check off: the service alone holds)",
    async () => {
      const plain = new Dispatcher(plan, engines(unchecked), audit);
      const jobs = fake.jobInserts().length;
      const insert = await query("INSERT INTO `acme-analytics.dbw_orders.sales__orders` (id) VALUES (3)", [], "orders", undefined, plain);
      assert.match(text(insert.result), /^DENIED: the dry run says this is a INSERT, not a SELECT/);
      assert.equal(insert.line.errorClass, "not-a-query");
      const unknown = await query("SELECT * FROM nowhere.t", [], "orders", undefined, plain);
      assert.match(text(unknown.result), /^INVALID: BigQuery found no such object: Not found: Dataset acme-analytics:nowhere/);
      const source = await query("SELECT * FROM sales.orders", [], "orders", undefined, plain);
      assert.match(text(source.result), /^DENIED: BigQuery refused: Access Denied/, "the source table is not the workflow's");
      assert.equal(fake.jobInserts().length, jobs, "no job ran");
    },
  );

  test("the bytes-billed cap: refused at the dry run's estimate, enforced by the job, and no job at all without a cap", async () => {
    const jobs = fake.jobInserts().length;
    const wide = await query("SELECT blob FROM sales.wide");
    assert.match(text(wide.result), /^LIMIT: the query would process 20000000 bytes; this workflow may bill at most 15000000/);
    assert.equal(fake.jobInserts().length, jobs, "refused at the estimate: no job");
    // Two 1 MB tables: the estimate is 2 MB, but BigQuery bills at least 10 MB per table read.
    const join = await query("SELECT o.id FROM sales.orders o JOIN sales.customers c ON o.id = c.id");
    assert.match(text(join.result), /^LIMIT: the query would bill more bytes than this workflow's cap/);
    assert.equal(join.line.errorClass, "bytesBilledLimitExceeded");
    assert.equal(fake.jobInserts().length, jobs + 1, "the job ran with the cap and BigQuery stopped it");
    const requests = fake.requests.length;
    const nocap = await query("SELECT id FROM sales.orders", [], "nocap");
    assert.match(text(nocap.result), /^DENIED: this workflow has no bytes-billed cap/);
    assert.equal(fake.requests.length, requests, "no dry run, no job");
  });
});

describe("the BigQuery engine: caps, timeout, cancel, describe and explain", { timeout: 60_000 }, () => {
  test("rows and bytes are capped while paging: the pages stop at the cap", async () => {
    fake.requests.length = 0;
    const { result, line } = await query("SELECT * FROM sales.events");
    const out = payload(result);
    assert.equal(out.rows.length, 10);
    assert.equal(out.truncated, true);
    const pages = fake.requests.filter((r) => r.path.includes("/queries/"));
    assert.equal(pages.length, 2, "7 rows, then 4 more (maxResults 11 - 7 = 4): enough to know there are more");
    assert.equal(pages[0]!.query.get("maxResults"), "11");
    assert.equal(pages[1]!.query.get("maxResults"), "4");
    assert.equal(line.truncated, true);
    const statement = await checked.check(
      { identity: identity("orders"), requestId: "bytes-cap", scope: workflowScope(identity("orders").workflow.tables), timeoutMs: 15_000 },
      { tool: "query", sql: "SELECT * FROM sales.events" },
    );
    const capped = await checked.execute(
      { identity: identity("orders"), requestId: "bytes-cap", scope: workflowScope(identity("orders").workflow.tables), timeoutMs: 15_000 },
      statement,
      [],
      { maxRows: 1000, maxBytes: 200 },
    );
    assert.equal(capped.truncated, true);
    assert.equal(capped.rows.length, 4, "four 48-byte rows fit in 200 bytes, a fifth does not");
    assert.equal(capped.bytes, 192);
  });

  test("a job past the workflow's timeout is stopped by BigQuery (jobTimeoutMs) and answered TIMEOUT", async () => {
    const { result, line } = await query("SELECT n FROM sales.slow", [], "slowpoke");
    assert.match(text(result), /^TIMEOUT:/);
    const job = fake.jobInserts().at(-1)!;
    assert.equal((job.body!.configuration as { jobTimeoutMs: string }).jobTimeoutMs, "300");
    assert.equal(line.verdict, "failed");
    assert.equal(line.code, "TIMEOUT");
  });

  test("a cancelled call cancels its job in BigQuery", async () => {
    const controller = new AbortController();
    const started = fake.nextJob();
    const running = query("SELECT n FROM sales.slow", [], "orders", controller.signal);
    const jobId = await started;
    controller.abort();
    const { result, line } = await running;
    assert.match(text(result), /^TIMEOUT: the query job was cancelled/);
    assert.ok(
      fake.requests.some((r) => r.method === "POST" && r.path.endsWith(`/jobs/${jobId}/cancel`)),
      "jobs.cancel was called for the job",
    );
    assert.equal(jobId, `dbwarden_${line.requestId}`);
    assert.equal(line.code, "TIMEOUT");
  });

  test("describe_table shows the view's columns (the excluded column does not exist there); explain is a dry run", async () => {
    const described = JSON.parse(text(await dispatcher.call(identity("orders"), "describe_table", { table: "sales.orders" }, "stdio"))) as {
      columns: Array<{ name: string }>;
      notReadable: string[];
    };
    assert.deepEqual(
      described.columns.map((c) => c.name),
      ["id", "amount", "status"],
    );
    assert.deepEqual(described.notReadable, ["card"]);
    const jobs = fake.jobInserts().length;
    const explained = JSON.parse(text(await dispatcher.call(identity("orders"), "explain", { sql: "SELECT id FROM sales.orders" }, "stdio"))) as {
      plan: string;
    };
    assert.match(explained.plan, /bytes processed \(estimate\): 1000000/);
    assert.match(explained.plan, /tables read: dbw_orders\.sales__orders/);
    assert.equal(fake.jobInserts().length, jobs, "explain runs nothing");
  });
});
