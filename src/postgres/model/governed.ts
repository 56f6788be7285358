/**
 * Governed relations in PostgreSQL (docs/masks.md): what masks, row filters and reporting views
 * mean in one target's database, as plain data and the statements that create it.
 *
 * - Per workflow with any, a schema dbwarden owns (`governedSchema`, named like the group role)
 *   holding one `security_barrier` view per masked or filtered table (named like the table, its
 *   columns the rule's readable ones, masked ones through their mask, rows through the filter)
 *   and one per reporting view. The group gets USAGE on the schema and SELECT on its views, never
 *   anything on the tables behind them; views read them with their owner's (the admin's) rights.
 * - One internal schema, `dbwarden`, that no agent can use: `client_attributes` (per login, the
 *   attributes its filters read through `current_user`), `workflow_keys` (per workflow, the key of
 *   its `hash` masks, generated in the database and never read out) and `governed_views` (per
 *   view, the hash of the statement it was planned with and of its definition as created, so a
 *   view changed by hand is drift).
 * - Logins get a `search_path` with the governed schema first: unqualified names resolve to the
 *   governed view, and a qualified base-table name is refused by the database.
 *
 * The statements here are shared by the reconciler (through the diff, ./../diff/governed.ts) and
 * the Pulumi component (components/postgres), so both create the same objects.
 */
import { createHash } from "node:crypto";
import {
  isGoverned,
  maskName,
  resolveColumns,
  tableName,
  type AttributeValue,
  type MaskPlan,
  type ReportingViewPlan,
  type TablePlan,
  type TargetPlan,
  type WorkflowPlan,
} from "@dbwarden/contract";
import { attributeSpans, checkReportingView, checkRowFilter, PREDICATE_CLOSE, PREDICATE_OPEN, SqlCheckError } from "../../sql/check.ts";
import { parseSql } from "../../sql/parser.ts";
import { ident, literal, qualified } from "../sql.ts";
import type { ColumnSource, GovernedState, GovernedView, GovernedWorkflow, ModelProblem } from "./types.ts";

/** The schema of dbwarden's own tables: client attributes, hash keys, the views' definitions. */
export const INTERNAL_SCHEMA = "dbwarden";
export const ATTRIBUTES_TABLE = "client_attributes";
export const KEYS_TABLE = "workflow_keys";
export const VIEWS_TABLE = "governed_views";

/** The search_path governed statements run with: built-ins only, so nothing a user created can stand in for them. */
export const GOVERNED_SEARCH_PATH = "pg_catalog, pg_temp";

/** The comment on a governed schema. */
export function governedSchemaMarker(environment: string, target: string, workflow: string): string {
  return `dbwarden-managed environment=${environment} target=${target} workflow=${workflow} kind=governed-schema; changes by hand are reverted`;
}
const SCHEMA_MARKER = /^dbwarden-managed environment=(\S+) target=(\S+) workflow=(\S+) kind=governed-schema\b/;

/** The environment, target and workflow a governed schema's comment names, or null. */
export function parseGovernedSchemaMarker(comment: string | null): { environment: string; target: string; workflow: string } | null {
  const m = comment ? SCHEMA_MARKER.exec(comment) : null;
  return m ? { environment: m[1]!, target: m[2]!, workflow: m[3]! } : null;
}

/** The comment on the internal schema. */
export const INTERNAL_MARKER = "dbwarden-managed internal schema: client attributes, hash keys and governed view definitions; no agent may use it";

// ---------------------------------------------------------------------------------------------
// Masks
// ---------------------------------------------------------------------------------------------

const TEXT_TYPES = ["text", "character varying", "character", "citext", "name"];
const DATE_TYPES = ["date", "timestamp without time zone", "timestamp with time zone"];
const NUMBER_TYPES = ["smallint", "integer", "bigint", "numeric"];

/** A type as `format_type` prints it, without its modifier: `character varying(80)` -> `character varying`. */
const baseType = (type: string) => type.replace(/\(.*?\)/, "").trim();

/** Why a mask cannot apply to a column of `type` (PostgreSQL's `format_type`), or null when it can. */
export function maskTypeProblem(mask: MaskPlan, type: string): string | null {
  const base = baseType(type);
  if (base.endsWith("[]") && mask.kind !== "redact" && mask.kind !== "hash") return `mask ${maskName(mask)} cannot apply to an array (${type})`;
  switch (mask.kind) {
    case "redact":
    case "hash":
      return null;
    case "email-domain":
      return TEXT_TYPES.includes(base) ? null : `mask email-domain applies to text columns; this one is ${type}`;
    case "last":
      return TEXT_TYPES.includes(base) || NUMBER_TYPES.includes(base)
        ? null
        : `mask ${maskName(mask)} applies to text and integer columns; this one is ${type}`;
    case "year":
      return DATE_TYPES.includes(base) ? null : `mask year applies to date and timestamp columns; this one is ${type}`;
  }
}

