/**
 * The GCP preflight of an environment on a Cloud Run host: what GCP would refuse deep inside
 * `pulumi up` (after other resources exist), checked at preview before anything is created. It
 * reads the plan (every name the components give against its kind's limit, the labels, each
 * target's plan problems) and what GCP says about the primaries the spec names (their engine and
 * the flags IAM logins and pgaudit need there). Every check is a pure exported function, tested on
 * its own; each problem names the spec field and the fix, never a secret's value.
 */
import * as pulumi from "@pulumi/pulumi";
import { getDatabaseInstance } from "@pulumi/gcp/sql/getDatabaseInstance.js";
import { environmentFile, projectRoot } from "../../src/spec/project.ts";
import type { AccessPlan } from "../../src/plan/types.ts";
import { sharedLabels, loginLabels } from "../gcp/labels.ts";
import { cloudRunServiceName, configBucketName, gcpApiKeysSecretId, logBucketId, mcpServiceAccountId } from "../../src/names/gcp.ts";
import { gcpNameProblems, labelProblems, type GcpPlannedName, type GcpPreflightLookups } from "../gcp/preflight.ts";
import { checkCloudRunPlan } from "./governedCloudRun.ts";
import { forCloudRunTarget } from "./targets.ts";
import type { CloudRunHost, GcpTarget } from "./targetTypes.ts";

/** Every GCP name the components give for `plan` on a Cloud Run host. */
export function plannedGcpNames(plan: AccessPlan, host: CloudRunHost, targets: readonly GcpTarget[]): GcpPlannedName[] {
  const env = plan.environment;
  const field = `name (the environment "${env}")`;
  const names: GcpPlannedName[] = [
    { kind: "cloudRunName", what: "the MCP Cloud Run service", field, name: cloudRunServiceName(env) },
    { kind: "serviceAccountId", what: "the MCP server's service account", field, name: mcpServiceAccountId(env) },
    { kind: "secretId", what: "the API key secret", field, name: gcpApiKeysSecretId(env) },
    { kind: "bucketName", what: "the config bucket", field: `mcpServer.host.project and ${field}`, name: configBucketName(host.project, env) },
    { kind: "secretId", what: "the MCP audit log bucket", field, name: logBucketId(env, "mcp-audit") },
  ];
  for (const target of targets) names.push(...forCloudRunTarget(target, (components, t) => components.plannedNames(plan, t)));
  return names;
}

/** Labels GCP would refuse: the shared ones and each login secret's. */
export function plannedLabelProblems(plan: AccessPlan): string[] {
  const problems = labelProblems(sharedLabels(plan), "the environment's labels (owner, environment)");
  for (const workflow of plan.workflows) {
    for (const login of workflow.roles.logins) {
      problems.push(
        ...labelProblems(
          loginLabels(plan.environment, workflow, login, workflow.target),
          `workflows.${workflow.name}.clients.${login.client} (its secret's labels)`,
        ),
      );
    }
  }
  return problems;
}

/** The real lookups: provider invokes, which run during a preview too. */
export const GCP_LOOKUPS: GcpPreflightLookups = {
  sqlInstance: (project, name) => getDatabaseInstance({ project, name }),
};

/** Every problem of the plan on a Cloud Run host: names, labels, each target's plan problems and primary. */
export async function gcpPreflightProblems(plan: AccessPlan, lookups: GcpPreflightLookups = GCP_LOOKUPS): Promise<string[]> {
  const { targets, host } = checkCloudRunPlan(plan);
  const problems = [...gcpNameProblems(plannedGcpNames(plan, host, targets)), ...plannedLabelProblems(plan)];
  for (const target of targets) problems.push(...forCloudRunTarget(target, (components, t) => components.planProblems(plan, t, host)));
  const looked = await Promise.all(targets.map((target) => forCloudRunTarget(target, (components, t) => components.lookUpProblems(t, lookups))));
  problems.push(...looked.flat());
  return problems;
}

/** Runs the preflight; rejects with a `RunError` listing every problem, naming the environment file. */
export async function preflightGcp(plan: AccessPlan, lookups: GcpPreflightLookups = GCP_LOOKUPS): Promise<void> {
  const problems = await gcpPreflightProblems(plan, lookups);
  if (problems.length === 0) return;
  const file = environmentFile(plan.environment, projectRoot(process.cwd()));
  throw new pulumi.RunError(`${file}: GCP would refuse this deployment:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
}
