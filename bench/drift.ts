/**
 * Drift against a large catalog: 10,000 tables (50 schemas x 200 tables, 6 columns each) and 200
 * workflow roles (50 workflows x 1 group + 3 logins, each workflow reading 40 tables with column
 * grants). Measures the reconcile that sets it up, drift on the clean database, drift with
 * 1,000 out-of-band PUBLIC grants, and drift with 1,000 routines in the planned schemas that
 * PUBLIC may execute (half SECURITY DEFINER); and counts catalog round trips.
 */
import { startTestPostgres } from "../test/support/postgres.ts";
import type { AccessPlan } from "../src/plan/types.ts";
import { SCHEMAS, syntheticPlan, TABLES_PER_SCHEMA } from "./lib/synthetic-plan.ts";
import { detectDrift } from "../src/postgres/drift.ts";
import { reconcile } from "../src/postgres/reconcile.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** `runs` drift runs on the database as it is: the median time and the last report. */
async function timedDrift(admin: Parameters<typeof detectDrift>[0], plan: AccessPlan, runs: number) {
  const ms: number[] = [];
  let report: Awaited<ReturnType<typeof detectDrift>> | undefined;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    report = await detectDrift(admin, plan, { target: "app" });
    ms.push(performance.now() - t);
  }
  return { medianMs: Math.round(median(ms)), report: report! };
}

export async function run(): Promise<Record<string, unknown>> {
  const db = await startTestPostgres();
  try {
    const database = await db.createDatabase("bench_drift");
    const admin = await db.admin(database);
    let t = performance.now();
    // One transaction per schema: 10,000 CREATE TABLEs in one would exhaust the lock table.
    for (let s = 0; s < SCHEMAS; s++) {
      await admin.query(`CREATE SCHEMA s${s}; DO $$ BEGIN
        FOR i IN 0..${TABLES_PER_SCHEMA - 1} LOOP
          EXECUTE format('CREATE TABLE s${s}.t%s (id bigint, a text, b text, c int, d timestamptz, secret text)', i);
        END LOOP; END $$`);
    }
    const createMs = performance.now() - t;
    const plan = syntheticPlan({ database, logins: 3, governed: false, now: new Date("2026-01-15T00:00:00Z") });
    const roles = plan.workflows.reduce((n, w) => n + 1 + w.roles.logins.length, 0);

    t = performance.now();
    const applied = await reconcile(admin, plan, { target: "app" });
    const reconcileColdMs = performance.now() - t;
    t = performance.now();
    const noop = await reconcile(admin, plan, { target: "app" });
    const reconcileWarmMs = performance.now() - t;

    let queries = 0;
    const original = admin.query.bind(admin);
    (admin as unknown as { query: unknown }).query = (...args: unknown[]) => {
      queries += 1;
      return (original as (...a: unknown[]) => unknown)(...args);
    };
    const clean = await timedDrift(admin, plan, 5);
    const roundTripsPerDrift = queries / 5;
    (admin as unknown as { query: unknown }).query = original;

    await admin.query(`DO $$ BEGIN FOR i IN 0..999 LOOP EXECUTE format('GRANT SELECT ON s%s.t%s TO PUBLIC', i % ${SCHEMAS}, i / ${SCHEMAS}); END LOOP; END $$`);
    const drifted = await timedDrift(admin, plan, 3);
    await admin.query(`DO $$ BEGIN FOR i IN 0..999 LOOP
        EXECUTE format('CREATE FUNCTION s%s.f%s() RETURNS int LANGUAGE sql %s AS ''SELECT 1''', i % ${SCHEMAS}, i, CASE WHEN i % 2 = 0 THEN 'SECURITY DEFINER' ELSE '' END);
        EXECUTE format('GRANT EXECUTE ON FUNCTION s%s.f%s() TO PUBLIC', i % ${SCHEMAS}, i);
      END LOOP; END $$`);
    const withFunctions = await timedDrift(admin, plan, 3);
    const result = {
      tables: SCHEMAS * TABLES_PER_SCHEMA,
      roles,
      createCatalogMs: Math.round(createMs),
      reconcileColdMs: Math.round(reconcileColdMs),
      reconcileColdStatements: applied.statements.length,
      reconcileNoopMs: Math.round(reconcileWarmMs),
      reconcileNoopChanged: noop.changed,
      driftCleanMedianMs: clean.medianMs,
      driftCleanDifferences: clean.report.differences.length,
      driftRoundTrips: roundTripsPerDrift,
      driftWith1000PublicGrantsMedianMs: drifted.medianMs,
      driftWith1000PublicGrantsDifferences: drifted.report.differences.length,
      driftWith1000RoutinesMedianMs: withFunctions.medianMs,
      driftWith1000RoutinesFunctionDifferences: withFunctions.report.differences.filter((d) => d.kind === "function").length,
    };
    console.log(
      `drift on ${result.tables} tables / ${roles} roles: clean ${result.driftCleanMedianMs} ms (${roundTripsPerDrift} round trips), ` +
        `with 1,000 PUBLIC grants ${result.driftWith1000PublicGrantsMedianMs} ms (${result.driftWith1000PublicGrantsDifferences} differences), ` +
        `and 1,000 routines PUBLIC may execute ${result.driftWith1000RoutinesMedianMs} ` +
        `ms (${result.driftWith1000RoutinesFunctionDifferences} routine differences); ` +
        `reconcile cold ${result.reconcileColdMs} ms (${result.reconcileColdStatements} statements), no-op ${result.reconcileNoopMs} ms`,
    );
    return result;
  } finally {
    await db.stop();
  }
}
