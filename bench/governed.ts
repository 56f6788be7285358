/**
 * What masks, row filters and reporting views cost (docs/masks.md).
 *
 * 1. A point query through a governed view against the same query on the table: the demo data
 *    reconciled with the local plan; account-assistant's login reads one of its own events by id
 *    through `usage_events` (hash-masked user, filtered by account), cs-usage-drop's login reads
 *    the same columns of the same row from `analytics.usage_events` (column grants). Sequential
 *    prepared statements; latency percentiles, and the database backend's CPU per query (from
 *    /proc, robust on a busy machine); the plan each gets.
 * 2. Drift at 10,000 tables with 1,000 governed views: 50 schemas x 200 tables, 50 workflows of
 *    40 tables each, half of them masked and filtered (1,000 views). The cold reconcile that
 *    creates them, a clean drift (median, round trips), and drift with 100 views changed by hand.
 *
 * Smoke runs: `npm run bench -- governed` (BENCH_QUICK=1 for fewer iterations).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { loadDemoData } from "../src/local/demo.ts";
import { planStack } from "../src/plan/index.ts";
import { detectDrift } from "../src/postgres/drift.ts";
import { reconcile } from "../src/postgres/reconcile.ts";
import { SCHEMAS, syntheticPlan, TABLES_PER_SCHEMA } from "./lib/synthetic-plan.ts";
import { generatedPasswords } from "../test/postgres/helpers.ts";
import { startTestPostgres, type TestPostgres } from "../test/support/postgres.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NOW = new Date("2026-01-15T00:00:00Z");
const QUICK = process.env.BENCH_QUICK === "1";
const POINT_QUERIES = QUICK ? 500 : 5_000;
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

/** CPU time (user + system) of a process in ms, from /proc (Linux). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Run one point query `n` times on `client` (a prepared statement): latencies and the backend's CPU per query. */
async function pointQueries(client: pg.Client, sql: string, ids: number[]) {
  const pid = (await client.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
  const statement = { name: `point-${Math.random().toString(36).slice(2)}`, text: sql };
  for (let i = 0; i < 50; i++) await client.query({ ...statement, values: [ids[i % ids.length]] });
  const latencies: number[] = [];
  const cpuBefore = cpuMs(pid);
  for (let i = 0; i < POINT_QUERIES; i++) {
    const t = performance.now();
    const r = await client.query({ ...statement, values: [ids[i % ids.length]] });
    latencies.push(performance.now() - t);
    if (r.rows.length !== 1) throw new Error(`${sql}: expected one row, got ${r.rows.length}`);
  }
  const cpu = cpuMs(pid) - cpuBefore;
  const plan = (await client.query(`EXPLAIN (COSTS OFF) ${sql.replace("$1", String(ids[0]))}`)).rows.map((r) => r["QUERY PLAN"]).join(" / ");
  return { p50Ms: round(percentile(latencies, 0.5)), p99Ms: round(percentile(latencies, 0.99)), backendCpuMsPerQuery: round(cpu / POINT_QUERIES, 4), plan };
}

async function pointQueryBench(db: TestPostgres) {
  await db.createDatabase("bench_governed");
  const admin = await db.admin("bench_governed");
  await loadDemoData(admin);
  const plan = planStack("local", { root: ROOT, now: NOW });
  plan.targets[0]!.database = "bench_governed";
  const passwords = generatedPasswords(plan);
  await reconcile(admin, plan, { target: "app", passwords });
  const login = (workflow: string) => plan.workflows.find((w) => w.name === workflow)!.roles.logins[0]!.role;
  const connect = async (role: string) => {
    const client = new pg.Client({ host: db.host, port: db.port, user: role, password: passwords[role], database: "bench_governed" });
    await client.connect();
    return client;
  };
  const tenant = await connect(login("account-assistant"));
  const direct = await connect(login("cs-usage-drop"));
  try {
    const ids = (await admin.query("SELECT id FROM analytics.usage_events WHERE account_id = 2 ORDER BY id")).rows.map((r) => Number(r.id));
    const governed = await pointQueries(tenant, "SELECT id, event_type, occurred_at, user_id FROM usage_events WHERE id = $1", ids);
    const table = await pointQueries(direct, "SELECT id, event_type, occurred_at, user_id FROM analytics.usage_events WHERE id = $1", ids);
    return {
      queries: POINT_QUERIES,
      governedView: governed,
      baseTable: table,
      backendCpuRatio: round(governed.backendCpuMsPerQuery / table.backendCpuMsPerQuery, 2),
    };
  } finally {
    await Promise.allSettled([tenant.end(), direct.end()]);
  }
}

async function driftBench(db: TestPostgres) {
  const database = await db.createDatabase("bench_governed_drift");
  const admin = await db.admin(database);
  for (let s = 0; s < SCHEMAS; s++) {
    await admin.query(`CREATE SCHEMA s${s}; DO $$ BEGIN
      FOR i IN 0..${TABLES_PER_SCHEMA - 1} LOOP
        EXECUTE format('CREATE TABLE s${s}.t%s (id bigint, a text, b text, c int, d timestamptz, secret text)', i);
      END LOOP; END $$`);
  }
  const plan = syntheticPlan({ database, logins: 2, governed: true, now: NOW });
  let t = performance.now();
  const applied = await reconcile(admin, plan, { target: "app" });
  const reconcileColdMs = performance.now() - t;
  const views = Number((await admin.query("SELECT count(*) AS n FROM pg_views WHERE schemaname LIKE 'dbw_bench_%'")).rows[0].n);
  let queries = 0;
  const original = admin.query.bind(admin);
  (admin as unknown as { query: unknown }).query = (...args: unknown[]) => {
    queries += 1;
    return (original as (...a: unknown[]) => unknown)(...args);
  };
  const runs = QUICK ? 2 : 5;
  const ms: number[] = [];
  let clean = 0;
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    clean = (await detectDrift(admin, plan, { target: "app" })).differences.length;
    ms.push(performance.now() - t);
  }
  (admin as unknown as { query: unknown }).query = original;
  // 100 views replaced by hand (the filter turned to other tenants' rows): each is drift.
  await admin.query(`DO $$ DECLARE v record; BEGIN
    FOR v IN SELECT schemaname, viewname FROM pg_views WHERE schemaname LIKE 'dbw_bench_%' ORDER BY 1, 2 LIMIT 100 LOOP
      EXECUTE format('CREATE OR REPLACE VIEW %I.%I WITH (security_barrier = true) AS %s', v.schemaname, v.viewname,
        rtrim(replace(pg_get_viewdef(format('%I.%I', v.schemaname, v.viewname)::regclass), 'c = (', 'c <> ('), ';'));
    END LOOP; END $$`);
  t = performance.now();
  const drifted = await detectDrift(admin, plan, { target: "app" });
  const driftChangedMs = performance.now() - t;
  t = performance.now();
  await reconcile(admin, plan, { target: "app" });
  const fixMs = performance.now() - t;
  return {
    tables: SCHEMAS * TABLES_PER_SCHEMA,
    governedViews: views,
    reconcileColdMs: Math.round(reconcileColdMs),
    reconcileColdStatements: applied.statements.length,
    driftCleanMedianMs: Math.round(percentile(ms, 0.5)),
    driftCleanDifferences: clean,
    driftRoundTrips: queries / runs,
    driftWith100ChangedViewsMs: Math.round(driftChangedMs),
    driftWith100ChangedViewsDifferences: drifted.differences.filter((d) => d.kind === "governed").length,
    fixMs: Math.round(fixMs),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  // One server each: roles are the cluster's, and the two plans' roles are both marked for target app of local.
  let db = await startTestPostgres();
  try {
    const point = await pointQueryBench(db);
    await db.stop();
    db = await startTestPostgres();
    const drift = await driftBench(db);
    console.log(
      `point query (${point.queries} sequential): governed view p50 ${point.governedView.p50Ms} ` +
        `ms, backend CPU ${point.governedView.backendCpuMsPerQuery} ms; ` +
        `base table p50 ${point.baseTable.p50Ms} ms, backend CPU ${point.baseTable.backendCpuMsPerQuery} ms (ratio ${point.backendCpuRatio})\n` +
        `  view plan: ${point.governedView.plan}\n  table plan: ${point.baseTable.plan}\n` +
        `drift on ${drift.tables} tables with ${drift.governedViews} governed views: reconcile ` +
        `cold ${drift.reconcileColdMs} ms (${drift.reconcileColdStatements} statements), ` +
        `clean drift ${drift.driftCleanMedianMs} ms (${drift.driftRoundTrips} round trips, ${drift.driftCleanDifferences} differences), ` +
        `100 views changed by hand: ${drift.driftWith100ChangedViewsMs} ms ` +
        `(${drift.driftWith100ChangedViewsDifferences} differences), fixed in ${drift.fixMs} ms`,
    );
    return { pointQuery: point, drift };
  } finally {
    await db.stop();
  }
}
