/**
 * Drift: the live database's effective access against the plan, in words a reviewer understands.
 * It is the reconciler's comparison (`diff.ts`, against the one model) without the writes, so
 * whatever drift reports, `reconcile` (and `dbwarden drift --fix`) removes, and after a reconcile
 * drift is empty. What Pulumi cannot set on a role (advisory differences) is not reported, so
 * drift after `pulumi up` is empty too.
 *
 * Two exceptions, both reported and neither run: what PUBLIC holds on a target whose spec leaves
 * PUBLIC alone (beyond the plan: drift; PostgreSQL's defaults a reviewer may accept: notices, apart
 * from the drift), and a catalog snapshot (`stacks/catalog/<env>.json`) whose tables' columns no
 * longer match the live ones (drift: the Pulumi component grants from it; `dbwarden catalog`
 * refreshes it).
 */
import type pg from "pg";
import type { AccessPlan } from "../plan/types.ts";
import { catalogColumns } from "./catalog.ts";
import { compareLiveDatabase, type DifferenceKind } from "./diff.ts";
import { isPostgresTarget, plannedTables } from "./model.ts";
import { catalogCommand, staleTables, type CatalogSnapshot, type StaleTable } from "./snapshot.ts";

/** What only a warehouse's drift reports (src/bigquery/drift.ts): its access lists, views and project roles. */
export type WarehouseDriftKind = "dataset-access" | "view" | "authorized-view" | "project-role";

export interface DriftItem {
  kind: DifferenceKind | "stale-catalog" | WarehouseDriftKind;
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
  /**
   * What PUBLIC gives the agents that is not drift (PostgreSQL's defaults on a target whose spec
   * leaves PUBLIC alone, routines that run with the caller's rights): for a reviewer to decide
   * on; never changes the exit code.
   */
  notices: DriftItem[];
}

export interface DriftOptions {
  target: string;
  /** The stack's committed catalog snapshot, to report where it is stale; `source` names it. */
  snapshot?: { catalog: CatalogSnapshot; source: string };
}

/** Postgres-family targets of a plan (the ones drift can check). */
export function postgresTargets(plan: AccessPlan): string[] {
  return plan.targets.filter(isPostgresTarget).map((t) => t.name);
}

export async function detectDrift(client: pg.ClientBase, plan: AccessPlan, options: DriftOptions): Promise<DriftReport> {
  // A read-only transaction: drift detection must never change what it inspects.
  await client.query("BEGIN READ ONLY");
  try {
    const { model, catalog, differences: all } = await compareLiveDatabase(client, plan, { target: options.target });
    const item = (d: (typeof all)[number]): DriftItem => ({ kind: d.kind, role: d.role, message: d.message, fix: d.statements.map((s) => s.shown) });
    const live = catalogColumns(catalog);
    const stale = options.snapshot ? staleTables(options.snapshot.catalog, plannedTables(plan, options.target), (s, t) => live.columnsOf(s, t)) : [];
    const differences = [...all.filter((d) => d.level === "drift").map(item), ...stale.map((t) => staleItem(t, options.snapshot!.source, plan.environment))];
    return {
      environment: plan.environment,
      target: options.target,
      database: model.database,
      drift: differences.length > 0,
      differences,
      notices: all.filter((d) => d.level === "notice").map(item),
    };
  } finally {
    await client.query("ROLLBACK").catch(() => {});
  }
}

/** A planned table whose live columns differ from the snapshot's, in words, with how to refresh it. */
function staleItem(t: StaleTable, source: string, environment: string): DriftItem {
  const changes = t.missing
    ? [`it does not list ${t.table}, which the workflows read`]
    : [
        t.added.length > 0 ? `columns added in the database: ${t.added.join(", ")}` : null,
        t.removed.length > 0 ? `columns it lists that the table no longer has: ${t.removed.join(", ")}` : null,
      ].filter((x): x is string => x !== null);
  return {
    kind: "stale-catalog",
    role: "",
    message:
      `${source} is stale for ${t.table} (${changes.join("; ")}): the Pulumi component grants ` +
      `from it. Refresh it with \`${catalogCommand(environment)}\` and review the diff`,
    fix: [],
  };
}

const HEADINGS: Record<DriftItem["kind"], string> = {
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
  function: "Routines the agents can execute",
  "stale-catalog": "The catalog snapshot the Pulumi component grants from",
  "default-privilege": "Default privileges for future objects",
  governed: "Masked, filtered and reporting views (and what they read)",
  "stale-role": "Roles left from removed workflows",
  "dataset-access": "Who may read the workflows' view datasets (their access lists)",
  view: "The workflows' views (what each selects, and tables the plan does not know)",
  "authorized-view": "Authorized views on the source datasets",
  "project-role": "Project roles of the workflows' service accounts",
};

/** Kinds whose differences without a fix are the PostgreSQL exceptions (PUBLIC, the snapshot); a warehouse's lines each say what to run. */
const WAREHOUSE_KINDS: ReadonlySet<DriftItem["kind"]> = new Set<WarehouseDriftKind>(["dataset-access", "view", "authorized-view", "project-role"]);

/** The report as text: a heading per kind, one line per difference. */
export function formatDriftReport(report: DriftReport): string {
  const where = `environment ${report.environment}, target ${report.target} (database ${report.database})`;
  const notices =
    report.notices.length === 0
      ? []
      : [
          "",
          "Not drift, for the reviewer: what every agent can do through PUBLIC (every role) that the plan leaves to the database's owners:",
          ...report.notices.map((d) => `  - ${d.message}`),
        ];
  if (!report.drift) return `${[`No drift: ${where} matches the access plan.`, ...notices].join("\n")}\n`;
  const lines = [`Drift found in ${where}: ${report.differences.length} difference${report.differences.length === 1 ? "" : "s"} from the access plan.`];
  const kinds = [...new Set(report.differences.map((d) => d.kind))];
  for (const kind of kinds) {
    lines.push("", `${HEADINGS[kind]}:`);
    for (const d of report.differences.filter((x) => x.kind === kind)) lines.push(`  - ${d.message}`);
  }
  const fixable = report.differences.some((d) => d.fix.length > 0);
  const manual = report.differences.some((d) => d.fix.length === 0 && d.kind !== "missing-object" && !WAREHOUSE_KINDS.has(d.kind));
  if (fixable && report.differences.some((d) => d.fix.length > 0 && WAREHOUSE_KINDS.has(d.kind)))
    lines.push("", "Run `dbwarden drift --fix` to remove the access entries the plan does not give (each dataset written only if unchanged since read).");
  else if (fixable) lines.push("", "Run `dbwarden drift --fix` on the local stack, or re-apply the plan, to remove what dbwarden manages.");
  if (manual)
    lines.push(
      "",
      "What PUBLIC holds on a target that leaves PUBLIC alone, and a stale catalog snapshot, are not changed by re-applying: each line says what to do.",
    );
  lines.push(...notices);
  return `${lines.join("\n")}\n`;
}
