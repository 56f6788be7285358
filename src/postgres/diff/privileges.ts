/**
 * The privileges phase of the comparison: each group role holds exactly its planned CONNECT,
 * USAGE and table or column SELECTs, a login holds nothing directly (only through its group), and
 * PUBLIC keeps what the model's `public` allows where the spec lets dbwarden change PUBLIC (where it
 * does not, ./public.ts reports what PUBLIC gives the agents). Grants WITH GRANT OPTION lose the option.
 */
import { tableKey } from "@dbwarden/contract";
import type { AclEntry, CatalogColumnAcl, CatalogTableAcl } from "../catalog.ts";
import { byString, groupBy } from "../effective.ts";
import type { PostgresModel } from "../model.ts";
import { READ_PRIVILEGES, privilegeWords } from "../rules.ts";
import { PUBLIC, grantee, ident, qualified } from "../sql.ts";
import { PHASE, plain, type DiffContext } from "./context.ts";

/** What one grantee should hold, keyed for comparison with the catalog's ACL entries. */
export interface WantedGrants {
  database: Set<string>;
  schemas: Map<string, Set<string>>;
  /** tableKey -> the table and its table-level privileges. */
  tables: Map<string, { schema: string; table: string; privileges: Set<string> }>;
  /** tableKey -> the table and, per privilege, its columns. */
  columns: Map<string, { schema: string; table: string; privileges: Map<string, Set<string>> }>;
}

const nothing = (): WantedGrants => ({ database: new Set(), schemas: new Map(), tables: new Map(), columns: new Map() });

/** Each group role's grants from the model. */
export function wantedByGroup(model: PostgresModel): Map<string, WantedGrants> {
  const wanted = new Map<string, WantedGrants>();
  for (const group of model.groups) {
    const want = nothing();
    for (const p of group.database) want.database.add(p);
    for (const schema of group.schemas) want.schemas.set(schema, new Set([READ_PRIVILEGES.schema]));
    for (const t of group.tables) {
      const k = tableKey(t.schema, t.table);
      if (t.columns === null) want.tables.set(k, { schema: t.schema, table: t.table, privileges: new Set([READ_PRIVILEGES.table]) });
      else want.columns.set(k, { schema: t.schema, table: t.table, privileges: new Map([[READ_PRIVILEGES.column, new Set(t.columns)]]) });
    }
    // Its governed views: USAGE on their schema, a table-level SELECT on each (a view holds only what it may read).
    if (group.governed) {
      want.schemas.set(group.governed.schema, new Set([READ_PRIVILEGES.schema]));
      for (const view of group.governed.views)
        want.tables.set(tableKey(group.governed.schema, view), { schema: group.governed.schema, table: view, privileges: new Set([READ_PRIVILEGES.table]) });
    }
    wanted.set(group.role, want);
  }
  return wanted;
}

/** Who a grantee is, in a reviewer's words. */
export function describeGrantee(role: string): string {
  return role === PUBLIC ? "PUBLIC (every role, so every agent too)" : role;
}

/** The privileges phase, for every planned role that exists or will, and PUBLIC. */
export function diffPrivileges(ctx: DiffContext): void {
  const { catalog, model } = ctx;
  const wanted = wantedByGroup(model);
  const acl = {
    database: groupBy(catalog.databaseAcl, (e) => e.grantee),
    schema: groupBy(catalog.schemaAcl, (e) => e.grantee),
    table: groupBy(catalog.tableAcl, (e) => e.grantee),
    column: groupBy(catalog.columnAcl, (e) => e.grantee),
  };
  const grantees = model.roles.map((r) => r.name).filter((n) => catalog.roles.has(n) || wanted.has(n));
  if (model.public.mode === "revoke") grantees.push(PUBLIC);
  for (const g of grantees) {
    const want = g === PUBLIC ? nothing() : withoutRebuilt(ctx, wanted.get(g) ?? nothing());
    if (g === PUBLIC) for (const p of model.public.database) want.database.add(p);
    const compare = objectComparer(ctx, g);
    compare(acl.database.get(g) ?? [], want.database, `DATABASE ${ctx.db}`, `database ${catalog.database}`);
    diffSchemas(
      ctx,
      g,
      compare,
      (acl.schema.get(g) ?? []).filter((e) => !ctx.rebuilt.schemas.has(e.schema)),
      want,
    );
    diffTables(
      ctx,
      g,
      compare,
      (acl.table.get(g) ?? []).filter((e) => !ctx.rebuilt.views.has(tableKey(e.schema, e.table))),
      acl.column.get(g) ?? [],
      want,
    );
  }
}

