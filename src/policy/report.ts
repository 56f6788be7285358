/**
 * The result of a policy check as data (`PolicyReport`, printed by `dbwarden check --json` and
 * reused by the pull-request review) and in words.
 */
import type { Policies, Severity } from "@pulumi/policy";
import type { PolicyOutcome } from "./evaluate.ts";

export const POLICY_REPORT_VERSION = "policy-report.dbwarden.dev/v1";

export interface ReportResource {
  urn: string;
  type: string;
  name: string;
}

export interface PolicyViolation {
  policy: string;
  enforcementLevel: "mandatory" | "advisory";
  severity: Severity | null;
  /** The resource in violation, or null when the violation is about the stack as a whole. */
  resource: ReportResource | null;
  /** What is wrong with this resource. */
  message: string;
  /** Why the rule matters (the policy's description). */
  why: string;
  /** How to fix it (the policy's remediation steps). */
  fix: string;
}

/** A policy that could not judge a resource: a value it reads is unknown before deployment. */
export interface PolicyNotJudged {
  policy: string;
  resource: ReportResource | null;
  reason: string;
}

export interface PolicyReport {
  apiVersion: typeof POLICY_REPORT_VERSION;
  stack: string;
  /** False when the stack has no Pulumi deployment (the local stack): nothing was checked. */
  deployed: boolean;
  /** Why nothing was checked, when `deployed` is false. */
  reason: string | null;
  /** The day expiry was judged against (YYYY-MM-DD). */
  asOf: string;
  pack: { name: string; version: string; policies: number };
  /** Resources the program declared (components included). */
  resources: number;
  /** No mandatory violation. */
  passed: boolean;
  summary: { mandatory: number; advisory: number; notJudged: number };
  /** Mandatory first, then advisory; in pack order within each. */
  violations: PolicyViolation[];
  notJudged: PolicyNotJudged[];
  /** What the program logged while it was recorded (plan notes, warnings). */
  programNotes: string[];
}

/** Report fields from the outcomes of a run. */
export function summarize(outcomes: readonly PolicyOutcome[], policies: Policies): Pick<PolicyReport, "passed" | "summary" | "violations" | "notJudged"> {
  const byName = new Map(policies.map((p) => [p.name, p]));
  const violations: PolicyViolation[] = outcomes
    .filter((o) => o.kind === "violation")
    .map((o) => ({
      policy: o.policy,
      enforcementLevel: o.enforcementLevel,
      severity: o.severity,
      resource: o.resource,
      message: o.message,
      why: byName.get(o.policy)?.description ?? "",
      fix: byName.get(o.policy)?.remediationSteps ?? "",
    }));
  violations.sort((a, b) => Number(a.enforcementLevel === "advisory") - Number(b.enforcementLevel === "advisory"));
  const notJudged = outcomes.filter((o) => o.kind === "unknown").map((o) => ({ policy: o.policy, resource: o.resource, reason: o.message }));
  const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory").length;
  return { passed: mandatory === 0, summary: { mandatory, advisory: violations.length - mandatory, notJudged: notJudged.length }, violations, notJudged };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const resourceLabel = (r: ReportResource | null) => (r ? `${r.type} ${r.name}` : "the stack");

/** The report in words: violations grouped by rule, each with why it matters and how to fix it. */
export function formatPolicyReport(report: PolicyReport): string {
  if (!report.deployed) return `Policy check of stack "${report.stack}": nothing to check. ${report.reason}\n`;
  const lines = [
    `Policy check of stack "${report.stack}" as of ${report.asOf}: ${report.pack.name} policy pack ` +
      `${report.pack.version}, ${report.pack.policies} policies, ${plural(report.resources, "resource")}.`,
  ];
  const groups = new Map<string, PolicyViolation[]>();
  for (const v of report.violations) {
    const key = `${v.enforcementLevel}\u0000${v.policy}`;
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  for (const group of groups.values()) {
    const first = group[0]!;
    lines.push("", `${first.enforcementLevel.toUpperCase()} ${first.policy} (${plural(group.length, "violation")})`);
    for (const v of group) lines.push(`  - ${resourceLabel(v.resource)}: ${v.message}`);
    lines.push(`  why: ${first.why}`, `  fix: ${first.fix}`);
  }
  if (report.notJudged.length > 0) {
    lines.push("", `NOT JUDGED (a value they read is unknown until deployment; the pack judges it at \`pulumi up\`)`);
    for (const n of report.notJudged) lines.push(`  - ${n.policy} on ${resourceLabel(n.resource)}: ${n.reason}`);
  }
  const { mandatory, advisory, notJudged } = report.summary;
  lines.push(
    "",
    `${plural(mandatory, "mandatory violation")}, ${plural(advisory, "advisory violation")}, ` +
      `${notJudged} not judged: ${report.passed ? "passed" : "FAILED (a mandatory rule is violated)"}.`,
  );
  return `${lines.join("\n")}\n`;
}
