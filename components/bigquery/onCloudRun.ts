/**
 * A BigQuery target read by an MCP server on Cloud Run (its row of `CLOUDRUN_TARGETS`,
 * components/gcp-cloudrun/targets.ts): the checks BigQuery needs beyond the capability table, the
 * names and plan problems its preflight checks, and its phases:
 * 1. no database of its own (the datasets exist; BigQuery has no replica);
 * 2. per workflow a service account with `roles/bigquery.jobUser` and read on exactly its
 *    authorized views (the BigQuery access component, ./access.ts), then the right of the MCP
 *    server's service account to impersonate each of those accounts (./impersonation.ts).
 * The MCP service then runs each call's job as its workflow's account (`gcpServiceAccount` logins)
 * in the target's project and location (`bigquery` endpoint). No secret, no connector instance.
 */
import * as pulumi from "@pulumi/pulumi";
import { workflowsOf, type AccessPlan, type DatabaseEndpoint, type TargetOf } from "../../src/plan/types.ts";
import { accessComponentOf } from "../targets.ts";
import type { GcpPlannedName } from "../gcp/preflight.ts";
import type {
  CloudRunDeployment,
  CloudRunHost,
  CloudRunTargetAccess,
  CloudRunTargetComponents,
  CloudRunTargetDeployment,
} from "../gcp-cloudrun/targetTypes.ts";
import type { BigQueryReadOnlyAccess } from "./access.ts";
import { BigQueryServerImpersonation } from "./impersonation.ts";
import { bigqueryTargetProblems, workflowServiceAccountId } from "./preflight.ts";

/** A BigQuery target on a Cloud Run host. */
export type BigQueryTarget = TargetOf<"bigquery">;

/**
 * What a BigQuery target needs beyond its platform's capabilities; every message names the field.
 * BigQuery is reached through Google's API with IAM alone: dbwarden sets no network boundary on
 * it, so network settings would promise what nothing enforces and are refused.
 */
export function checkBigQueryTarget(target: BigQueryTarget): BigQueryTarget {
  const field = `targets.${target.name}.network`;
  const { network } = target;
  const set = [
    network.vpcId !== null ? "vpcId" : null,
    network.subnetIds.length > 0 ? "subnetIds" : null,
    network.allowedCidrs.length > 0 ? "allowedCidrs" : null,
    network.publicInternetJustification !== null ? "allowPublicInternet" : null,
  ].filter((key): key is string => key !== null);
  if (set.length > 0) {
    throw new Error(
      `${field}.${set[0]}: a BigQuery target is reached through Google's API with IAM alone and dbwarden sets no network ` +
        `boundary on it; remove ${set.join(", ")} (restrict the project with VPC Service Controls outside dbwarden)`,
    );
  }
  return target;
}

/** Every GCP name a BigQuery target's components give: one service account per workflow. */
export function bigqueryPlannedNames(plan: AccessPlan, target: BigQueryTarget): GcpPlannedName[] {
  return workflowsOf(plan, target.name).map((workflow) => ({
    kind: "serviceAccountId",
    what: `the BigQuery service account of ${workflow.name}`,
    field: `workflows.${workflow.name} (its name)`,
    name: workflowServiceAccountId(workflow.name),
  }));
}

/**
 * What the plan alone shows a BigQuery deployment would fail on, or should not do: dataset, view and
 * service account ids GCP refuses (./preflight.ts), a workflow whose jobs have no bytes-billed cap
 * (the server would refuse all its calls), a target no workflow reads.
 */
export function bigqueryPlanProblems(plan: AccessPlan, target: BigQueryTarget): string[] {
  const problems = bigqueryTargetProblems(plan, target);
  const workflows = workflowsOf(plan, target.name);
  for (const workflow of workflows) {
    if (workflow.limits.maxBytesBilled === null) {
      problems.push(
        `workflows.${workflow.name}.limits.maxBytesBilled: a BigQuery job without a ` +
          `bytes-billed cap is refused; set it, or targets.${target.name}.maximumBytesBilled`,
      );
    }
  }
  if (workflows.length === 0) problems.push(`targets.${target.name}: no workflow reads this target; remove it or enable a workflow`);
  return problems;
}

