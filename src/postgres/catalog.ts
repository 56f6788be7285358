/**
 * One read of everything the reconciler and drift detection need from a database's catalog.
 * Each query is one round trip, whatever the number of tables or roles: ACLs are exploded in the
 * server (`aclexplode`, with `acldefault` standing in for a NULL ACL) and filtered to the roles
 * that matter (the roles asked about, every role they inherit from, and PUBLIC).
 */
import type pg from "pg";

/** Schemas whose objects are PostgreSQL's own. */
const SYSTEM_SCHEMA_SQL = `(n.nspname !~ '^pg_' and n.nspname <> 'information_schema')`;

export interface CatalogRole {
  oid: string;
  name: string;
  superuser: boolean;
  inherit: boolean;
  createrole: boolean;
  createdb: boolean;
  login: boolean;
  replication: boolean;
  bypassrls: boolean;
  connectionLimit: number;
  /** ISO text, "infinity", or null. */
  validUntil: string | null;
  comment: string | null;
}

export interface CatalogMembership {
  /** The role granted. */
  role: string;
  member: string;
  grantor: string | null;
  admin: boolean;
  inherit: boolean;
  set: boolean;
}

export interface CatalogSetting {
  role: string;
  /** null: applies in every database; otherwise the current database's name. */
  database: string | null;
  name: string;
  value: string;
}

/** One exploded ACL entry. `grantee` is a role name or "PUBLIC". */
export interface AclEntry {
  grantee: string;
  privilege: string;
  grantable: boolean;
}

export interface CatalogTableAcl extends AclEntry {
  schema: string;
  table: string;
  /** pg_class.relkind: r, p, v, m, f or S. */
  kind: string;
}

export interface CatalogColumnAcl extends AclEntry {
  schema: string;
  table: string;
  column: string;
}

export interface CatalogOwnership {
  role: string;
  /** e.g. "table app.accounts", "schema scratch", "database dbwarden_demo". */
  object: string;
}

export interface CatalogDefaultAcl extends AclEntry {
  owner: string;
  schema: string | null;
  /** r tables, S sequences, f functions, T types, n schemas. */
  objectType: string;
}

export interface Catalog {
  database: string;
  serverVersion: number;
  currentUser: string;
  roles: Map<string, CatalogRole>;
  memberships: CatalogMembership[];
  settings: CatalogSetting[];
  databaseAcl: AclEntry[];
  /** Every non-system schema, with its owner. */
  schemas: Map<string, { owner: string }>;
  schemaAcl: Array<AclEntry & { schema: string }>;
  tableAcl: CatalogTableAcl[];
  columnAcl: CatalogColumnAcl[];
  /** Live columns (in attnum order) of the tables asked about; absent key = no such table. */
  tableColumns: Map<string, { kind: string; columns: string[] }>;
  ownership: CatalogOwnership[];
  defaultAcl: CatalogDefaultAcl[];
  /** Stored password verifiers of the roles asked about (superuser connections only). */
  passwords: Map<string, string | null> | null;
}

/**
 * The one key of a table in maps: schema and name joined by NUL, which no identifier can contain,
 * so `a."b.c"` and `"a.b".c` stay apart. A key is never parsed back: keep the names beside it.
 */
export const tableKey = (schema: string, table: string) => `${schema}\u0000${table}`;

/**
 * The roles given and every role whose privileges they use: the walk up INHERIT memberships,
 * transitively (a NOINHERIT membership passes nothing on). Insertion order: the roles given first.
 */
export function inheritedRoles(memberships: readonly CatalogMembership[], roles: Iterable<string>): Set<string> {
  const found = new Set<string>(roles);
  const queue = [...found];
  while (queue.length > 0) {
    const member = queue.pop()!;
    for (const m of memberships) {
      if (m.member === member && m.inherit && !found.has(m.role)) {
        found.add(m.role);
        queue.push(m.role);
      }
    }
  }
  return found;
}

export interface ReadCatalogOptions {
  /** Roles to read privileges for (besides PUBLIC); missing ones are simply absent. */
  roles: string[];
  /** Tables whose live column list is needed (plan tables). */
  tables?: Array<{ schema: string; table: string }>;
  /** Also read password verifiers of `roles` (needs superuser; skipped otherwise). */
  passwords?: boolean;
}

