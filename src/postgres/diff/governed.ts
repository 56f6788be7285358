/**
 * The governed phase of the comparison: the views that enforce masks, row filters and reporting
 * views (../model/governed.ts) against what the database holds. Each governed schema exists,
 * marked as dbwarden's; each planned view exists, is a `security_barrier` view, and is the one
 * planned: its recorded plan hash is the plan's and its definition is the one it was created with
 * (a view replaced by hand is drift); nothing else is in the schema; the internal schema holds
 * exactly the planned attribute rows and a whole key per hashing workflow. A schema of the same
 * name that is not dbwarden's is a problem: nothing is created in or dropped with it.
 *
 * The views' statements run before the grants phase; the grants phase leaves alone what this
 * phase (re)creates with its grants (`DiffContext.rebuilt`).
 */
import { tableKey } from "@dbwarden/contract";
import type { GovernedRelation } from "../catalog.ts";
import {
  attributeRowStatement,
  governedSchemaStatements,
  INTERNAL_MARKER,
  INTERNAL_SCHEMA,
  internalSchemaStatements,
  keyStatement,
  parseGovernedSchemaMarker,
  SET_GOVERNED_SEARCH_PATH,
  viewStatements,
  ATTRIBUTES_TABLE,
  KEYS_TABLE,
  VIEWS_TABLE,
} from "../model/governed.ts";
import type { GovernedView, GovernedWorkflow } from "../model/types.ts";
import { ident, literal, qualified } from "../sql.ts";
import { PHASE, plain, type DiffContext, type Statement } from "./context.ts";

const governedStatements = (sql: string[]): Statement[] => [SET_GOVERNED_SEARCH_PATH, ...sql].map(plain);
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const stable = (value: unknown) =>
  JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => byString(a, b))) : v,
  );

/** The governed phase: schemas, views, the internal schema and its rows. */
export function governedDifferences(ctx: DiffContext): void {
  const { model, catalog, add } = ctx;
  const state = model.governed;
  const live = catalog.governed;
  const internalOk = internalDifferences(ctx);
  const planned = new Set(state.workflows.map((w) => w.schema));
  for (const w of state.workflows) {
    const schema = live.schemas.get(w.schema);
    const marker = parseGovernedSchemaMarker(schema?.comment ?? null);
    if (schema && (!marker || marker.environment !== model.environment || marker.target !== model.target || marker.workflow !== w.workflow)) {
      add(
        "missing-object",
        w.group,
        `schema ${w.schema}, where workflow ${w.workflow}'s masked, filtered and reporting views go, ` +
          `exists and is not dbwarden's for it (its comment does not mark it); rename or drop it by hand`,
        PHASE.problems,
      );
      continue;
    }
    if (!internalOk) continue;
    if (!schema) {
      ctx.rebuilt.schemas.add(w.schema);
      for (const v of w.views) ctx.rebuilt.views.add(tableKey(v.schema, v.name));
      add(
        "governed",
        w.group,
        `workflow ${w.workflow}'s governed schema ${w.schema} does not exist (${w.views.map((v) => v.name).join(", ")} read through it)`,
        PHASE.governed,
        governedStatements([...governedSchemaStatements(w), ...w.views.flatMap((v) => viewStatements(v, w.group))]),
      );
      continue;
    }
    viewDifferences(ctx, w);
  }
  // Governed schemas this environment and target marked for workflows that no longer have any.
  for (const [name, schema] of live.schemas) {
    const marker = parseGovernedSchemaMarker(schema.comment);
    if (!marker || marker.environment !== model.environment || marker.target !== model.target || planned.has(name)) continue;
    add(
      "governed",
      name,
      `schema ${name} holds governed views of workflow ${marker.workflow}, which the plan no longer reads through any: it should not exist`,
      PHASE.drops,
      [plain(`DROP SCHEMA ${ident(name)} CASCADE`)],
    );
  }
  if (internalOk) rowDifferences(ctx);
}