/** The key expression of a workflow's `hash` masks: read from the internal table, with the view owner's rights. */
function keyExpression(workflow: string): string {
  return `(SELECT k.key FROM ${qualified(INTERNAL_SCHEMA, KEYS_TABLE)} k WHERE k.workflow = ${literal(workflow)})`;
}

/** The SQL of a column read through its mask. None of them can fail on a value (no error can print one). */
export function maskExpression(mask: MaskPlan, column: string, workflow: string): string {
  const c = ident(column);
  switch (mask.kind) {
    case "redact":
      return "NULL::text";
    case "hash":
      return `encode(sha256(convert_to(${keyExpression(workflow)} || ${c}::text, 'UTF8')), 'hex')`;
    case "email-domain":
      return `split_part(${c}::text, '@', 2)`;
    case "last":
      return `"right"(${c}::text, ${mask.characters})`;
    case "year":
      // extract gives ±Infinity for an infinite date, which no integer holds: null, never an error.
      return `CASE WHEN isfinite(${c}) THEN make_date(extract(year FROM ${c})::integer, 1, 1) END`;
  }
}

// ---------------------------------------------------------------------------------------------
// Row filters
// ---------------------------------------------------------------------------------------------

/** The SQL type of an attribute, from its values across the workflow's clients (one type each, validation says). */
export function attributeTypes(workflow: WorkflowPlan): Record<string, string> {
  const values = new Map<string, AttributeValue[]>();
  for (const c of workflow.clients) for (const [name, value] of Object.entries(c.attributes)) values.set(name, [...(values.get(name) ?? []), value]);
  const types: Record<string, string> = {};
  for (const [name, vs] of values) {
    if (vs.every((v) => typeof v === "boolean")) types[name] = "boolean";
    else if (vs.every((v) => typeof v === "number" && Number.isInteger(v))) types[name] = "bigint";
    else if (vs.every((v) => typeof v === "number")) types[name] = "numeric";
    else types[name] = "text";
  }
  return types;
}

/** An attribute of the calling client: read by login from the internal table, with the view owner's rights. Null when absent. */
function attributeExpression(attribute: string, type: string): string {
  return `(SELECT (a.attributes ->> ${literal(attribute)})::${type} FROM ${qualified(INTERNAL_SCHEMA, ATTRIBUTES_TABLE)} a WHERE a.login = current_user::text)`;
}

/** The predicate with each `client.<attribute>` replaced by the calling client's value (checked text, lexer-delimited spans). */
export function renderPredicate(predicate: string, types: Record<string, string>): string {
  const bytes = Buffer.from(predicate, "utf8");
  let out = "";
  let from = 0;
  for (const span of attributeSpans(predicate)) {
    out += bytes.subarray(from, span.start).toString("utf8") + attributeExpression(span.attribute, types[span.attribute] ?? "text");
    from = span.end;
  }
  return out + bytes.subarray(from).toString("utf8");
}

// ---------------------------------------------------------------------------------------------
// The views of a workflow
// ---------------------------------------------------------------------------------------------

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const shortHash = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

/**
 * The statement creating a view, from its SELECT. A reporting view's SELECT is the spec's text
 * (checked by src/sql): the statement it renders is parsed again, and must be one CREATE VIEW. A
 * table's view is dbwarden's own text around a predicate checked in the same wrapping.
 */
function createView(schema: string, name: string, query: string, verify: boolean): string {
  const create = `CREATE VIEW ${qualified(schema, name)} WITH (security_barrier = true) AS\n${query}\n`;
  if (!verify) return create;
  const stmts = parseSql(create).stmts ?? [];
  const view = stmts.length === 1 ? stmts[0]?.stmt?.ViewStmt : undefined;
  if (!view) throw new SqlCheckError(`the view ${schema}.${name} does not render as one CREATE VIEW statement`);
  return create;
}

type Report = (message: string, table?: string | null, column?: string | null) => void;

