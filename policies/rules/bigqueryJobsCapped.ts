/**
 * `bigquery-jobs-capped`: every BigQuery workflow the MCP server serves has a bytes-billed cap per
 * call (`limits.maxBytesBilled` in its plan): without one, a single agent query can scan, and
 * bill, a whole warehouse. Judged on the server's plan where a host delivers it (the ECS task
 * definition's `DBWARDEN_PLAN`). The server refuses to run a job for such a workflow too; this
 * rule stops it at deployment.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { TaskDefinition } from "@pulumi/aws/ecs/taskDefinition.js";
import { PLAN_ENV } from "@dbwarden/contract";
import { containersOf, environmentValue, isRecord, parseJsonInput } from "../lib/inputs.ts";

interface PlanShape {
  targets?: Array<{ name?: string; platform?: string }>;
  workflows?: Array<{ name?: string; target?: string; limits?: { maxBytesBilled?: unknown } }>;
}

/** The BigQuery workflows of a plan without a bytes-billed cap. */
export function uncappedBigQueryWorkflows(plan: unknown): string[] {
  if (!isRecord(plan)) return [];
  const { targets = [], workflows = [] } = plan as PlanShape;
  const bigquery = new Set(targets.filter((t) => t.platform === "bigquery").map((t) => t.name));
  return workflows.filter((w) => bigquery.has(w.target) && typeof w.limits?.maxBytesBilled !== "number").map((w) => String(w.name));
}

export const bigqueryJobsCapped: ResourceValidationPolicy = {
  name: "bigquery-jobs-capped",
  description:
    "Every BigQuery workflow has a bytes-billed cap per call (maximumBytesBilled on each query job), so no agent query can scan and bill a whole warehouse.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    'Set `limits.maxBytesBilled` on the workflow (e.g. "1GB"), or `maximumBytesBilled` ' +
    "on its BigQuery target (the default of its workflows), and deploy the new plan.",
  validateResource: [
    validateResourceOfType(TaskDefinition, (task, _args, report) => {
      for (const container of containersOf(task.containerDefinitions) ?? []) {
        for (const name of uncappedBigQueryWorkflows(parseJsonInput(environmentValue(container, PLAN_ENV.text)))) {
          report(`the MCP server's plan serves BigQuery workflow ${name} without a bytes-billed cap (limits.maxBytesBilled)`);
        }
      }
    }),
  ],
};