/**
 * The internal schema: there, marked and whole when some workflow is governed; gone (if dbwarden's) when none is. Returns whether governed objects
 * can be built.
 */
function internalDifferences(ctx: DiffContext): boolean {
  const { model, catalog, add } = ctx;
  const internal = catalog.governed.internal;
  const needed = model.governed.workflows.length > 0;
  if (internal && internal.comment !== INTERNAL_MARKER) {
    if (needed)
      add(
        "missing-object",
        INTERNAL_SCHEMA,
        `schema ${INTERNAL_SCHEMA}, where dbwarden keeps client attributes and hash keys, ` +
          `exists and is not dbwarden's (its comment does not mark it); rename or drop it by hand`,
        PHASE.problems,
      );
    return false;
  }
  if (!needed) {
    if (internal)
      add("governed", INTERNAL_SCHEMA, `schema ${INTERNAL_SCHEMA} is left from masked, filtered or reporting views the plan no longer has`, PHASE.drops, [
        plain(`DROP SCHEMA ${ident(INTERNAL_SCHEMA)} CASCADE`),
      ]);
    return false;
  }
  const missing = [ATTRIBUTES_TABLE, KEYS_TABLE, VIEWS_TABLE].filter((t) => !internal?.tables.includes(t));
  if (missing.length > 0)
    add(
      "governed",
      INTERNAL_SCHEMA,
      internal
        ? `schema ${INTERNAL_SCHEMA} lacks ${missing.join(", ")}`
        : `schema ${INTERNAL_SCHEMA}, where dbwarden keeps client attributes and hash keys, does not exist`,
      PHASE.internal,
      governedStatements(internalSchemaStatements()),
    );
  return true;
}

/** Why a live relation is not the planned view, or null when it is. */
function viewDrift(ctx: DiffContext, view: GovernedView, live: GovernedRelation): string | null {
  if (live.kind !== "v") return `${view.schema}.${view.name} is not a view`;
  if (!live.options.includes("security_barrier=true"))
    return `view ${view.schema}.${view.name} is not a security_barrier view: the agent's own conditions could run before its row filter`;
  if (live.options.includes("security_invoker=true")) return `view ${view.schema}.${view.name} runs with the caller's rights (security_invoker)`;
  const recorded = ctx.catalog.governed.registry.get(`${view.schema}.${view.name}`);
  if (!recorded) return `view ${view.schema}.${view.name} was not created by dbwarden (no record of its definition)`;
  if (recorded.plan !== view.planHash)
    return `view ${view.schema}.${view.name} differs from the plan (${view.kind === "table" ? "its columns, masks or row filter" : "its SELECT"} changed)`;
  if (recorded.definition !== live.definition)
    return `view ${view.schema}.${view.name} was changed in the database: its definition is not the one dbwarden created`;
  return null;
}