/** A masked or filtered table's view, its columns resolved against `source`; null (with problems) when it cannot be built. */
function tableView(workflow: WorkflowPlan, schema: string, table: TablePlan, source: ColumnSource, report: Report): GovernedView | null {
  const name = tableName(table);
  const live = source.columnsOf(table.schema, table.table);
  if (!live) return null; // reported by the grants (./privileges.ts) with the source's hint
  const readable = resolveColumns(table, live).readable;
  if (readable.length === 0) return null; // reported by the grants too
  let problems = 0;
  const columns = readable.map((column) => {
    const mask = table.columns.find((c) => c.name === column)?.mask ?? null;
    const type = source.typeOf?.(table.schema, table.table, column);
    const problem = mask && type !== undefined ? maskTypeProblem(mask, type) : null;
    if (problem) {
      report(`workflow ${workflow.name} masks ${name}.${column} (${source.name}): ${problem}`, name, column);
      problems++;
    }
    return { name: column, mask };
  });
  let where = "";
  if (table.rowFilter) {
    try {
      const facts = checkRowFilter(table.rowFilter.predicate);
      for (const column of facts.columns.filter((c) => !live.includes(c))) {
        report(`workflow ${workflow.name}: the row filter of ${name} reads ${name}.${column}, which does not exist in ${source.name}`, name, column);
        problems++;
      }
      where = `\nWHERE ${PREDICATE_OPEN}${renderPredicate(table.rowFilter.predicate, attributeTypes(workflow))}${PREDICATE_CLOSE}`;
    } catch (error) {
      if (!(error instanceof SqlCheckError)) throw error;
      report(`workflow ${workflow.name}: the row filter of ${name} is refused: ${error.message}`, name);
      return null;
    }
  }
  if (problems > 0) return null;
  const select = columns.map((c) => (c.mask ? `${maskExpression(c.mask, c.name, workflow.name)} AS ${ident(c.name)}` : ident(c.name)));
  const query = `SELECT ${select.join(", ")}\nFROM ${qualified(table.schema, table.table)}${where}`;
  const create = createView(schema, table.table, query, false);
  return {
    workflow: workflow.name,
    schema,
    name: table.table,
    kind: "table",
    source: { schema: table.schema, table: table.table },
    columns,
    rowFilter: table.rowFilter?.predicate ?? null,
    query,
    create,
    planHash: shortHash(create),
  };
}

/** A reporting view, its reads checked against `source`; null (with problems) when it cannot be built. */
function reportView(workflow: WorkflowPlan, schema: string, view: ReportingViewPlan, source: ColumnSource, report: Report): GovernedView | null {
  let facts;
  try {
    facts = checkReportingView(view.sql);
  } catch (error) {
    if (!(error instanceof SqlCheckError)) throw error;
    report(`workflow ${workflow.name}: reporting view ${view.name} is refused: ${error.message}`);
    return null;
  }
  let problems = 0;
  for (const read of facts.reads) {
    const live = source.columnsOf(read.schema, read.table);
    const name = tableName(read);
    if (!live) {
      const hint = source.addTableHint ? `. ${source.addTableHint(read.schema, read.table)}` : "";
      report(`workflow ${workflow.name}: reporting view ${view.name} reads table ${name}, which does not exist in ${source.name}${hint}`, name);
      problems++;
      continue;
    }
    for (const column of read.columns.filter((c) => !live.includes(c))) {
      report(`workflow ${workflow.name}: reporting view ${view.name} reads ${name}.${column}, which does not exist in ${source.name}`, name, column);
      problems++;
    }
  }
  if (problems > 0) return null;
  let create: string;
  try {
    create = createView(schema, view.name, view.sql, true);
  } catch (error) {
    if (!(error instanceof SqlCheckError)) throw error;
    report(`workflow ${workflow.name}: reporting view ${view.name} is refused: ${error.message}`);
    return null;
  }
  return {
    workflow: workflow.name,
    schema,
    name: view.name,
    kind: "report",
    source: null,
    columns: facts.columns.map((name) => ({ name, mask: null })),
    rowFilter: null,
    query: view.sql,
    create,
    planHash: shortHash(create),
  };
}

/** A workflow's governed schema and views, or null when it has none. Problems go to `problems`. */
export function governedWorkflow(
  environment: string,
  target: TargetPlan,
  workflow: WorkflowPlan,
  source: ColumnSource,
  problems: ModelProblem[],
): GovernedWorkflow | null {
  const schema = workflow.governedSchema;
  if (schema === null) return null;
  const report: Report = (message, table = null, column = null) => problems.push({ workflow: workflow.name, table, column, message });
  const views: GovernedView[] = [];
  for (const table of workflow.tables.filter(isGoverned)) {
    const view = tableView(workflow, schema, table, source, report);
    if (view) views.push(view);
  }
  for (const view of workflow.reportingViews) {
    const built = reportView(workflow, schema, view, source, report);
    if (built) views.push(built);
  }
  const names = new Map<string, number>();
  for (const v of views) names.set(v.name, (names.get(v.name) ?? 0) + 1);
  for (const [name, count] of names) if (count > 1) report(`workflow ${workflow.name}: ${count} governed relations are named ${schema}.${name}; rename one`);
  views.sort((a, b) => byString(a.name, b.name));
  return {
    workflow: workflow.name,
    group: workflow.roles.group,
    schema,
    marker: governedSchemaMarker(environment, target.name, workflow.name),
    views,
    hashes: views.some((v) => v.columns.some((c) => c.mask?.kind === "hash")),
  };
}

