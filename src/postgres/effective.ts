/**
 * Effective access of database roles: what each role can really do, counting privileges granted to
 * it directly, to every role it inherits from, and to PUBLIC. Plain, sorted, JSON-comparable data:
 * two reads of an unchanged database give deep-equal results.
 */
import type pg from "pg";
import { inheritedRoles, readCatalog, tableKey, type AclEntry, type Catalog } from "./catalog.ts";
import { PUBLIC } from "./sql.ts";

/** A privilege and every grantee it comes through (the role itself, a role it inherits from, or "PUBLIC"). */
export interface EffectivePrivilege {
  privilege: string;
  via: string[];
}

export interface EffectiveRole {
  name: string;
  /** False when no such role exists; everything else is then empty. */
  exists: boolean;
  attributes: {
    login: boolean;
    inherit: boolean;
    superuser: boolean;
    createdb: boolean;
    createrole: boolean;
    replication: boolean;
    bypassrls: boolean;
  };
  connectionLimit: number;
  validUntil: string | null;
  comment: string | null;
  /** Direct memberships: roles granted to this role. */
  memberOf: Array<{ role: string; inherit: boolean; set: boolean; admin: boolean; grantor: string | null }>;
  /** Every role whose privileges this role uses (through INHERIT memberships, transitively), sorted. */
  inheritsFrom: string[];
  /** Roles this role is granted to. */
  members: string[];
  /** `ALTER ROLE ... SET` values; `database` null = every database. */
  settings: Array<{ database: string | null; name: string; value: string }>;
  database: EffectivePrivilege[];
  schemas: Array<{ schema: string; privileges: EffectivePrivilege[] }>;
  /** Tables (and views, sequences...) with any privilege; `columns` lists column-level privileges only. */
  tables: Array<{
    schema: string;
    table: string;
    kind: string;
    privileges: EffectivePrivilege[];
    columns: Array<{ column: string; privileges: EffectivePrivilege[] }>;
  }>;
  /** Objects the role (or a role it inherits from) owns: an owner holds every privilege on them. */
  owns: Array<{ object: string; owner: string }>;
  /** Default privileges that will give this role (or PUBLIC) access to objects created in future. */
  defaultPrivileges: Array<{ owner: string; schema: string | null; objectType: string; grantee: string; privileges: string[] }>;
}

export interface EffectiveAccess {
  database: string;
  roles: EffectiveRole[];
}

/** Sort by UTF-16 code units, not locale: the same order on every machine. */
export const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export async function readEffectiveAccess(client: pg.ClientBase, roles: string[]): Promise<EffectiveAccess> {
  const catalog = await readCatalog(client, { roles });
  return effectiveAccessFrom(catalog, roles);
}

/** Which grantees' privileges a role uses: itself, what it inherits from, and PUBLIC. */
export function holdersOf(catalog: Catalog, role: string): string[] {
  const holders = inheritedRoles(catalog.memberships, [role]);
  holders.add(PUBLIC);
  return [...holders];
}

function collect(entries: Iterable<AclEntry>, holders: ReadonlySet<string>): EffectivePrivilege[] {
  const byPrivilege = new Map<string, Set<string>>();
  for (const e of entries) {
    if (!holders.has(e.grantee)) continue;
    let via = byPrivilege.get(e.privilege);
    if (!via) byPrivilege.set(e.privilege, (via = new Set()));
    via.add(e.grantee);
  }
  return [...byPrivilege.keys()].sort(byString).map((privilege) => ({ privilege, via: [...byPrivilege.get(privilege)!].sort(byString) }));
}