/** The endpoint the server runs jobs at: the target's project (its `database`) and location. */
export function bigqueryEndpoint(target: BigQueryTarget): DatabaseEndpoint {
  return { bigquery: { project: target.database, location: target.platformSettings.location } };
}

/** The address agents' queries go to (stack output `replicaAddresses`): BigQuery's REST API for the project. */
export function bigqueryAddress(project: string): string {
  return `https://bigquery.googleapis.com/bigquery/v2/projects/${project}`;
}

/**
 * The filter of the BigQuery data access audit log of the target's project, for calls made by
 * dbwarden's service accounts (`dbw-...`): every job a workflow runs, with its labels.
 */
export function bigqueryAuditFilter(project: string): string {
  const escaped = project.replaceAll(".", "\\\\.");
  return (
    `logName="projects/${project}/logs/cloudaudit.googleapis.com%2Fdata_access" AND protoPayload.serviceName="bigquery.googleapis.com" ` +
    `AND protoPayload.authenticationInfo.principalEmail=~"^dbw-[a-z0-9-]+@${escaped}\\\\.iam\\\\.gserviceaccount\\\\.com$"`
  );
}

/** One BigQuery target being deployed under the Cloud Run host's top-level component. */
class BigQueryDeployment implements CloudRunTargetDeployment {
  readonly logFilters: CloudRunTargetDeployment["logFilters"];

  constructor(
    private readonly deployment: CloudRunDeployment,
    private readonly target: BigQueryTarget,
  ) {
    const project = target.database;
    const { host, parent } = deployment;
    // The log sinks live in the host's project and see its logs only: a target in another project
    // keeps its job history in that project (INFORMATION_SCHEMA.JOBS, Cloud Audit Logs).
    this.logFilters =
      project === host.project ? [{ target: target.name, filter: bigqueryAuditFilter(project), retentionDays: target.logging.retentionDays }] : [];
    if (project !== host.project) {
      void pulumi.log.warn(
        `target ${target.name}: its jobs' audit log stays in project ${project} (the log buckets ` +
          `are in ${host.project}); route it there to keep it ${target.logging.retentionDays} days`,
        parent,
      );
    }
  }

  createDatabase(): void {
    // BigQuery has no replica: the workflows read authorized views of the datasets that exist.
  }

  createAccess(): CloudRunTargetAccess {
    const { target } = this;
    const { name, args, plan, parent, serverAccount } = this.deployment;
    const component = accessComponentOf(target);
    const access = component.create(`${name}-${target.name}`, component.argsFor(args, target, {}), { parent }) as BigQueryReadOnlyAccess;
    const impersonation = new BigQueryServerImpersonation(
      `${name}-${target.name}-impersonation`,
      { plan, target: target.name, project: target.database, serviceAccounts: access.serviceAccounts, serverAccount },
      { parent },
    );
    return {
      ready: [access, impersonation, ...impersonation.ready],
      endpoint: pulumi.output(bigqueryEndpoint(target)),
      address: pulumi.output(bigqueryAddress(target.database)),
      logins: impersonation.logins,
      secretIds: {},
      connectorInstances: [],
    };
  }
}

/** BigQuery on a Cloud Run host. */
export const BIGQUERY_ON_CLOUDRUN: CloudRunTargetComponents<"bigquery"> = {
  check: (target) => checkBigQueryTarget(target),
  plannedNames: bigqueryPlannedNames,
  planProblems: (plan, target, _host: CloudRunHost) => bigqueryPlanProblems(plan, target),
  // Nothing to look up: the datasets' columns come from the catalog snapshot, which the views are checked against.
  lookUpProblems: () => Promise.resolve([]),
  deploy: (deployment, target) => new BigQueryDeployment(deployment, target),
};
