/**
 * One drift report for both sides of a stack: the database (effective privileges against the
 * plan, src/postgres/drift.ts) and the Pulumi deployment (./pulumi.ts), with one exit code:
 * 3 when either side drifted, else 1 when the Pulumi side could not be checked although it should
 * have been (the CLI is present but the preview failed), else 0. A missing CLI is said in one
 * line and does not fail the run: the database side still answers.
 */
import { EXIT } from "../cli/errors.ts";
import { formatDriftReport, type DriftItem, type DriftReport } from "../postgres/drift.ts";
import type { PulumiDrift } from "./pulumi.ts";

/** What `--fix` did to one target (in `--json`: the target report's `fixed`). */
export interface FixedDrift {
  /** The differences found before the fix, each removed by the reconcile. */
  differences: DriftItem[];
  /** Statements run, in one transaction. */
  statements: number;
}

/** A target's drift report; after `--fix`, with what the fix removed (the report is then the state after it). */
export type TargetDrift = DriftReport & { fixed?: FixedDrift };

export interface StackDriftReport {
  environment: string;
  /** Drift on either side. */
  drift: boolean;
  /** The database side, one report per target (the `targets` of `dbwarden drift --json` before the Pulumi side existed). */
  targets: TargetDrift[];
  /** The Pulumi side, or null when it was not asked for (--no-pulumi). */
  pulumi: PulumiDrift | null;
  /** Targets whose live side `dbwarden drift` does not compare (BigQuery), each with what does check it; absent when none. */
  notCompared?: NotComparedTarget[];
}

/** A target the live side of drift does not read, and why, in words. */
export interface NotComparedTarget {
  target: string;
  platform: string;
  reason: string;
}

export function mergeDrift(environment: string, targets: TargetDrift[], pulumi: PulumiDrift | null, notCompared: NotComparedTarget[] = []): StackDriftReport {
  return {
    environment,
    drift: targets.some((t) => t.drift) || pulumi?.status === "drift",
    targets,
    pulumi,
    ...(notCompared.length > 0 ? { notCompared } : {}),
  };
}

export function driftExitCode(report: StackDriftReport): number {
  if (report.drift) return EXIT.drift;
  if (report.pulumi?.status === "failed") return EXIT.invalidInput;
  return EXIT.ok;
}

function pulumiText(p: PulumiDrift): string {
  const lines = [p.message];
  if (p.status === "drift" && p.changes) {
    for (const c of p.changes.components) {
      lines.push(`  in ${c.component ?? "the stack"}:`);
      for (const s of c.steps) {
        const props = s.properties.map((x) =>
          x.before !== null || x.after !== null ? `${x.name}: ${x.before ?? "(none)"} is deployed, the program says ${x.after ?? "(none)"}` : x.name,
        );
        lines.push(`    - ${s.action} ${s.type} ${s.name}${props.length ? ` (${props.join("; ")})` : ""}`);
        if (s.warning) lines.push(`      ${s.warning}`);
      }
    }
    lines.push("Re-apply the stack (pulumi up) to restore what the program declares, or change the spec if the live state is what you want.");
  }
  return `${lines.join("\n")}\n`;
}

/** Both sides in words: the database reports as before, then the Pulumi side. */
export function formatStackDrift(report: StackDriftReport): string {
  const target = (t: TargetDrift) => `${t.fixed ? `${formatFixedDrift(t, t.fixed)}\n` : ""}${formatDriftReport(t)}`;
  const notCompared = (report.notCompared ?? []).map(
    (t) => `Not compared: environment ${report.environment}, target ${t.target} (${t.platform}): ${t.reason}\n`,
  );
  return [...report.targets.map(target), ...notCompared, ...(report.pulumi ? [pulumiText(report.pulumi)] : [])].join("");
}

/** The fix as text, before the report of the state after it. */
export function formatFixedDrift(report: Pick<DriftReport, "environment" | "target" | "database">, fixed: FixedDrift): string {
  const n = fixed.differences.length;
  const lines = [
    `Fixed in environment ${report.environment}, target ${report.target} (database ${report.database}): ` +
      `${n} difference${n === 1 ? "" : "s"} from the access plan removed, ` +
      `${fixed.statements} statement${fixed.statements === 1 ? "" : "s"} in one transaction:`,
    ...fixed.differences.map((d) => `  - ${d.message}`),
  ];
  return `${lines.join("\n")}\n`;
}
