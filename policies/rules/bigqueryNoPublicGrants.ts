/**
 * `bigquery-no-public-grants`: no BigQuery dataset, table or view is granted to `allUsers` or
 * `allAuthenticatedUsers` (table IAM `bigquery.IamMember` / `IamBinding`, dataset IAM
 * `DatasetIamMember` / `DatasetIamBinding`, dataset access entries `DatasetAccess`). Either opens
 * the data to anyone with a Google account, past every control dbwarden puts in front of it.
 * The same for a dataset's own access list (`Dataset` `accesses`); and a dbwarden view dataset
 * (`dbw_<workflow>`) states its list (without one BigQuery adds projectReaders READER: every project
 * Viewer reads the workflow's views) and admits no special group but the project's owners as OWNER
 * (BigQuery needs an owner; components/bigquery/plan.ts `VIEW_DATASET_OWNER` says why them), and
 * no domain.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { Dataset } from "@pulumi/gcp/bigquery/dataset.js";
import { DatasetAccess } from "@pulumi/gcp/bigquery/datasetAccess.js";
import { DatasetIamBinding } from "@pulumi/gcp/bigquery/datasetIamBinding.js";
import { DatasetIamMember } from "@pulumi/gcp/bigquery/datasetIamMember.js";
import { IamBinding } from "@pulumi/gcp/bigquery/iamBinding.js";
import { IamMember } from "@pulumi/gcp/bigquery/iamMember.js";
import { isViewDataset } from "./bigqueryAgentsReadViewsOnly.ts";

/** The principals that mean "everyone": every caller, or every Google account. */
export const PUBLIC_PRINCIPALS = ["allUsers", "allAuthenticatedUsers"] as const;

/** The public principals among `members`. */
export function publicMembers(members: readonly unknown[]): string[] {
  return members.filter((m): m is string => typeof m === "string" && (PUBLIC_PRINCIPALS as readonly string[]).includes(m));
}

interface AccessEntry {
  role?: string;
  specialGroup?: string;
  iamMember?: string;
  domain?: string;
}

/** What a dataset's access list opens beyond named identities: public principals anywhere; on a view dataset, also special groups and domains. */
export function datasetAccessProblems(datasetId: unknown, accesses: readonly AccessEntry[] | undefined): string[] {
  const dataset = `dataset ${String(datasetId)}`;
  const problems = (accesses ?? []).flatMap((a) =>
    publicMembers([a.iamMember, a.specialGroup]).map((m) => `${dataset} gives access (${a.role ?? "a role"}) to ${m}: anyone can read it`),
  );
  if (!isViewDataset(datasetId)) return problems;
  if (accesses === undefined)
    return [`${dataset} holds a workflow's views and has no access list: BigQuery adds projectReaders as READER, so every project Viewer reads them`];
  for (const a of accesses) {
    const group = a.specialGroup && !publicMembers([a.specialGroup]).length ? a.specialGroup : undefined;
    if (group && !(group === "projectOwners" && a.role === "OWNER"))
      problems.push(`${dataset} holds a workflow's views and gives ${a.role ?? "a role"} to the special group ${group}: its members read the workflow's data`);
    if (a.domain)
      problems.push(`${dataset} holds a workflow's views and gives ${a.role ?? "a role"} to the domain ${a.domain}: everyone there reads the workflow's data`);
  }
  return problems;
}

const where = (props: { datasetId?: unknown; tableId?: unknown }) =>
  props.tableId ? `table ${String(props.datasetId)}.${String(props.tableId)}` : `dataset ${String(props.datasetId)}`;

export const bigqueryNoPublicGrants: ResourceValidationPolicy = {
  name: "bigquery-no-public-grants",
  description:
    "No BigQuery dataset, table or view is granted to allUsers or allAuthenticatedUsers: that opens it to anyone with a Google account, past " +
    "the MCP server. A workflow's view dataset states its access list and admits no special group (but projectOwners as OWNER) or domain.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Remove the grant to allUsers / allAuthenticatedUsers. Agents read BigQuery " +
    "through the MCP server as their workflow's service account; people get access " +
    "through groups you name. A view dataset's list is dbwarden's (components/bigquery/access.ts): the workflow's account as READER, projectOwners as OWNER.",
  validateResource: [
    validateResourceOfType(IamMember, (grant, _args, report) => {
      for (const m of publicMembers([grant.member])) report(`${where(grant)} grants ${grant.role} to ${m}: anyone can read it`);
    }),
    validateResourceOfType(IamBinding, (grant, _args, report) => {
      for (const m of publicMembers(grant.members ?? [])) report(`${where(grant)} grants ${grant.role} to ${m}: anyone can read it`);
    }),
    validateResourceOfType(DatasetIamMember, (grant, _args, report) => {
      for (const m of publicMembers([grant.member])) report(`${where(grant)} grants ${grant.role} to ${m}: anyone can read it`);
    }),
    validateResourceOfType(DatasetIamBinding, (grant, _args, report) => {
      for (const m of publicMembers(grant.members ?? [])) report(`${where(grant)} grants ${grant.role} to ${m}: anyone can read it`);
    }),
    validateResourceOfType(Dataset, (dataset, _args, report) => {
      for (const problem of datasetAccessProblems(dataset.datasetId, dataset.accesses)) report(problem);
    }),
    validateResourceOfType(DatasetAccess, (access, _args, report) => {
      for (const m of publicMembers([access.iamMember, access.specialGroup]))
        report(`${where(access)} gives access (${access.role ?? "a role"}) to ${m}: anyone can read it`);
    }),
  ],
};
