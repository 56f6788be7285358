/**
 * Drift on BigQuery: what the project really grants (through `BigQueryIam`, ./iam.ts) against
 * what the plan deploys there (components/bigquery/plan.ts, the functions the access component
 * uses), in the PostgreSQL drift report's shape (src/postgres/drift.ts `DriftReport`, same exit code):
 * - a workflow's view dataset: its access list is authoritative, so any entry beyond its service
 *   account's READER and `projectOwners`' OWNER is drift (it widens who reads the views), and so is
 *   a missing one; a view whose SQL is not the plan's, or a table the plan does not know, is drift;
 * - the source datasets the views read: an authorized-view entry of this target's view datasets
 *   (`dbw_...`: the plan's, a removed workflow's by its labels, or one deleted) for a view the plan
 *   no longer has is drift; every other entry there (the dataset owner's, another environment's
 *   views) is never reported or changed;
 * - the project's IAM policy: a workflow's service account holding a role other than
 *   `roles/bigquery.jobUser` is drift, and so is one lacking it.
 * `--fix` removes only the extra entries of view datasets' access lists and the stale authorized
 * views dbwarden added to source datasets, each dataset written once with the etag it was read at;
 * view SQL and project IAM are `pulumi up`'s (or the owner's) and each line says what to run.
 */
import { workflowsOf, type AccessPlan, type TargetPlan } from "@dbwarden/contract";
import { bigqueryAccessPlan, JOB_USER_ROLE, labelValue, viewDatasetAccesses } from "../../components/bigquery/plan.ts";
import { serviceAccountEmail } from "../names/gcp.ts";
import type { CatalogSnapshot } from "../../components/postgres/catalog.ts";
import type { DriftItem, DriftReport } from "../postgres/drift.ts";
import { ROLE_PREFIX } from "../plan/names.ts";
import { GCP_LABEL_KEYS } from "../tags.ts";
import type { AccessEntry, BigQueryIam, DatasetAccessList } from "./iam.ts";

/** One dataset's access list as `--fix` writes it: the list read, without the entries removed, at the etag read. */
export interface DatasetFix {
  datasetId: string;
  etag: string;
  access: AccessEntry[];
  removed: AccessEntry[];
}

export interface BigQueryDrift {
  report: DriftReport;
  /** What `--fix` would write, one per dataset with something to remove. */
  fixes: DatasetFix[];
}

/** BigQuery answers IAM roles on a dataset in their legacy form; either form compares equal. */
const LEGACY_ROLES: Record<string, string> = {
  "roles/bigquery.dataViewer": "READER",
  "roles/bigquery.dataEditor": "WRITER",
  "roles/bigquery.dataOwner": "OWNER",
};

/** Who an entry admits, in words (emails and domains compare case-insensitively). */
function principalText(entry: AccessEntry): string {
  if (entry.view) return `authorized view ${entry.view.projectId}.${entry.view.datasetId}.${entry.view.tableId}`;
  if (entry.routine) return `authorized routine ${entry.routine.projectId}.${entry.routine.datasetId}.${entry.routine.routineId}`;
  if (entry.dataset) return `authorized dataset ${entry.dataset.dataset.projectId}.${entry.dataset.dataset.datasetId}`;
  if (entry.userByEmail !== undefined) return `user ${entry.userByEmail.toLowerCase()}`;
  if (entry.groupByEmail !== undefined) return `group ${entry.groupByEmail.toLowerCase()}`;
  if (entry.domain !== undefined) return `domain ${entry.domain.toLowerCase()}`;
  if (entry.specialGroup !== undefined) return `special group ${entry.specialGroup}`;
  if (entry.iamMember !== undefined) return `IAM member ${entry.iamMember}`;
  return "an entry of an unknown kind";
}

/** An access entry in words, which is also its comparison key (a role in either form, then who). */
export function entryText(entry: AccessEntry): string {
  const role = entry.role ? (LEGACY_ROLES[entry.role] ?? entry.role) : undefined;
  return role ? `${role} ${principalText(entry)}` : principalText(entry);
}

/** The SQL of a view up to whitespace (BigQuery keeps the text as sent, the program may be formatted otherwise). */
export const normaliseSql = (sql: string) => sql.replace(/\s+/g, " ").trim();

/** The dataset's access list, read once per run (source datasets can be read by several workflows). */
function accessReader(iam: BigQueryIam) {
  const read = new Map<string, Promise<DatasetAccessList | null>>();
  return (datasetId: string) => {
    if (!read.has(datasetId)) read.set(datasetId, iam.datasetAccess(datasetId));
    return read.get(datasetId)!;
  };
}

interface Found {
  differences: DriftItem[];
  removals: Map<string, { list: DatasetAccessList; removed: AccessEntry[] }>;
}

