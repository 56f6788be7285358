/**
 * `bigquery-agents-read-views-only`: a dbwarden workflow's service account (`dbw-<workflow>`) reads
 * BigQuery only through its own authorized views (datasets `dbw_<workflow>`), never through a grant
 * on a table or dataset of the source data: BigQuery has no column grants, so a grant on a source
 * table is a whole-table grant, and hands the agent every column its workflow excludes (and every
 * sensitive one). Judged on table IAM (`bigquery.IamMember`, `IamBinding`), dataset IAM
 * (`DatasetIamMember`, `DatasetIamBinding`) and dataset access entries (`DatasetAccess` with
 * `iamMember` or `userByEmail`).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { DatasetAccess } from "@pulumi/gcp/bigquery/datasetAccess.js";
import { DatasetIamBinding } from "@pulumi/gcp/bigquery/datasetIamBinding.js";
import { DatasetIamMember } from "@pulumi/gcp/bigquery/datasetIamMember.js";
import { IamBinding } from "@pulumi/gcp/bigquery/iamBinding.js";
import { IamMember } from "@pulumi/gcp/bigquery/iamMember.js";

/** A workflow's service account, as a member (`serviceAccount:dbw-...@<project>.iam.gserviceaccount.com`) or an email. */
export function isAgentAccount(member: unknown): boolean {
  return typeof member === "string" && /^(serviceAccount:)?dbw-[-a-z0-9]*@[-a-z0-9]+\.iam\.gserviceaccount\.com$/.test(member);
}

/** A dataset holding a workflow's authorized views (`bigqueryViewDataset`: `dbw_<workflow>`). */
export function isViewDataset(datasetId: unknown): boolean {
  return typeof datasetId === "string" && datasetId.startsWith("dbw_");
}

function judge(props: { datasetId?: unknown; tableId?: unknown; role?: unknown }, members: unknown[], report: (message: string) => void): void {
  if (isViewDataset(props.datasetId)) return;
  const where = props.tableId ? `table ${String(props.datasetId)}.${String(props.tableId)}` : `dataset ${String(props.datasetId)}`;
  for (const member of members.filter(isAgentAccount)) {
    report(
      `${where} grants ${String(props.role ?? "access")} to workflow account ${String(member)}: ` +
        `a whole-table grant gives it every column, excluded and sensitive ones too`,
    );
  }
}

export const bigqueryAgentsReadViewsOnly: ResourceValidationPolicy = {
  name: "bigquery-agents-read-views-only",
  description:
    "A workflow's BigQuery service account reads only its own authorized views, never a source table or " +
    "dataset: BigQuery has no column grants, so a table grant exposes every column the workflow excludes.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Remove the grant to the workflow's service account. dbwarden gives it roles/bigquery.dataViewer on its own dataset " +
    "dbw_<workflow> of authorized views, which select exactly its readable columns; widen the workflow's scope in its spec instead.",
  validateResource: [
    validateResourceOfType(IamMember, (grant, _args, report) => judge(grant, [grant.member], report)),
    validateResourceOfType(IamBinding, (grant, _args, report) => judge(grant, grant.members ?? [], report)),
    validateResourceOfType(DatasetIamMember, (grant, _args, report) => judge(grant, [grant.member], report)),
    validateResourceOfType(DatasetIamBinding, (grant, _args, report) => judge(grant, grant.members ?? [], report)),
    validateResourceOfType(DatasetAccess, (access, _args, report) => judge(access, [access.iamMember, access.userByEmail], report)),
  ],
};