export async function readCatalog(client: pg.ClientBase, options: ReadCatalogOptions): Promise<Catalog> {
  const head = await client.query<{
    database: string;
    version: string;
    current_user: string;
    superuser: boolean;
  }>(
    `select current_database() as database,
            current_setting('server_version_num') as version, current_user,
            (select rolsuper from pg_roles where rolname = current_user) as superuser`,
  );
  const h = head.rows[0]!;
  const serverVersion = Number(h.version);

  const roleRows = await client.query(
    `select r.oid::int8::text as oid, r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb,
            r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit,
            case when r.rolvaliduntil is null then null
                 when r.rolvaliduntil = 'infinity' then 'infinity'
                 else to_char(r.rolvaliduntil at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') end as validuntil,
            shobj_description(r.oid, 'pg_authid') as comment
       from pg_roles r`,
  );
  const roles = new Map<string, CatalogRole>();
  for (const r of roleRows.rows) {
    roles.set(r.rolname, {
      oid: r.oid,
      name: r.rolname,
      superuser: r.rolsuper,
      inherit: r.rolinherit,
      createrole: r.rolcreaterole,
      createdb: r.rolcreatedb,
      login: r.rolcanlogin,
      replication: r.rolreplication,
      bypassrls: r.rolbypassrls,
      connectionLimit: r.rolconnlimit,
      validUntil: r.validuntil,
      comment: r.comment,
    });
  }

  // PostgreSQL 16 moved INHERIT and SET onto each membership; before that INHERIT was the member's.
  const membershipSql =
    serverVersion >= 160000
      ? `select g.rolname as role, m.rolname as member, gr.rolname as grantor, a.admin_option, a.inherit_option, a.set_option
           from pg_auth_members a join pg_roles g on g.oid = a.roleid join pg_roles m on m.oid = a.member
           left join pg_roles gr on gr.oid = a.grantor`
      : `select g.rolname as role, m.rolname as member, gr.rolname as grantor, a.admin_option,
                m.rolinherit as inherit_option, true as set_option
           from pg_auth_members a join pg_roles g on g.oid = a.roleid join pg_roles m on m.oid = a.member
           left join pg_roles gr on gr.oid = a.grantor`;
  const memberships: CatalogMembership[] = (await client.query(membershipSql)).rows.map((r) => ({
    role: r.role,
    member: r.member,
    grantor: r.grantor,
    admin: r.admin_option,
    inherit: r.inherit_option,
    set: r.set_option,
  }));

  // The roles asked about and every role they inherit from (privileges flow through INHERIT edges).
  const relevant = inheritedRoles(memberships, options.roles.filter((r) => roles.has(r)));
  const relevantOids = [...relevant].map((r) => roles.get(r)!.oid);
  // PUBLIC is grantee oid 0 in aclexplode.
  const grantees = ["0", ...relevantOids];
  const granteeName = `case when a.grantee = 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end`;

  const settingRows = await client.query(
    `select r.rolname as role, case when s.setdatabase = 0 then null else current_database() end as database, s.setconfig
       from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
      where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
        and r.rolname = any($1::text[])`,
    [[...relevant]],
  );
  const settings: CatalogSetting[] = [];
  for (const row of settingRows.rows) {
    for (const entry of row.setconfig as string[]) {
      const eq = entry.indexOf("=");
      settings.push({ role: row.role, database: row.database, name: entry.slice(0, eq), value: entry.slice(eq + 1) });
    }
  }

  const databaseAcl: AclEntry[] = (
    await client.query(
      `select ${granteeName} as grantee, a.privilege_type, a.is_grantable
         from pg_database d, lateral aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
        where d.datname = current_database() and a.grantee = any($1::oid[])`,
      [grantees],
    )
  ).rows.map((r) => ({ grantee: r.grantee, privilege: r.privilege_type, grantable: r.is_grantable }));

  const schemaRows = await client.query(
    `select n.nspname as schema, pg_get_userbyid(n.nspowner) as owner,
            (select coalesce(json_agg(json_build_object('grantee', ${granteeName}, 'privilege', a.privilege_type, 'grantable', a.is_grantable)), '[]')
               from aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a where a.grantee = any($1::oid[])) as acl
       from pg_namespace n where ${SYSTEM_SCHEMA_SQL}`,
    [grantees],
  );
  const schemas = new Map<string, { owner: string }>();
  const schemaAcl: Array<AclEntry & { schema: string }> = [];
  for (const r of schemaRows.rows) {
    schemas.set(r.schema, { owner: r.owner });
    for (const a of r.acl) schemaAcl.push({ schema: r.schema, grantee: a.grantee, privilege: a.privilege, grantable: a.grantable });
  }

  const tableAcl: CatalogTableAcl[] = (
    await client.query(
      `select n.nspname as schema, c.relname as table, c.relkind::text as kind, ${granteeName} as grantee,
              a.privilege_type, a.is_grantable
         from pg_class c join pg_namespace n on n.oid = c.relnamespace,
              lateral aclexplode(coalesce(c.relacl, acldefault(case when c.relkind = 'S' then 's' else 'r' end::"char", c.relowner))) a
        where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') and ${SYSTEM_SCHEMA_SQL} and a.grantee = any($1::oid[])`,
      [grantees],
    )
  ).rows.map((r) => ({
    schema: r.schema,
    table: r.table,
    kind: r.kind,
    grantee: r.grantee,
    privilege: r.privilege_type,
    grantable: r.is_grantable,
  }));

  const columnAcl: CatalogColumnAcl[] = (
    await client.query(
      `select n.nspname as schema, c.relname as table, att.attname as column, ${granteeName} as grantee,
              a.privilege_type, a.is_grantable
         from pg_attribute att join pg_class c on c.oid = att.attrelid join pg_namespace n on n.oid = c.relnamespace,
              lateral aclexplode(att.attacl) a
        where att.attacl is not null and att.attnum > 0 and not att.attisdropped
          and ${SYSTEM_SCHEMA_SQL} and a.grantee = any($1::oid[])`,
      [grantees],
    )
  ).rows.map((r) => ({
    schema: r.schema,
    table: r.table,
    column: r.column,
    grantee: r.grantee,
    privilege: r.privilege_type,
    grantable: r.is_grantable,
  }));

  const tableColumns = new Map<string, { kind: string; columns: string[] }>();
  const wanted = options.tables ?? [];
  if (wanted.length > 0) {
    const rows = await client.query(
      `select n.nspname as schema, c.relname as table, c.relkind::text as kind,
              coalesce(array_agg(att.attname::text order by att.attnum) filter (where att.attnum is not null), '{}') as columns
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
         left join pg_attribute att on att.attrelid = c.oid and att.attnum > 0 and not att.attisdropped
        where (n.nspname, c.relname) in (select s, t from unnest($1::text[], $2::text[]) as w(s, t))
          and c.relkind in ('r', 'p', 'v', 'm', 'f')
        group by n.nspname, c.relname, c.relkind`,
      [wanted.map((t) => t.schema), wanted.map((t) => t.table)],
    );
    for (const r of rows.rows) tableColumns.set(tableKey(r.schema, r.table), { kind: r.kind, columns: r.columns });
  }

  const ownership: CatalogOwnership[] = (
    await client.query(
      `select pg_get_userbyid(d.refobjid) as role, pg_describe_object(d.classid, d.objid, d.objsubid) as object
         from pg_shdepend d
        where d.deptype = 'o' and d.refclassid = 'pg_authid'::regclass and d.refobjid = any($1::oid[])
          and d.dbid in (0, (select oid from pg_database where datname = current_database()))`,
      [relevantOids],
    )
  ).rows.map((r) => ({ role: r.role, object: r.object }));

  const defaultAcl: CatalogDefaultAcl[] = (
    await client.query(
      `select pg_get_userbyid(d.defaclrole) as owner, n.nspname as schema, d.defaclobjtype::text as objtype,
              ${granteeName} as grantee, a.privilege_type, a.is_grantable
         from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace,
              lateral aclexplode(d.defaclacl) a
        where a.grantee = any($1::oid[]) and a.grantee <> d.defaclrole`,
      [grantees],
    )
  ).rows.map((r) => ({
    owner: r.owner,
    schema: r.schema,
    objectType: r.objtype,
    grantee: r.grantee,
    privilege: r.privilege_type,
    grantable: r.is_grantable,
  }));

  let passwords: Map<string, string | null> | null = null;
  if (options.passwords && h.superuser && options.roles.length > 0) {
    const rows = await client.query(`select rolname, rolpassword from pg_authid where rolname = any($1::text[])`, [options.roles]);
    passwords = new Map(rows.rows.map((r) => [r.rolname as string, r.rolpassword as string | null]));
  }

  return {
    database: h.database,
    serverVersion,
    currentUser: h.current_user,
    roles,
    memberships,
    settings,
    databaseAcl,
    schemas,
    schemaAcl,
    tableAcl,
    columnAcl,
    tableColumns,
    ownership,
    defaultAcl,
    passwords,
  };
}
