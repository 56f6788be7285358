/**
 * `dbwarden drift --fix` (local stack only): the reconcile, reported as what it fixed. The report
 * says which differences were removed and how, then the state after (normally "No drift").
 */
import type pg from "pg";
import type { AccessPlan } from "../plan/types.ts";
import { detectDrift, type DriftItem, type DriftReport } from "../postgres/drift.ts";
import { reconcile } from "../postgres/reconcile.ts";

/** What `--fix` did to one target (in `--json`: the target report's `fixed`). */
export interface FixedDrift {
  /** The differences found before the fix, each removed by the reconcile. */
  differences: DriftItem[];
  /** Statements run, in one transaction. */
  statements: number;
}

/** Reconcile the target, then read its drift again. Throws `ReconcileError` (nothing changed). */
export async function fixDrift(client: pg.ClientBase, plan: AccessPlan, before: DriftReport): Promise<{ report: DriftReport; fixed: FixedDrift }> {
  const result = await reconcile(client, plan, { target: before.target });
  const report = await detectDrift(client, plan, { target: before.target });
  return { report, fixed: { differences: before.differences, statements: result.statements.length } };
}

/** The fix as text, before the report of the state after it. */
export function formatFixedDrift(report: Pick<DriftReport, "environment" | "target" | "database">, fixed: FixedDrift): string {
  const n = fixed.differences.length;
  const lines = [
    `Fixed in environment ${report.environment}, target ${report.target} (database ${report.database}): ` +
      `${n} difference${n === 1 ? "" : "s"} from the access plan removed, ${fixed.statements} statement${fixed.statements === 1 ? "" : "s"} in one transaction:`,
    ...fixed.differences.map((d) => `  - ${d.message}`),
  ];
  return `${lines.join("\n")}\n`;
}
