/**
 * What GCP would refuse in a BigQuery target's names, checked before anything is created (mocks
 * accept anything): service account ids, dataset ids, view (table) ids, label keys and values.
 * Each check is a pure function returning problems as "field: what is wrong; how to fix" lines.
 */
import { bigqueryViewOf, type AccessPlan, type TargetPlan, type WorkflowPlan } from "@dbwarden/contract";
import { createHash } from "node:crypto";

/** Service account ids: 6-30 characters, a lowercase letter first, then lowercase letters, digits and `-`, no `-` last. */
export const SERVICE_ACCOUNT_ID = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
/** Dataset ids: letters, digits and `_`, at most 1024 characters. */
export const DATASET_ID = /^[A-Za-z0-9_]{1,1024}$/;
/** Table and view ids: letters, digits, `_` and `-` (dbwarden names no others), at most 1024 characters. */
export const TABLE_ID = /^[A-Za-z0-9_-]{1,1024}$/;
/** Label keys: 1-63 characters, a lowercase letter first, then lowercase letters, digits, `_` and `-`. */
export const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
/** Label values: 0-63 lowercase letters, digits, `_` and `-`. */
export const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

/**
 * The service account id of a workflow: `dbw-<workflow>`, cut to 30 characters with a hash of the
 * full name when longer (two long workflow names sharing a prefix stay apart).
 */
export function workflowServiceAccountId(workflow: string): string {
  const full = `dbw-${workflow}`;
  if (full.length <= 30) return full.length >= 6 ? full : `${full}-sa`;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 6);
  return `${full.slice(0, 23).replace(/-+$/, "")}-${hash}`;
}

/** Problems with a service account id. */
export function serviceAccountIdProblems(field: string, id: string): string[] {
  return SERVICE_ACCOUNT_ID.test(id)
    ? []
    : [`${field}: service account id "${id}" must be 6-30 lowercase letters, digits or '-', starting with a letter and not ending with '-'`];
}

/** Problems with a label: its key and value within GCP's rules. */
export function labelProblems(field: string, key: string, value: string): string[] {
  const problems: string[] = [];
  if (!LABEL_KEY.test(key)) problems.push(`${field}: label key "${key}" must be 1-63 lowercase letters, digits, '_' or '-', starting with a letter`);
  if (!LABEL_VALUE.test(value)) problems.push(`${field}: label value "${value.slice(0, 80)}" must be at most 63 lowercase letters, digits, '_' or '-'`);
  return problems;
}

/** Problems with the datasets, views and service accounts one BigQuery target's workflows need. */
export function bigqueryTargetProblems(plan: Pick<AccessPlan, "workflows">, target: TargetPlan): string[] {
  const problems: string[] = [];
  const accounts = new Map<string, string>();
  for (const workflow of plan.workflows.filter((w) => w.target === target.name)) {
    const where = `workflows.${workflow.name}`;
    const account = workflowServiceAccountId(workflow.name);
    problems.push(...serviceAccountIdProblems(`${where}: service account`, account));
    const other = accounts.get(account);
    if (other) problems.push(`${where}: service account id "${account}" is also workflow ${other}'s; rename one of them`);
    accounts.set(account, workflow.name);
    problems.push(...viewProblems(where, workflow));
  }
  return problems;
}

function viewProblems(where: string, workflow: WorkflowPlan): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const table of workflow.tables) {
    const name = `${table.schema}.${table.table}`;
    if (!DATASET_ID.test(table.schema)) problems.push(`${where}.scope.${table.schema}: "${table.schema}" is not a BigQuery dataset id (letters, digits, '_')`);
    const view = bigqueryViewOf(workflow, table);
    if (!DATASET_ID.test(view.datasetId)) problems.push(`${where}: its view dataset "${view.datasetId}" is not a BigQuery dataset id`);
    if (!TABLE_ID.test(view.tableId))
      problems.push(`${where}.scope.${name}: its view "${view.tableId}" is not a BigQuery table id (letters, digits, '_', '-')`);
    const clash = seen.get(view.tableId);
    if (clash)
      problems.push(`${where}.scope.${name}: its view "${view.tableId}" is also ${clash}'s; rename a dataset or table so "<dataset>__<table>" differs`);
    seen.set(view.tableId, name);
  }
  return problems;
}
