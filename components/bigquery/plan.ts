/**
 * What a BigQuery target's plan means, as data: per workflow its service account, its view dataset
 * with its whole access list, and its views with their SQL. Pure and free of Pulumi, so the access
 * component (./access.ts) that deploys it and `dbwarden drift` (src/bigquery/drift.ts) that
 * compares the live project with it read the same functions.
 */
import { bigqueryViewDataset, bigqueryViewOf, resolveColumns, workflowsOf, type AccessPlan, type TablePlan, type TargetPlan } from "@dbwarden/contract";
import { entryColumns, type CatalogSnapshot } from "../postgres/catalog.ts";
import { workflowServiceAccountId } from "./preflight.ts";
import { GCP_LABEL_KEYS } from "../../src/tags.ts";

export const JOB_USER_ROLE = "roles/bigquery.jobUser";
/** Dataset access roles in BigQuery's legacy form: the API answers `roles/bigquery.dataViewer` as READER (a perpetual diff). */
export const DATASET_READER = "READER";
export const DATASET_OWNER = "OWNER";
/**
 * The one entry of a view dataset's access list that is not the workflow's: BigQuery refuses a
 * dataset without an OWNER ("Cannot remove all owners from a dataset"). The project's owners, not
 * the deployer's own identity: the program knows no identity without a lookup, the deployer differs
 * between a laptop and CI (naming it would rewrite the list on each), and project owners can grant
 * themselves any role in the project anyway, so the entry gives no one a read they could not take.
 * Pulumi manages the dataset through the deployer's project role (BigQuery Admin), not this list.
 */
export const VIEW_DATASET_OWNER = { role: DATASET_OWNER, specialGroup: "projectOwners" } as const;

/** One entry of a dataset's access list (the `accesses` input of `bigquery.Dataset`); `Email`: how the email is given. */
export interface DatasetAccessEntry<Email = string> {
  role: string;
  userByEmail?: Email;
  specialGroup?: string;
}

/**
 * The whole access list of a workflow's view dataset, authoritative: its service account reads,
 * the project's owners own (`VIEW_DATASET_OWNER`), nobody else. Given as the dataset's `accesses`,
 * it replaces BigQuery's defaults (projectReaders READER, projectWriters WRITER, projectOwners and
 * the creator OWNER), under which every project Viewer could read the workflow's views.
 */
export function viewDatasetAccesses<Email>(serviceAccountEmail: Email): DatasetAccessEntry<Email>[] {
  return [{ role: DATASET_READER, userByEmail: serviceAccountEmail }, { ...VIEW_DATASET_OWNER }];
}

/** One view of a workflow: the table it reads and what it selects. */
export interface PlannedView {
  source: { datasetId: string; tableId: string };
  view: { datasetId: string; tableId: string };
  /** GoogleSQL of the view. */
  query: string;
}

/** What one workflow gets on a BigQuery target. */
export interface PlannedWorkflowAccess {
  workflow: string;
  owner: string;
  accountId: string;
  viewDataset: string;
  views: PlannedView[];
}

const quote = (name: string) => `\`${name}\``;

/**
 * The columns a view selects: all (`*`: the rule says every column, including later ones), the
 * allowlist, or every column of the catalog but the exclusions. "All but these" without the
 * table's columns in the catalog is refused: `SELECT * EXCEPT` would let a column added later in.
 */
export function viewColumns(table: TablePlan, catalog: CatalogSnapshot, catalogSource: string): string[] | "*" {
  const name = `${table.schema}.${table.table}`;
  if (table.rule.access === "all") return "*";
  const live = Object.hasOwn(catalog, name) ? entryColumns(catalog[name]!) : undefined;
  if (table.rule.access === "only" && !live) return [...table.rule.columns];
  if (!live) {
    throw new Error(
      `${name}: its rule is "all columns but ${table.rule.access === "all-except" ? table.rule.except.join(", ") : ""}", ` +
        `and ${catalogSource} has no columns for it; run \`dbwarden catalog\` for this stack and commit the file`,
    );
  }
  const resolved = resolveColumns(table, live);
  if (resolved.unknown.length > 0)
    throw new Error(
      `${name}: ${resolved.unknown.join(", ")} named by the workflow ${resolved.unknown.length === 1 ? "is" : "are"} ` +
        `not a column of the table (${catalogSource})`,
    );
  if (resolved.readable.length === 0) throw new Error(`${name}: no column is readable`);
  return resolved.readable;
}

/** The view's GoogleSQL: exactly the readable columns of the source table. */
export function viewQuery(project: string, table: TablePlan, columns: string[] | "*"): string {
  const select = columns === "*" ? "*" : columns.map(quote).join(", ");
  return `SELECT ${select} FROM ${quote(`${project}.${table.schema}.${table.table}`)}`;
}

/** Every workflow's service account, view dataset and views on one BigQuery target. Pure. */
export function bigqueryAccessPlan(plan: AccessPlan, target: TargetPlan, catalog: CatalogSnapshot, catalogSource: string): PlannedWorkflowAccess[] {
  return workflowsOf(plan, target.name).map((workflow) => ({
    workflow: workflow.name,
    owner: workflow.owner,
    accountId: workflowServiceAccountId(workflow.name),
    viewDataset: bigqueryViewDataset(workflow),
    views: workflow.tables.map((table) => ({
      source: { datasetId: table.schema, tableId: table.table },
      view: bigqueryViewOf(workflow, table),
      query: viewQuery(target.database, table, viewColumns(table, catalog, catalogSource)),
    })),
  }));
}

/** A GCP label value from a name: lowercase letters, digits, `_` and `-`, at most 63. */
export function labelValue(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "_")
    .slice(0, 63);
}

/** The labels of a workflow's view dataset and views: whose they are (drift tells another environment's views from stale ones by them). */
export function bigqueryLabels(plan: AccessPlan, target: TargetPlan, access: Pick<PlannedWorkflowAccess, "owner" | "workflow">): Record<string, string> {
  return {
    [GCP_LABEL_KEYS.owner]: labelValue(access.owner),
    [GCP_LABEL_KEYS.workflow]: labelValue(access.workflow),
    [GCP_LABEL_KEYS.environment]: labelValue(plan.environment),
    [GCP_LABEL_KEYS.target]: labelValue(target.name),
  };
}
