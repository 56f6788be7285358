/**
 * `log-retention`: the log groups holding query and audit logs keep them at least
 * `minRetentionDays`. Judges `cloudwatch.LogGroup`s named like RDS log exports
 * (`/aws/rds/...`) or dbwarden's groups (`/dbwarden/...`), or tagged `dbwarden:*`. A group without
 * `retentionInDays` keeps logs forever, which satisfies the minimum.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { LogGroup } from "@pulumi/aws/cloudwatch/logGroup.js";
import { configOf, configSchema } from "../lib/config.ts";
import { tagsOf } from "../lib/inputs.ts";

const CONFIG = ["minRetentionDays"] as const;

/** Is this a log group of query or audit logs? */
export function holdsQueryLogs(group: { name?: string | undefined; tags?: Record<string, unknown> }): boolean {
  const name = group.name ?? "";
  return name.startsWith("/aws/rds/") || name.startsWith("/dbwarden/") || Object.keys(group.tags ?? {}).some((k) => k.startsWith("dbwarden:"));
}

export const logRetention: ResourceValidationPolicy = {
  name: "log-retention",
  description:
    "Query and audit logs are kept at least minRetentionDays: who read what must " +
    "still be answerable when an incident or an access review comes up months later.",
  enforcementLevel: "mandatory",
  severity: "medium",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Raise the retention: `logging.retentionDays` of the target (database logs) and `mcpServer.auditRetentionDays` " +
    "(MCP audit) in the environment's spec, or `retentionInDays` on a hand-written LogGroup.",
  validateResource: validateResourceOfType(LogGroup, (group, args, report) => {
    if (!holdsQueryLogs({ name: group.name, tags: tagsOf(group) })) return;
    const { minRetentionDays } = configOf(args, ...CONFIG);
    const days = group.retentionInDays;
    if (typeof days === "number" && days > 0 && days < minRetentionDays) {
      report(`log group ${group.name ?? "(auto-named)"} keeps logs ${days} days, less than ${minRetentionDays}`);
    }
  }),
};
