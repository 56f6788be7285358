/**
 * BigQuery names every renderer agrees on: where a workflow's authorized views live. The target's
 * components create them (components/bigquery), the server's BigQuery engine reads through them
 * (mcp-server/src/engines/bigquery): one rule, here, so the two cannot disagree.
 *
 * Why views: BigQuery has no column-level SELECT. A workflow reads each table of its scope through
 * a view in its own dataset that selects exactly the readable columns, authorized on the source
 * dataset; its service account reads that dataset only, never a source table. Policy tags would
 * rewrite the schema of tables dbwarden does not own and take the tagged columns away from every
 * other reader of the table (docs/gcp.md, "Why authorized views and not policy tags").
 */
import type { WorkflowPlan } from "./plan.js";

/** A BigQuery table or view within the target's project. */
export interface BigQueryTableId {
  datasetId: string;
  tableId: string;
}

/** The dataset holding a workflow's authorized views: its group role's name (`dbw_<workflow>`: letters, digits, `_`). */
export function bigqueryViewDataset(workflow: Pick<WorkflowPlan, "roles">): string {
  return workflow.roles.group;
}

/** The authorized view through which a workflow reads `schema.table` (dataset `schema`, table `table`). */
export function bigqueryViewOf(workflow: Pick<WorkflowPlan, "roles">, table: { schema: string; table: string }): BigQueryTableId {
  return { datasetId: bigqueryViewDataset(workflow), tableId: `${table.schema}__${table.table}` };
}