/** The rows of the internal tables: attributes per login (and clone), keys per hashing workflow. */
export function governedState(
  workflows: GovernedWorkflow[],
  plan: readonly WorkflowPlan[],
  loginsOf: (workflow: WorkflowPlan) => Array<{ role: string; client: string }>,
): GovernedState {
  const governed = new Set(workflows.map((w) => w.workflow));
  const attributes: GovernedState["attributes"] = [];
  for (const workflow of plan.filter((w) => governed.has(w.name))) {
    const byClient = new Map(workflow.clients.map((c) => [c.name, c.attributes]));
    for (const login of loginsOf(workflow))
      attributes.push({ login: login.role, workflow: workflow.name, attributes: { ...(byClient.get(login.client) ?? {}) } });
  }
  attributes.sort((a, b) => byString(a.login, b.login));
  return {
    workflows,
    attributes,
    keys: workflows
      .filter((w) => w.hashes)
      .map((w) => w.workflow)
      .sort(byString),
  };
}

// ---------------------------------------------------------------------------------------------
// Statements, shared by the reconciler's diff and the Pulumi component
// ---------------------------------------------------------------------------------------------

const internal = (table: string) => qualified(INTERNAL_SCHEMA, table);

/** The statement every governed change runs first: built-in names only, for the rest of the transaction. */
export const SET_GOVERNED_SEARCH_PATH = `SET LOCAL search_path = ${GOVERNED_SEARCH_PATH}`;

/**
 * A statement that fails, saying why, when `schema` exists without dbwarden's mark: nothing is
 * created in, or dropped with, a schema someone else owns. (A failed cast is the one error plain
 * SQL can raise with a message of its own.)
 */
export function refuseForeignSchema(schema: string): string {
  // The message is built from the row, so the cast runs only for a row found (a constant would be cast at planning).
  return (
    `SELECT ('refused: schema ' || n.nspname || ` +
    `${literal(" exists and is not dbwarden's (no dbwarden-managed comment); rename or drop it by hand")})::integer ` +
    `FROM pg_catalog.pg_namespace n WHERE n.nspname = ${literal(schema)} ` +
    `AND coalesce(pg_catalog.obj_description(n.oid, 'pg_namespace'), '') NOT LIKE 'dbwarden-managed %'`
  );
}

/** Create the internal schema and its tables (idempotent); no agent, and not PUBLIC, may use them. */
export function internalSchemaStatements(): string[] {
  const schema = ident(INTERNAL_SCHEMA);
  return [
    refuseForeignSchema(INTERNAL_SCHEMA),
    `CREATE SCHEMA IF NOT EXISTS ${schema}`,
    `COMMENT ON SCHEMA ${schema} IS ${literal(INTERNAL_MARKER)}`,
    `REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC`,
    `CREATE TABLE IF NOT EXISTS ${internal(ATTRIBUTES_TABLE)} (login text PRIMARY KEY, workflow text NOT NULL, attributes jsonb NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${internal(KEYS_TABLE)} (workflow text PRIMARY KEY, key text NOT NULL CHECK (length(key) >= 64))`,
    `CREATE TABLE IF NOT EXISTS ${internal(VIEWS_TABLE)} (schema text NOT NULL, name text ` +
      `NOT NULL, plan text NOT NULL, definition text NOT NULL, PRIMARY KEY (schema, name))`,
    `REVOKE ALL ON ${internal(ATTRIBUTES_TABLE)}, ${internal(KEYS_TABLE)}, ${internal(VIEWS_TABLE)} FROM PUBLIC`,
  ];
}

/** Create a workflow's governed schema, marked, with USAGE for its group only. */
export function governedSchemaStatements(w: GovernedWorkflow): string[] {
  return [
    `CREATE SCHEMA ${ident(w.schema)}`,
    `COMMENT ON SCHEMA ${ident(w.schema)} IS ${literal(w.marker)}`,
    `GRANT USAGE ON SCHEMA ${ident(w.schema)} TO ${ident(w.group)}`,
  ];
}

