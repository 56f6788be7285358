/**
 * Read-only access on a BigQuery target, per workflow (`dbwarden:bigquery:ReadOnlyAccess`, the
 * BigQuery entry of `ACCESS_COMPONENTS`):
 * - a service account of its own (`dbw-<workflow>`) with `roles/bigquery.jobUser` on the project,
 *   so it can run query jobs and nothing else there;
 * - a dataset of its own (`bigqueryViewDataset`: `dbw_<workflow>`) holding one view per table of
 *   its scope, selecting exactly the readable columns (`resolveColumns` against the catalog
 *   snapshot for "all columns but these"), each authorized on its source dataset (`DatasetAccess`
 *   with `view`: the view reads the table, nobody gains a grant on it);
 * - the view dataset's access list, authoritative (`accesses` on the dataset: `viewDatasetAccesses`):
 *   READER for the service account, OWNER for the project's owners, nobody else; without it
 *   BigQuery adds project Viewers as READER, so every Viewer would read the workflow's views.
 * Never a grant on a source table: excluded and sensitive columns do not exist in the views.
 * Why views and not policy tags: a policy tag changes the schema of a table dbwarden does not own
 * and takes the column away from every other reader (docs/gcp.md, "Why authorized views and not policy tags").
 * Masks and row filters (BigQuery data policies, row access policies) would be more children of
 * the same per-table view, from the same plan.
 */
