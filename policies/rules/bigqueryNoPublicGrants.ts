/**
 * `bigquery-no-public-grants`: no BigQuery dataset, table or view is granted to `allUsers` or
 * `allAuthenticatedUsers` (table IAM `bigquery.IamMember` / `IamBinding`, dataset IAM
 * `DatasetIamMember` / `DatasetIamBinding`, dataset access entries `DatasetAccess`). Either opens
 * the data to anyone with a Google account, past every control dbwarden puts in front of it.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { DatasetAccess } from "@pulumi/gcp/bigquery/datasetAccess.js";
import { DatasetIamBinding } from "@pulumi/gcp/bigquery/datasetIamBinding.js";
import { DatasetIamMember } from "@pulumi/gcp/bigquery/datasetIamMember.js";
import { IamBinding } from "@pulumi/gcp/bigquery/iamBinding.js";
import { IamMember } from "@pulumi/gcp/bigquery/iamMember.js";

/** The principals that mean "everyone": every caller, or every Google account. */
export const PUBLIC_PRINCIPALS = ["allUsers", "allAuthenticatedUsers"] as const;

/** The public principals among `members`. */
export function publicMembers(members: readonly unknown[]): string[] {
  return members.filter((m): m is string => typeof m === "string" && (PUBLIC_PRINCIPALS as readonly string[]).includes(m));
}

const where = (props: { datasetId?: unknown; tableId?: unknown }) =>
  props.tableId ? `table ${String(props.datasetId)}.${String(props.tableId)}` : `dataset ${String(props.datasetId)}`;

export const bigqueryNoPublicGrants: ResourceValidationPolicy = {
  name: "bigquery-no-public-grants",
  description:
    "No BigQuery dataset, table or view is granted to allUsers or allAuthenticatedUsers: that opens it to anyone with a Google account, past the MCP server.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Remove the grant to allUsers / allAuthenticatedUsers. Agents read BigQuery through the MCP server as their workflow's service account; people get access through groups you name.",
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
    validateResourceOfType(DatasetAccess, (access, _args, report) => {
      for (const m of publicMembers([access.iamMember, access.specialGroup]))
        report(`${where(access)} gives access (${access.role ?? "a role"}) to ${m}: anyone can read it`);
    }),
  ],
};