const remove = (found: Found, datasetId: string, list: DatasetAccessList, entry: AccessEntry) => {
  const pending = found.removals.get(datasetId) ?? { list, removed: [] };
  pending.removed.push(entry);
  found.removals.set(datasetId, pending);
};

/** A view dataset's access list against the plan's (`viewDatasetAccesses`): extra entries are removable, missing ones are `pulumi up`'s. */
function compareViewDatasetAccess(found: Found, project: string, role: string, datasetId: string, email: string, list: DatasetAccessList): void {
  const expected = new Set(viewDatasetAccesses(email).map((e) => entryText(e)));
  const where = `view dataset ${project}:${datasetId}`;
  for (const entry of list.access) {
    const text = entryText(entry);
    if (expected.delete(text)) continue;
    found.differences.push({
      kind: "dataset-access",
      role,
      message: `${where} admits ${text}, which the plan does not (it widens who reads the workflow's views)`,
      fix: [`datasets.patch ${project}:${datasetId}: remove ${text}`],
    });
    remove(found, datasetId, list, entry);
  }
  for (const text of expected)
    found.differences.push({ kind: "dataset-access", role, message: `${where} lacks ${text} (pulumi up restores the list)`, fix: [] });
}

/** Reads at most this many views at once: a workflow of many tables is read in parallel, without flooding the API's per-user quota. */
export const VIEW_READS_AT_ONCE = 8;

/** `read` of every item, at most `VIEW_READS_AT_ONCE` at a time, the answers in the items' order. */
export async function readAll<T, R>(items: readonly T[], read: (item: T) => Promise<R>): Promise<R[]> {
  const answers: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      answers[index] = await read(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(VIEW_READS_AT_ONCE, items.length) }, worker));
  return answers;
}

/** The views of one workflow's dataset: each planned view's SQL, and tables the plan does not know. */
async function compareViews(found: Found, iam: BigQueryIam, project: string, role: string, datasetId: string, planned: Map<string, string>): Promise<void> {
  const listed = await iam.listTables(datasetId);
  const live = new Set(listed.map((t) => t.tableId));
  const present = [...planned.keys()].filter((tableId) => live.has(tableId));
  const sqls = new Map(await readAll(present, async (tableId) => [tableId, await iam.viewQuery(datasetId, tableId)] as const));
  for (const [tableId, query] of planned) {
    const name = `${project}:${datasetId}.${tableId}`;
    if (!live.has(tableId)) {
      found.differences.push({ kind: "missing-object", role, message: `view ${name} does not exist (pulumi up creates it)`, fix: [] });
      continue;
    }
    const sql = sqls.get(tableId)!;
    if (sql === null || normaliseSql(sql) !== normaliseSql(query))
      found.differences.push({
        kind: "view",
        role,
        message: `view ${name} ${sql === null ? "is not a view" : "selects something else than the plan"} (the plan: ${query}); pulumi up restores it`,
        fix: [],
      });
  }
  for (const table of listed.filter((t) => !planned.has(t.tableId)))
    found.differences.push({
      kind: "view",
      role,
      message:
        `${table.type.toLowerCase().replaceAll("_", " ")} ${project}:${datasetId}.${table.tableId} is not in the plan, ` +
        `and the workflow's service account reads it; remove it (bq rm -t ${project}:${datasetId}.${table.tableId})`,
      fix: [],
    });
}

/** The workflows' service accounts in the project's IAM policy: jobUser and nothing else. */
function compareProjectRoles(
  found: Found,
  project: string,
  accounts: Map<string, string>,
  bindings: Array<{ role: string; members: string[]; condition?: { title?: string } }>,
): void {
  for (const [email, role] of accounts) {
    const member = `serviceAccount:${email}`;
    const held = bindings.filter((b) => b.members.some((m) => m.toLowerCase() === member.toLowerCase()));
    for (const binding of held.filter((b) => b.role !== JOB_USER_ROLE || b.condition)) {
      const condition = binding.condition ? ` (condition ${binding.condition.title ?? "untitled"})` : "";
      found.differences.push({
        kind: "project-role",
        role,
        message:
          `${email} holds ${binding.role}${condition} on project ${project}, which the plan does not grant; ` +
          `remove it (gcloud projects remove-iam-policy-binding ${project} --member=${member} --role=${binding.role})`,
        fix: [],
      });
    }
    if (!held.some((b) => b.role === JOB_USER_ROLE && !b.condition))
      found.differences.push({ kind: "project-role", role, message: `${email} lacks ${JOB_USER_ROLE} on project ${project} (pulumi up grants it)`, fix: [] });
  }
}

/**
 * Whether a dbwarden view dataset (`dbw_...`) that a source dataset authorizes is this target's to
 * clean up: one of the plan's, one that no longer exists (its entry would authorize a view created
 * again under that name), or one labelled with this environment and target (a removed workflow's).
 * Another environment's or target's views in the same project are never touched.
 */
