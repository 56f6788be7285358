/**
 * Drift: the live database's effective access against the plan, in words a reviewer understands.
 * It is the reconciler's comparison (`diff.ts`, against the one model) without the writes, so
 * whatever drift reports, `reconcile` (and `dbwarden drift --fix`) removes, and after a reconcile
 * drift is empty. What Pulumi cannot set on a role (advisory differences) is not reported, so
 * drift after `pulumi up` is empty too.
 */
import type pg from "pg";
import type { AccessPlan } from "../plan/types.ts";
import { compareLiveDatabase, type DifferenceKind } from "./diff.ts";
import { isPostgresTarget } from "./model.ts";

export interface DriftItem {
  kind: DifferenceKind;
  role: string;
  message: string;
  /** SQL that `--fix` would run (never holds a secret: passwords are not compared by drift). */
  fix: string[];
}

export interface DriftReport {
  environment: string;
  target: string;
  database: string;
  drift: boolean;
  differences: DriftItem[];
}

/** Postgres-family targets of a plan (the ones drift can check). */
export function postgresTargets(plan: AccessPlan): string[] {
  return plan.targets.filter(isPostgresTarget).map((t) => t.name);
}

export async function detectDrift(client: pg.ClientBase, plan: AccessPlan, options: { target: string }): Promise<DriftReport> {
  // A read-only transaction: drift detection must never change what it inspects.
  await client.query("BEGIN READ ONLY");
  try {
    const { model, differences: all } = await compareLiveDatabase(client, plan, { target: options.target });
    const differences = all.filter((d) => !d.advisory);
    return {
      environment: plan.environment,
      target: options.target,
      database: model.database,
      drift: differences.length > 0,
      differences: differences.map((d) => ({ kind: d.kind, role: d.role, message: d.message, fix: d.statements.map((s) => s.shown) })),
    };
  } finally {
    await client.query("ROLLBACK").catch(() => {});
  }
}

const HEADINGS: Record<DifferenceKind, string> = {
  "missing-object": "Objects the plan needs but the database lacks",
  "missing-role": "Roles that do not exist",
  "role-attribute": "Role attributes beyond LOGIN",
  "role-marker": "Roles not marked as managed",
  password: "Passwords",
  membership: "Role memberships",
  member: "Other roles holding the agents' access",
  setting: "Role settings",
  ownership: "Ownership",
  privilege: "Privileges",
  public: "What PUBLIC (every role) may do",
  "default-privilege": "Default privileges for future objects",
  "stale-role": "Roles left from removed workflows",
};

/** The report as text: a heading per kind, one line per difference. */
export function formatDriftReport(report: DriftReport): string {
  const where = `environment ${report.environment}, target ${report.target} (database ${report.database})`;
  if (!report.drift) return `No drift: ${where} matches the access plan.\n`;
  const lines = [`Drift found in ${where}: ${report.differences.length} difference${report.differences.length === 1 ? "" : "s"} from the access plan.`];
  const kinds = [...new Set(report.differences.map((d) => d.kind))];
  for (const kind of kinds) {
    lines.push("", `${HEADINGS[kind]}:`);
    for (const d of report.differences.filter((x) => x.kind === kind)) lines.push(`  - ${d.message}`);
  }
  lines.push("", "Run `dbwarden drift --fix` on the local stack, or re-apply the plan, to remove it.");
  return `${lines.join("\n")}\n`;
}