/** One existing governed schema's views: the planned ones as planned, no others. */
function viewDifferences(ctx: DiffContext, w: GovernedWorkflow): void {
  const { catalog, add } = ctx;
  const live = new Map(catalog.governed.relations.filter((r) => r.schema === w.schema).map((r) => [r.name, r]));
  for (const view of w.views) {
    const found = live.get(view.name);
    const why = found
      ? viewDrift(ctx, view, found)
      : `view ${view.schema}.${view.name} ` +
        `(${view.kind === "table" ? `${view.source!.schema}.${view.source!.table} as workflow ${w.workflow} reads it` : `reporting view of workflow ${w.workflow}`}) ` +
        `does not exist`;
    if (!why) continue;
    if (found && found.kind !== "v") {
      add("missing-object", w.group, `${why}; it is in dbwarden's governed schema but not dbwarden's: drop or move it by hand`, PHASE.problems);
      continue;
    }
    ctx.rebuilt.views.add(tableKey(view.schema, view.name));
    add("governed", w.group, why, PHASE.governed, governedStatements(viewStatements(view, w.group)));
  }
  const planned = new Set(w.views.map((v) => v.name));
  for (const relation of [...live.values()].filter((r) => !planned.has(r.name)).sort((a, b) => byString(a.name, b.name))) {
    const name = qualified(relation.schema, relation.name);
    if (relation.kind === "v") {
      add("governed", w.group, `view ${relation.schema}.${relation.name} is in workflow ${w.workflow}'s governed schema and not in the plan`, PHASE.governed, [
        plain(`DROP VIEW ${name}`),
        plain(`DELETE FROM ${qualified(INTERNAL_SCHEMA, VIEWS_TABLE)} WHERE schema = ${literal(relation.schema)} AND name = ${literal(relation.name)}`),
      ]);
    } else
      add(
        "governed",
        w.group,
        `${relation.schema}.${relation.name} is in workflow ${w.workflow}'s governed schema and not in the plan: drop or move it by hand`,
        PHASE.governed,
      );
  }
}

/** The internal tables' rows: each login's attributes, each hashing workflow's key, no others. */
function rowDifferences(ctx: DiffContext): void {
  const { model, catalog, add } = ctx;
  const state = model.governed;
  const live = catalog.governed;
  const attributes = qualified(INTERNAL_SCHEMA, ATTRIBUTES_TABLE);
  const keys = qualified(INTERNAL_SCHEMA, KEYS_TABLE);
  for (const row of state.attributes) {
    const found = live.attributes.get(row.login);
    if (found && found.workflow === row.workflow && stable(found.attributes) === stable(row.attributes)) continue;
    add(
      "governed",
      row.login,
      found
        ? `${row.login}'s attributes are ${stable(found.attributes)}; the plan says ${stable(row.attributes)}: its row filters would pick other rows`
        : `${row.login} has no attributes row: its row filters find no rows`,
      PHASE.governed,
      governedStatements([attributeRowStatement(row)]),
    );
  }
  const planned = new Set(state.attributes.map((r) => r.login));
  for (const login of [...live.attributes.keys()].filter((l) => !planned.has(l)).sort(byString)) {
    add("governed", login, `${login} has an attributes row the plan does not give it`, PHASE.governed, [
      plain(`DELETE FROM ${attributes} WHERE login = ${literal(login)}`),
    ]);
  }
  for (const workflow of state.keys) {
    const whole = live.keys.get(workflow);
    if (whole === true) continue;
    const statements = whole === false ? [`DELETE FROM ${keys} WHERE workflow = ${literal(workflow)}`, keyStatement(workflow)] : [keyStatement(workflow)];
    add(
      "governed",
      workflow,
      `workflow ${workflow} ${whole === false ? "has a key too short" : "has no key"} for its hash masks`,
      PHASE.governed,
      governedStatements(statements),
    );
  }
  for (const workflow of [...live.keys.keys()].filter((k) => !state.keys.includes(k)).sort(byString)) {
    add("governed", workflow, `workflow ${workflow} has a hash key, and no hash mask in the plan`, PHASE.governed, [
      plain(`DELETE FROM ${keys} WHERE workflow = ${literal(workflow)}`),
    ]);
  }
  const views = new Set(state.workflows.flatMap((w) => w.views.map((v) => `${v.schema}.${v.name}`)));
  for (const key of [...live.registry.keys()].filter((k) => !views.has(k)).sort(byString)) {
    const [schema, name] = key.split(".") as [string, string];
    add(
      "governed",
      INTERNAL_SCHEMA,
      `the record of view ${key}, which the plan no longer has`,
      PHASE.drops,
      [plain(`DELETE FROM ${qualified(INTERNAL_SCHEMA, VIEWS_TABLE)} WHERE schema = ${literal(schema)} AND name = ${literal(name)}`)],
      "advisory",
    );
  }
}