function ownedBy(accessOf: (id: string) => Promise<DatasetAccessList | null>, plan: AccessPlan, target: TargetPlan, planned: ReadonlySet<string>) {
  return async (viewDataset: string): Promise<boolean> => {
    if (planned.has(viewDataset)) return true;
    const list = await accessOf(viewDataset);
    if (!list) return true;
    return list.labels[GCP_LABEL_KEYS.environment] === labelValue(plan.environment) && list.labels[GCP_LABEL_KEYS.target] === labelValue(target.name);
  };
}

/** A source dataset's authorized views of this target's view datasets against the plan's; other entries are the owner's. */
async function compareAuthorizedViews(
  found: Found,
  project: string,
  source: { datasetId: string; list: DatasetAccessList },
  expected: Map<string, string>,
  owned: (viewDataset: string) => Promise<boolean>,
): Promise<void> {
  const { datasetId, list } = source;
  const seen = new Set<string>();
  for (const entry of list.access) {
    const view = entry.view;
    if (!view || view.projectId !== project || !view.datasetId.startsWith(ROLE_PREFIX)) continue;
    const key = `${view.datasetId}.${view.tableId}`;
    seen.add(key);
    if (expected.has(key) || !(await owned(view.datasetId))) continue;
    found.differences.push({
      kind: "authorized-view",
      role: view.datasetId,
      message: `source dataset ${project}:${datasetId} still authorizes view ${project}.${key}, which the plan no longer has`,
      fix: [`datasets.patch ${project}:${datasetId}: remove ${entryText(entry)}`],
    });
    remove(found, datasetId, list, entry);
  }
  for (const [key, role] of expected)
    if (!seen.has(key))
      found.differences.push({
        kind: "authorized-view",
        role,
        message: `source dataset ${project}:${datasetId} does not authorize view ${project}.${key}, so it cannot read its table (pulumi up adds it)`,
        fix: [],
      });
}

/** Compares one BigQuery target's live IAM with the plan. */
export async function detectBigQueryDrift(
  iam: BigQueryIam,
  plan: AccessPlan,
  target: TargetPlan,
  catalog: CatalogSnapshot,
  catalogSource: string,
): Promise<BigQueryDrift> {
  const project = target.database;
  const found: Found = { differences: [], removals: new Map() };
  const accessOf = accessReader(iam);
  const accounts = new Map<string, string>();
  const authorized = new Map<string, Map<string, string>>();
  const viewDatasets = new Set<string>();
  const groups = new Map(workflowsOf(plan, target.name).map((w) => [w.name, w.roles.group]));
  for (const access of bigqueryAccessPlan(plan, target, catalog, catalogSource)) {
    const role = groups.get(access.workflow)!;
    const email = serviceAccountEmail(access.accountId, project);
    accounts.set(email, role);
    viewDatasets.add(access.viewDataset);
    for (const view of access.views) {
      const onSource = authorized.get(view.source.datasetId) ?? new Map<string, string>();
      onSource.set(`${view.view.datasetId}.${view.view.tableId}`, role);
      authorized.set(view.source.datasetId, onSource);
    }
    const list = await accessOf(access.viewDataset);
    if (!list) {
      found.differences.push({
        kind: "missing-object",
        role,
        message: `view dataset ${project}:${access.viewDataset} does not exist (pulumi up creates it)`,
        fix: [],
      });
      continue;
    }
    compareViewDatasetAccess(found, project, role, access.viewDataset, email, list);
    await compareViews(found, iam, project, role, access.viewDataset, new Map(access.views.map((v) => [v.view.tableId, v.query])));
  }
  const owned = ownedBy(accessOf, plan, target, viewDatasets);
  for (const [datasetId, expected] of [...authorized].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const list = await accessOf(datasetId);
    if (list) await compareAuthorizedViews(found, project, { datasetId, list }, expected, owned);
    else found.differences.push({ kind: "missing-object", role: datasetId, message: `source dataset ${project}:${datasetId} does not exist`, fix: [] });
  }
  compareProjectRoles(found, project, accounts, await iam.projectBindings());
  const fixes = [...found.removals].map(([datasetId, { list, removed }]) => ({
    datasetId,
    etag: list.etag,
    access: list.access.filter((e) => !removed.includes(e)),
    removed,
  }));
  const report = {
    environment: plan.environment,
    target: target.name,
    database: project,
    drift: found.differences.length > 0,
    differences: found.differences,
    notices: [],
  };
  return { report, fixes };
}

/** `--fix`: writes each dataset's list without what drift found removable, at the etag drift read; returns how many datasets were written. */
export async function fixBigQueryDrift(iam: BigQueryIam, fixes: DatasetFix[]): Promise<number> {
  for (const fix of fixes) await iam.setDatasetAccess(fix.datasetId, fix.access, fix.etag);
  return fixes.length;
}
