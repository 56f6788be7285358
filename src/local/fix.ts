/**
 * `dbwarden drift --fix` (local stack only): the reconcile, reported as what it fixed. The report
 * says which differences were removed and how, then the state after (normally "No drift").
 */
import type pg from "pg";
import type { AccessPlan } from "../plan/types.ts";
import type { FixedDrift } from "../drift/report.ts";
import { detectDrift, type DriftOptions, type DriftReport } from "../postgres/drift.ts";
import { reconcile } from "../postgres/reconcile.ts";

/** Reconcile the target, then read its drift again. Throws `ReconcileError` (nothing changed). */
export async function fixDrift(
  client: pg.ClientBase,
  plan: AccessPlan,
  before: DriftReport,
  options: DriftOptions = { target: before.target },
): Promise<{ report: DriftReport; fixed: FixedDrift }> {
  const result = await reconcile(client, plan, { target: before.target });
  const report = await detectDrift(client, plan, options);
  return { report, fixed: { differences: before.differences, statements: result.statements.length } };
}