/** Items by key, each list in input order. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

export function effectiveAccessFrom(catalog: Catalog, roles: readonly string[]): EffectiveAccess {
  const schemaAcl = groupBy(catalog.schemaAcl, (e) => e.schema);
  const tableAcl = groupBy(catalog.tableAcl, (e) => tableKey(e.schema, e.table));
  const columnAcl = groupBy(catalog.columnAcl, (e) => tableKey(e.schema, e.table));

  const out: EffectiveRole[] = [];
  for (const name of [...new Set(roles)].sort(byString)) {
    const role = catalog.roles.get(name);
    if (!role) {
      out.push({
        name,
        exists: false,
        attributes: { login: false, inherit: false, superuser: false, createdb: false, createrole: false, replication: false, bypassrls: false },
        connectionLimit: -1,
        validUntil: null,
        comment: null,
        memberOf: [],
        inheritsFrom: [],
        members: [],
        settings: [],
        database: [],
        schemas: [],
        tables: [],
        owns: [],
        defaultPrivileges: [],
      });
      continue;
    }
    const holderList = holdersOf(catalog, name);
    const holders = new Set(holderList);

    const tableKeys = new Set<string>();
    for (const [k, entries] of tableAcl) if (entries.some((e) => holders.has(e.grantee))) tableKeys.add(k);
    for (const [k, entries] of columnAcl) if (entries.some((e) => holders.has(e.grantee))) tableKeys.add(k);
    const tables = [...tableKeys]
      .map((k) => {
        const entries = tableAcl.get(k) ?? [];
        const { schema, table } = entries[0] ?? columnAcl.get(k)![0]!;
        const cols = groupBy(
          (columnAcl.get(k) ?? []).filter((e) => holders.has(e.grantee)),
          (e) => e.column,
        );
        return {
          schema,
          table,
          kind: entries[0]?.kind ?? "r",
          privileges: collect(entries, holders),
          columns: [...cols.keys()].sort(byString).map((column) => ({ column, privileges: collect(cols.get(column)!, holders) })),
        };
      })
      .filter((t) => t.privileges.length > 0 || t.columns.length > 0)
      .sort((a, b) => byString(a.schema, b.schema) || byString(a.table, b.table));

    const defaults = groupBy(
      catalog.defaultAcl.filter((d) => holders.has(d.grantee)),
      (d) => `${d.owner}\u0000${d.schema ?? ""}\u0000${d.objectType}\u0000${d.grantee}`,
    );

    out.push({
      name,
      exists: true,
      attributes: {
        login: role.login,
        inherit: role.inherit,
        superuser: role.superuser,
        createdb: role.createdb,
        createrole: role.createrole,
        replication: role.replication,
        bypassrls: role.bypassrls,
      },
      connectionLimit: role.connectionLimit,
      validUntil: role.validUntil,
      comment: role.comment,
      memberOf: catalog.memberships
        .filter((m) => m.member === name)
        .map((m) => ({ role: m.role, inherit: m.inherit, set: m.set, admin: m.admin, grantor: m.grantor }))
        .sort((a, b) => byString(a.role, b.role) || byString(a.grantor ?? "", b.grantor ?? "")),
      inheritsFrom: holderList.filter((h) => h !== name && h !== PUBLIC).sort(byString),
      members: [...new Set(catalog.memberships.filter((m) => m.role === name).map((m) => m.member))].sort(byString),
      settings: catalog.settings
        .filter((s) => s.role === name)
        .map((s) => ({ database: s.database, name: s.name, value: s.value }))
        .sort((a, b) => byString(a.database ?? "", b.database ?? "") || byString(a.name, b.name)),
      database: collect(catalog.databaseAcl, holders),
      schemas: [...schemaAcl.keys()]
        .sort(byString)
        .map((schema) => ({ schema, privileges: collect(schemaAcl.get(schema)!, holders) }))
        .filter((s) => s.privileges.length > 0),
      tables,
      owns: catalog.ownership
        .filter((o) => holders.has(o.role))
        .map((o) => ({ object: o.object, owner: o.role }))
        .sort((a, b) => byString(a.object, b.object) || byString(a.owner, b.owner)),
      defaultPrivileges: [...defaults.values()]
        .map((ds) => ({
          owner: ds[0]!.owner,
          schema: ds[0]!.schema,
          objectType: ds[0]!.objectType,
          grantee: ds[0]!.grantee,
          privileges: [...new Set(ds.map((d) => d.privilege))].sort(byString),
        }))
        .sort(
          (a, b) =>
            byString(a.owner, b.owner) || byString(a.schema ?? "", b.schema ?? "") || byString(a.objectType, b.objectType) || byString(a.grantee, b.grantee),
        ),
    });
  }
  return { database: catalog.database, roles: out };
}