/** A grantee's wanted grants without what the governed phase (re)creates, with its grants, in this run. */
function withoutRebuilt(ctx: DiffContext, want: WantedGrants): WantedGrants {
  const { schemas, views } = ctx.rebuilt;
  if (schemas.size === 0 && views.size === 0) return want;
  return {
    ...want,
    schemas: new Map([...want.schemas].filter(([schema]) => !schemas.has(schema))),
    tables: new Map([...want.tables].filter(([key]) => !views.has(key))),
  };
}

/** Compares one object's privileges for one grantee; returns the privileges it revokes. */
type ObjectComparer = (entries: readonly AclEntry[], wanted: ReadonlySet<string>, on: string, object: string) => Set<string>;

/** Why a grantee should not hold what it holds, in words. */
function whyNot(ctx: DiffContext, g: string): string {
  if (g === PUBLIC) return "granted to PUBLIC";
  const role = ctx.managed.get(g);
  return role?.login ? `granted directly to the login; the plan grants access only through ${role.group}` : "not in the plan";
}

function objectComparer(ctx: DiffContext, g: string): ObjectComparer {
  const to = grantee(g);
  const why = whyNot(ctx, g);
  return (entries, wanted, on, object) => {
    const have = new Set(entries.map((e) => e.privilege));
    const extra = [...have].filter((p) => !wanted.has(p)).sort(byString);
    const missing = [...wanted].filter((p) => !have.has(p)).sort(byString);
    const grantable = [...new Set(entries.filter((e) => e.grantable && wanted.has(e.privilege)).map((e) => e.privilege))].sort(byString);
    if (extra.length > 0) {
      ctx.add(g === PUBLIC ? "public" : "privilege", g, `${describeGrantee(g)} can ${extra.map(privilegeWords).join(", ")} ${object} (${why})`, PHASE.revokes, [
        plain(`REVOKE ${extra.join(", ")} ON ${on} FROM ${to}`),
      ]);
    }
    if (missing.length > 0) {
      ctx.add("privilege", g, `${g} cannot ${missing.map(privilegeWords).join(", ")} ${object}: the plan grants it`, PHASE.grants, [
        plain(`GRANT ${missing.join(", ")} ON ${on} TO ${to}`),
      ]);
    }
    if (grantable.length > 0) {
      ctx.add("privilege", g, `${g} can pass on ${grantable.join(", ")} on ${object} to others (WITH GRANT OPTION)`, PHASE.revokes, [
        plain(`REVOKE GRANT OPTION FOR ${grantable.join(", ")} ON ${on} FROM ${to}`),
      ]);
    }
    return new Set(extra);
  };
}

function diffSchemas(ctx: DiffContext, g: string, compare: ObjectComparer, entries: ReadonlyArray<AclEntry & { schema: string }>, want: WantedGrants): void {
  const planned = new Set(ctx.model.public.plannedSchemas);
  const bySchema = groupBy(entries, (e) => e.schema);
  for (const schema of [...new Set([...bySchema.keys(), ...want.schemas.keys()])].sort(byString)) {
    let held = bySchema.get(schema) ?? [];
    // PUBLIC may keep `otherSchemas` (USAGE) on schemas no workflow reads.
    if (g === PUBLIC && !planned.has(schema)) held = held.filter((e) => !ctx.model.public.otherSchemas.includes(e.privilege));
    compare(held, want.schemas.get(schema) ?? new Set(), `SCHEMA ${ident(schema)}`, `schema ${schema}`);
  }
}