/**
 * The definition hash of a view, in SQL (`view` is an expression of its OID): of the query tree
 * PostgreSQL stored for it (`pg_rewrite.ev_action`), which any replacement of the view changes.
 * Cheaper than printing the definition back (`pg_get_viewdef`), and independent of search_path.
 */
export function definitionHashSql(view: string): string {
  return (
    `left(encode(sha256(convert_to((SELECT r.ev_action::text FROM pg_catalog.pg_rewrite ` +
    `r WHERE r.ev_class = ${view} AND r.rulename = '_RETURN'), 'UTF8')), 'hex'), 16)`
  );
}

/** (Re)create a view, record its hashes and grant it to the group: the whole life of one view. */
export function viewStatements(view: GovernedView, group: string): string[] {
  const name = qualified(view.schema, view.name);
  return [
    `DROP VIEW IF EXISTS ${name}`,
    view.create,
    `INSERT INTO ${internal(VIEWS_TABLE)} (schema, name, plan, definition) VALUES (${literal(view.schema)}, ` +
      `${literal(view.name)}, ${literal(view.planHash)}, ${definitionHashSql(`${literal(name)}::regclass`)}) ` +
      `ON CONFLICT (schema, name) DO UPDATE SET plan = excluded.plan, definition = excluded.definition`,
    `GRANT SELECT ON ${name} TO ${ident(group)}`,
  ];
}

/** Set one login's attributes row. */
export function attributeRowStatement(row: GovernedState["attributes"][number]): string {
  const attributes = JSON.stringify(
    Object.fromEntries(
      Object.keys(row.attributes)
        .sort(byString)
        .map((k) => [k, row.attributes[k]]),
    ),
  );
  return (
    `INSERT INTO ${internal(ATTRIBUTES_TABLE)} (login, workflow, attributes) VALUES ` +
    `(${literal(row.login)}, ${literal(row.workflow)}, ${literal(attributes)}::jsonb) ` +
    `ON CONFLICT (login) DO UPDATE SET workflow = excluded.workflow, attributes = excluded.attributes`
  );
}

/** Give a workflow a key, generated in the database (never seen outside it), unless it has one. */
export function keyStatement(workflow: string): string {
  return (
    `INSERT INTO ${internal(KEYS_TABLE)} (workflow, key) VALUES (${literal(workflow)}, ` +
    `replace(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, '-', '')) ` +
    `ON CONFLICT (workflow) DO NOTHING`
  );
}

/**
 * Everything the state needs, from whatever the database holds (the Pulumi component's create
 * and update): the internal schema, each governed schema afresh with its views, the rows. Run
 * after `teardown` of the previous state, in one transaction.
 */
export function governedApplyStatements(state: GovernedState): string[] {
  if (state.workflows.length === 0) return [];
  const statements = [SET_GOVERNED_SEARCH_PATH, ...internalSchemaStatements()];
  for (const w of state.workflows) {
    statements.push(refuseForeignSchema(w.schema), `DROP SCHEMA IF EXISTS ${ident(w.schema)} CASCADE`, ...governedSchemaStatements(w));
    for (const view of w.views) statements.push(...viewStatements(view, w.group));
  }
  const listed = (values: string[]) => (values.length === 0 ? "ARRAY[]::text[]" : `ARRAY[${values.map(literal).join(", ")}]`);
  // Names hold no dots (identifiers of the spec, schemas named like roles): `schema.name` is one key.
  const views = state.workflows.flatMap((w) => w.views.map((v) => `${v.schema}.${v.name}`));
  statements.push(
    `DELETE FROM ${internal(VIEWS_TABLE)} WHERE (schema || '.' || name) <> ALL (${listed(views)})`,
    ...state.attributes.map(attributeRowStatement),
    `DELETE FROM ${internal(ATTRIBUTES_TABLE)} WHERE login <> ALL (${listed(state.attributes.map((r) => r.login))})`,
    ...state.keys.map(keyStatement),
    `DELETE FROM ${internal(KEYS_TABLE)} WHERE workflow <> ALL (${listed(state.keys)})`,
  );
  return statements;
}

/** Remove the state's governed schemas (their views with them): before applying the next state, or on delete. */
export function governedTeardownStatements(state: GovernedState): string[] {
  return state.workflows.flatMap((w) => [refuseForeignSchema(w.schema), `DROP SCHEMA IF EXISTS ${ident(w.schema)} CASCADE`]);
}

/** Remove everything, the internal schema (and its keys) too: the component deleted. */
export function governedDestroyStatements(state: GovernedState): string[] {
  return [...governedTeardownStatements(state), refuseForeignSchema(INTERNAL_SCHEMA), `DROP SCHEMA IF EXISTS ${ident(INTERNAL_SCHEMA)} CASCADE`];
}