import * as pulumi from "@pulumi/pulumi";
import { Dataset } from "@pulumi/gcp/bigquery/dataset.js";
import { DatasetAccess } from "@pulumi/gcp/bigquery/datasetAccess.js";
import { Table } from "@pulumi/gcp/bigquery/table.js";
import { IAMMember } from "@pulumi/gcp/projects/iammember.js";
import { Account } from "@pulumi/gcp/serviceaccount/account.js";
import { bigqueryViewDataset, bigqueryViewOf, resolveColumns, workflowsOf, type AccessPlan, type TablePlan, type TargetPlan } from "@dbwarden/contract";
import { GCP_LABEL_KEYS } from "../../src/tags.ts";
import { entryColumns, type CatalogSnapshot } from "../postgres/catalog.ts";
import { workflowServiceAccountId } from "./preflight.ts";
import { ChildOutput, createChildren, type ChildClass, type ChildOptions, type ChildResource } from "../postgres/children.ts";

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
export interface DatasetAccessEntry<Email = pulumi.Input<string>> {
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
      `${name}: ${resolved.unknown.join(", ")} named by the workflow ` +
        `${resolved.unknown.length === 1 ? "is" : "are"} not a column of the table (${catalogSource})`,
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

export interface BigQueryReadOnlyAccessArgs {
  /** The environment's plan. */
  plan: AccessPlan;
  /** The BigQuery target (its `database` is the project). */
  target: TargetPlan;
  /** Column lists of tables read with "all columns but these" (`dbwarden catalog`). */
  catalog: CatalogSnapshot;
  /** Names the catalog in errors. */
  catalogSource: string;
}

/** Type tokens of the component's children, as the engine records them. */
export const BIGQUERY_CHILD_TYPES = {
  account: "gcp:serviceaccount/account:Account",
  projectMember: "gcp:projects/iAMMember:IAMMember",
  dataset: "gcp:bigquery/dataset:Dataset",
  table: "gcp:bigquery/table:Table",
  datasetAccess: "gcp:bigquery/datasetAccess:DatasetAccess",
} as const;

const BIGQUERY_CLASSES: Readonly<Record<string, ChildClass>> = {
  [BIGQUERY_CHILD_TYPES.account]: Account,
  [BIGQUERY_CHILD_TYPES.projectMember]: IAMMember,
  [BIGQUERY_CHILD_TYPES.dataset]: Dataset,
  [BIGQUERY_CHILD_TYPES.table]: Table,
  [BIGQUERY_CHILD_TYPES.datasetAccess]: DatasetAccess,
};

/** A service account's resource name in the children list: the one child `check` registers (its email leaves the component). */
export const accountChildName = (name: string, workflow: string) => `${name}-${workflow}-sa`;

/**
 * The children of the component `name`, in creation order: ONE list the constructor creates and
 * `dbwarden check` describes (src/policy/described.ts). Per workflow its service account
 * (`registered`: the impersonation component reads its email), jobUser (the first one registered), the view dataset with its
 * whole access list, and per table the view and its authorization on the source dataset. Pure.
 */
export function bigqueryAccessChildren(name: string, args: BigQueryReadOnlyAccessArgs): ChildResource[] {
  const project = args.target.database;
  const location = args.target.platformSettings.platform === "bigquery" ? args.target.platformSettings.location : undefined;
  const children: ChildResource[] = [];
  const add = (type: string, childName: string, inputs: Record<string, unknown>, options: Partial<ChildOptions> = {}) =>
    children.push({ type, name: childName, inputs, options: { provider: null, dependsOn: [], ...options } });
  for (const access of bigqueryAccessPlan(args.plan, args.target, args.catalog, args.catalogSource)) {
    const labels = {
      [GCP_LABEL_KEYS.owner]: labelValue(access.owner),
      [GCP_LABEL_KEYS.workflow]: labelValue(access.workflow),
      [GCP_LABEL_KEYS.environment]: labelValue(args.plan.environment),
      [GCP_LABEL_KEYS.target]: labelValue(args.target.name),
    };
    const prefix = `${name}-${access.workflow}`;
    const account = accountChildName(name, access.workflow);
    add(
      BIGQUERY_CHILD_TYPES.account,
      account,
      {
        project,
        accountId: access.accountId,
        displayName: `dbwarden ${access.workflow}`,
        description: `Reads workflow ${access.workflow}'s views (dbwarden).`,
      },
      { registered: true },
    );
    // The first jobUser grant is registered too: no input outside reads it, so `check` tells a
    // resource that depends on the component (on every registered child, one not through its
    // inputs) from one that reads a workflow's email (src/policy/described.ts, mergeDescribed).
    add(
      BIGQUERY_CHILD_TYPES.projectMember,
      `${prefix}-job-user`,
      { project, role: JOB_USER_ROLE, member: new ChildOutput(account, "email", "serviceAccount:") },
      children.length === 1 ? { registered: true } : {},
    );
    const dataset = `${prefix}-views`;
    add(BIGQUERY_CHILD_TYPES.dataset, dataset, {
      project,
      datasetId: access.viewDataset,
      location,
      labels,
      description: `Authorized views of workflow ${access.workflow} (dbwarden).`,
      deleteContentsOnDestroy: true,
      // Authoritative: no DatasetAccess or DatasetIamMember may add to this dataset (they would fight the list).
      accesses: viewDatasetAccesses(new ChildOutput(account, "email")),
    });
    for (const planned of access.views) {
      const view = `${prefix}-${planned.view.tableId}`;
      add(BIGQUERY_CHILD_TYPES.table, view, {
        project,
        datasetId: new ChildOutput(dataset, "datasetId"),
        tableId: planned.view.tableId,
        view: { query: planned.query, useLegacySql: false },
        deletionProtection: false,
        labels,
      });
      add(
        BIGQUERY_CHILD_TYPES.datasetAccess,
        `${view}-authorized`,
        { project, datasetId: planned.source.datasetId, view: { projectId: project, datasetId: planned.view.datasetId, tableId: planned.view.tableId } },
        { dependsOn: [view] },
      );
    }
  }
  return children;
}

/** `dbwarden:bigquery:ReadOnlyAccess`: per workflow a service account, its view dataset (with its access list), views and grants. */
export class BigQueryReadOnlyAccess extends pulumi.ComponentResource {
  /** Service account email by workflow: the server impersonates it (`gcpServiceAccount` logins). */
  readonly serviceAccounts: Record<string, pulumi.Output<string>> = {};

  constructor(name: string, args: BigQueryReadOnlyAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbwarden:bigquery:ReadOnlyAccess", name, {}, opts);
    const children = bigqueryAccessChildren(name, args);
    const created = createChildren(this, children, BIGQUERY_CLASSES);
    for (const workflow of workflowsOf(args.plan, args.target.name)) {
      this.serviceAccounts[workflow.name] = (created.get(accountChildName(name, workflow.name)) as Account).email;
    }
    this.registerOutputs({ serviceAccounts: this.serviceAccounts });
  }
}
