/**
 * `cloud-sql-query-logging` (mandatory): a Cloud SQL read replica, where agents' queries run, logs
 * every statement they send: pgaudit (`cloudsql.enable_pgaudit=on` and a `pgaudit.log` holding
 * `read` or `all`) or `log_statement=all`; and it logs connections. Without these flags Cloud
 * Logging has nothing of the agents' SQL to keep, whatever its retention.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { DatabaseInstance } from "@pulumi/gcp/sql/databaseInstance.js";

/** Whether the flags log agents' statements, and why not. */
export function cloudSqlLoggingProblems(flags: readonly { name: string; value: string }[]): string[] {
  const value = new Map(flags.map((f) => [f.name, f.value.toLowerCase()]));
  const pgauditClasses = (value.get("pgaudit.log") ?? "").split(",").map((c) => c.trim());
  const pgaudit = value.get("cloudsql.enable_pgaudit") === "on" && (pgauditClasses.includes("read") || pgauditClasses.includes("all"));
  const problems: string[] = [];
  if (!pgaudit && value.get("log_statement") !== "all") {
    problems.push("logs no agent statement: set cloudsql.enable_pgaudit=on with pgaudit.log including read, or log_statement=all");
  }
  if (value.get("log_connections") !== "on") problems.push("does not log connections (log_connections=on)");
  return problems;
}

export const cloudSqlQueryLogging: ResourceValidationPolicy = {
  name: "cloud-sql-query-logging",
  description: "Cloud SQL read replicas, where agents' queries run, log every agent statement (pgaudit or log_statement) and every connection.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set `logging.statements: pgaudit` (flags cloudsql.enable_pgaudit and pgaudit.log) or `log-statement` on " +
    "the target: dbwarden's replica carries the flags. A hand-written replica needs the same databaseFlags.",
  validateResource: validateResourceOfType(DatabaseInstance, (instance, _args, report) => {
    const replica = instance.instanceType === "READ_REPLICA_INSTANCE" || (instance.masterInstanceName ?? "") !== "";
    if (!replica) return;
    for (const problem of cloudSqlLoggingProblems(instance.settings?.databaseFlags ?? []))
      report(`Cloud SQL replica ${instance.name ?? "(auto-named)"} ${problem}`);
  }),
};