/** Table-level privileges, then column-level ones: revoking a table-level privilege revokes it on every column too. */
function diffTables(
  ctx: DiffContext,
  g: string,
  compare: ObjectComparer,
  tableEntries: readonly CatalogTableAcl[],
  columnEntries: readonly CatalogColumnAcl[],
  want: WantedGrants,
): void {
  const tableAcl = groupBy(tableEntries, (e) => tableKey(e.schema, e.table));
  const columnAcl = groupBy(columnEntries, (e) => tableKey(e.schema, e.table));
  const tables = new Map<string, { schema: string; table: string; kind: string }>();
  for (const e of columnEntries) tables.set(tableKey(e.schema, e.table), { schema: e.schema, table: e.table, kind: "r" });
  for (const e of tableEntries) tables.set(tableKey(e.schema, e.table), { schema: e.schema, table: e.table, kind: e.kind });
  for (const [k, t] of [...want.tables, ...want.columns]) {
    if (!tables.has(k)) tables.set(k, { schema: t.schema, table: t.table, kind: ctx.catalog.tableColumns.get(k)?.kind ?? "r" });
  }
  for (const k of [...tables.keys()].sort(byString)) {
    const { schema, table, kind } = tables.get(k)!;
    const on = `${kind === "S" ? "SEQUENCE" : "TABLE"} ${qualified(schema, table)}`;
    const revoked = compare(tableAcl.get(k) ?? [], want.tables.get(k)?.privileges ?? new Set(), on, `${schema}.${table}`);
    const columns = (columnAcl.get(k) ?? []).filter((e) => !revoked.has(e.privilege));
    diffColumns(ctx, g, on, `${schema}.${table}`, columns, want.columns.get(k)?.privileges ?? new Map());
  }
}

/** One table's column privileges for one grantee. */
function diffColumns(
  ctx: DiffContext,
  g: string,
  on: string,
  name: string,
  entries: readonly CatalogColumnAcl[],
  wanted: ReadonlyMap<string, ReadonlySet<string>>,
): void {
  const to = grantee(g);
  const cols = (list: string[]) => list.map(ident).join(", ");
  const listed = (list: string[]) => list.map((c) => `${name}.${c}`).join(", ");
  for (const privilege of [...new Set([...entries.map((e) => e.privilege), ...wanted.keys()])].sort(byString)) {
    const have = entries.filter((e) => e.privilege === privilege);
    const want = wanted.get(privilege) ?? new Set<string>();
    const held = new Set(have.map((e) => e.column));
    const extra = [...new Set(have.filter((e) => !want.has(e.column)).map((e) => e.column))].sort(byString);
    const missing = [...want].filter((c) => !held.has(c)).sort(byString);
    const grantable = have
      .filter((e) => want.has(e.column) && e.grantable)
      .map((e) => e.column)
      .sort(byString);
    if (extra.length > 0) {
      ctx.add(
        g === PUBLIC ? "public" : "privilege",
        g,
        `${describeGrantee(g)} can ${privilegeWords(privilege)} column${extra.length > 1 ? "s" : ""} ${listed(extra)} (${whyNot(ctx, g)})`,
        PHASE.revokes,
        [plain(`REVOKE ${privilege} (${cols(extra)}) ON ${on} FROM ${to}`)],
      );
    }
    if (missing.length > 0) {
      ctx.add("privilege", g, `${g} cannot ${privilegeWords(privilege)} ${listed(missing)}: the plan grants it`, PHASE.grants, [
        plain(`GRANT ${privilege} (${cols(missing)}) ON ${on} TO ${to}`),
      ]);
    }
    if (grantable.length > 0) {
      ctx.add("privilege", g, `${g} can pass on ${privilege} on ${listed(grantable)} to others (WITH GRANT OPTION)`, PHASE.revokes, [
        plain(`REVOKE GRANT OPTION FOR ${privilege} (${cols(grantable)}) ON ${on} FROM ${to}`),
      ]);
    }
  }
}
