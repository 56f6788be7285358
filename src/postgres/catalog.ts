/**
 * One read of everything the reconciler and drift detection need from a database's catalog.
 * Each query is one round trip, whatever the number of tables or roles: ACLs are exploded in the
 * server (`aclexplode`, with `acldefault` standing in for a NULL ACL) and filtered to the roles
 * that matter (the roles asked about, every role they inherit from, and PUBLIC).
 */
import { tableKey } from "@dbwarden/contract";
import type pg from "pg";
import type { ColumnSource } from "./model.ts";
import { ATTRIBUTES_TABLE, INTERNAL_SCHEMA, KEYS_TABLE, VIEWS_TABLE, definitionHashSql, parseGovernedSchemaMarker } from "./model/governed.ts";
import { qualified } from "./sql.ts";

/** Schemas whose objects are PostgreSQL's own. */
const SYSTEM_SCHEMA_SQL = `(n.nspname !~ '^pg_' and n.nspname <> 'information_schema')`;

/**
 * The role that owns schema `n` and creates objects there: its owner, or, for a schema owned by
 * pg_database_owner (`public` since PostgreSQL 15), the database's owner, who acts as it.
 */
const SCHEMA_OWNER_SQL =
  `(case when n.nspowner = 'pg_database_owner'::regrole then (select d.datdba ` +
  `from pg_database d where d.datname = current_database()) else n.nspowner end)`;

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
  /**
   * PostgreSQL's built-in default, not a row of pg_default_acl: EXECUTE to PUBLIC on the functions
   * a schema owner creates, while no `ALTER DEFAULT PRIVILEGES FOR ROLE <owner>` (without a schema)
   * took it away. Only this database-wide form can: a per-schema REVOKE does not remove it.
   */
  builtIn: boolean;
}

/** A routine (function, procedure, aggregate) outside PostgreSQL's own schemas. */
export interface CatalogFunction {
  schema: string;
  name: string;
  /** Its arguments as the server prints them (`pg_get_function_identity_arguments`, names and types quoted by the server). */
  args: string;
  /** pg_proc.prokind: f function, p procedure, a aggregate, w window. */
  kind: string;
  /** SECURITY DEFINER: it runs with its owner's privileges, not the caller's. */
  definer: boolean;
  owner: string;
  /** The extension it belongs to, or null. */
  extension: string | null;
  /** Who may execute it, among PUBLIC and the roles asked about (a NULL ACL stands for PostgreSQL's default: EXECUTE to PUBLIC). */
  acl: AclEntry[];
}

/** A relation in a governed schema. */
export interface GovernedRelation {
  schema: string;
  name: string;
  /** pg_class.relkind: v for a view. */
  kind: string;
  /** pg_class.reloptions, e.g. `security_barrier=true`. */
  options: string[];
  /** A view's definition hash (`definitionHashSql`), null for other relations. */
  definition: string | null;
}

/** What the database holds of masks, row filters and reporting views (src/postgres/model/governed.ts). */
export interface CatalogGoverned {
  /** Schemas marked as governed, or named as a planned governed schema, with their comments. */
  schemas: Map<string, { comment: string | null }>;
  /** The relations in those schemas. */
  relations: GovernedRelation[];
  /** The internal schema: its comment and tables; null when it does not exist. */
  internal: { comment: string | null; tables: string[] } | null;
  /** `governed_views`: "schema.name" -> the hashes recorded when the view was created. */
  registry: Map<string, { plan: string; definition: string }>;
  /** `client_attributes`: login -> its workflow and attributes. */
  attributes: Map<string, { workflow: string; attributes: Record<string, unknown> }>;
  /** `workflow_keys`: workflow -> whether its key is a whole one (the key itself is never read). */
  keys: Map<string, boolean>;
}

export interface Catalog {
  database: string;
  serverVersion: number;
  currentUser: string;
  roles: Map<string, CatalogRole>;
  memberships: CatalogMembership[];
  settings: CatalogSetting[];
  databaseAcl: AclEntry[];
  /** Every non-system schema, with its owner (for one owned by pg_database_owner, the database's owner). */
  schemas: Map<string, { owner: string; comment: string | null }>;
  schemaAcl: Array<AclEntry & { schema: string }>;
  tableAcl: CatalogTableAcl[];
  columnAcl: CatalogColumnAcl[];
  /** Live columns (in attnum order) of the tables asked about, with their types (`format_type`); absent key = no such table. */
  tableColumns: Map<string, { kind: string; columns: string[]; types: string[] }>;
  ownership: CatalogOwnership[];
  /** Default privileges for PUBLIC and the roles asked about, PostgreSQL's built-in EXECUTE on schema owners' new functions included. */
  defaultAcl: CatalogDefaultAcl[];
  /** Routines PUBLIC or a role asked about may execute, outside PostgreSQL's own schemas. */
  functions: CatalogFunction[];
  /** Stored password verifiers of the roles asked about (superuser connections only). */
  passwords: Map<string, string | null> | null;
  governed: CatalogGoverned;
}

/** The one key of a table in maps (the contract's): never parsed back, keep the names beside it. */
export { tableKey };

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
  /** Governed schemas the plan names (read even when unmarked, to say so). */
  governedSchemas?: string[];
}

type Client = pg.ClientBase;
/** PUBLIC is grantee oid 0 in aclexplode. */
const GRANTEE_NAME = `case when a.grantee = 0 then 'PUBLIC' else pg_get_userbyid(a.grantee) end`;

/** One read of the catalog, phase by phase; each phase is one round trip. */
export async function readCatalog(client: Client, options: ReadCatalogOptions): Promise<Catalog> {
  const head = await readHead(client);
  const roles = await readRoles(client);
  const memberships = await readMemberships(client, head.serverVersion);
  // The roles asked about and every role they inherit from (privileges flow through INHERIT edges).
  const relevant = inheritedRoles(
    memberships,
    options.roles.filter((r) => roles.has(r)),
  );
  const relevantOids = [...relevant].map((r) => roles.get(r)!.oid);
  const grantees = ["0", ...relevantOids];
  const settings = await readSettings(client, [...relevant]);
  const databaseAcl = await readDatabaseAcl(client, grantees);
  const { schemas, schemaAcl } = await readSchemas(client, grantees);
  const tableAcl = await readTableAcl(client, grantees);
  const columnAcl = await readColumnAcl(client, grantees);
  const tableColumns = await readTableColumns(client, options.tables ?? []);
  const ownership = await readOwnership(client, relevantOids);
  const defaultAcl = await readDefaultAcl(client, grantees);
  const functions = await readFunctions(client, grantees);
  const passwords = options.passwords && head.superuser && options.roles.length > 0 ? await readPasswords(client, options.roles) : null;
  const governed = await readGoverned(client, schemas, options.governedSchemas ?? []);
  return {
    database: head.database,
    serverVersion: head.serverVersion,
    currentUser: head.currentUser,
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
    functions,
    passwords,
    governed,
  };
}

/** The live catalog as the model's column source (reconciler, drift). */
export function catalogColumns(catalog: Pick<Catalog, "database" | "tableColumns" | "schemas">): ColumnSource {
  return {
    name: `database ${catalog.database}`,
    columnsOf: (schema, table) => catalog.tableColumns.get(tableKey(schema, table))?.columns,
    typeOf: (schema, table, column) => {
      const found = catalog.tableColumns.get(tableKey(schema, table));
      const at = found ? found.columns.indexOf(column) : -1;
      return at < 0 ? undefined : found!.types[at];
    },
    hasSchema: (schema) => catalog.schemas.has(schema),
  };
}

async function readHead(client: Client): Promise<{ database: string; serverVersion: number; currentUser: string; superuser: boolean }> {
  const head = await client.query<{ database: string; version: string; current_user: string; superuser: boolean }>(
    `select current_database() as database,
            current_setting('server_version_num') as version, current_user,
            (select rolsuper from pg_roles where rolname = current_user) as superuser`,
  );
  const h = head.rows[0]!;
  return { database: h.database, serverVersion: Number(h.version), currentUser: h.current_user, superuser: h.superuser };
}

async function readRoles(client: Client): Promise<Map<string, CatalogRole>> {
  const rows = await client.query(
    `select r.oid::int8::text as oid, r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb,
            r.rolcanlogin, r.rolreplication, r.rolbypassrls, r.rolconnlimit,
            case when r.rolvaliduntil is null then null
                 when r.rolvaliduntil = 'infinity' then 'infinity'
                 else to_char(r.rolvaliduntil at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') end as validuntil,
            shobj_description(r.oid, 'pg_authid') as comment
       from pg_roles r`,
  );
  const roles = new Map<string, CatalogRole>();
  for (const r of rows.rows) {
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
  return roles;
}

async function readMemberships(client: Client, serverVersion: number): Promise<CatalogMembership[]> {
  // PostgreSQL 16 moved INHERIT and SET onto each membership; before that INHERIT was the member's.
  const options = serverVersion >= 160000 ? "a.inherit_option, a.set_option" : "m.rolinherit as inherit_option, true as set_option";
  const rows = await client.query(
    `select g.rolname as role, m.rolname as member, gr.rolname as grantor, a.admin_option, ${options}
       from pg_auth_members a join pg_roles g on g.oid = a.roleid join pg_roles m on m.oid = a.member
       left join pg_roles gr on gr.oid = a.grantor`,
  );
  return rows.rows.map((r) => ({ role: r.role, member: r.member, grantor: r.grantor, admin: r.admin_option, inherit: r.inherit_option, set: r.set_option }));
}

async function readSettings(client: Client, roles: string[]): Promise<CatalogSetting[]> {
  const rows = await client.query(
    `select r.rolname as role, case when s.setdatabase = 0 then null else current_database() end as database, s.setconfig
       from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
      where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
        and r.rolname = any($1::text[])`,
    [roles],
  );
  const settings: CatalogSetting[] = [];
  for (const row of rows.rows) {
    for (const entry of row.setconfig as string[]) {
      const eq = entry.indexOf("=");
      settings.push({ role: row.role, database: row.database, name: entry.slice(0, eq), value: entry.slice(eq + 1) });
    }
  }
  return settings;
}

async function readDatabaseAcl(client: Client, grantees: string[]): Promise<AclEntry[]> {
  const rows = await client.query(
    `select ${GRANTEE_NAME} as grantee, a.privilege_type, a.is_grantable
       from pg_database d, lateral aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
      where d.datname = current_database() and a.grantee = any($1::oid[])`,
    [grantees],
  );
  return rows.rows.map((r) => ({ grantee: r.grantee, privilege: r.privilege_type, grantable: r.is_grantable }));
}

async function readSchemas(client: Client, grantees: string[]): Promise<Pick<Catalog, "schemas" | "schemaAcl">> {
  const rows = await client.query(
    `select n.nspname as schema, pg_get_userbyid(${SCHEMA_OWNER_SQL}) as owner, obj_description(n.oid, 'pg_namespace') as comment,
            (select coalesce(json_agg(json_build_object('grantee', ${GRANTEE_NAME}, 'privilege', a.privilege_type, 'grantable', a.is_grantable)), '[]')
               from aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a where a.grantee = any($1::oid[])) as acl
       from pg_namespace n where ${SYSTEM_SCHEMA_SQL}`,
    [grantees],
  );
  const schemas = new Map<string, { owner: string; comment: string | null }>();
  const schemaAcl: Catalog["schemaAcl"] = [];
  for (const r of rows.rows) {
    schemas.set(r.schema, { owner: r.owner, comment: r.comment });
    for (const a of r.acl) schemaAcl.push({ schema: r.schema, grantee: a.grantee, privilege: a.privilege, grantable: a.grantable });
  }
  return { schemas, schemaAcl };
}

async function readTableAcl(client: Client, grantees: string[]): Promise<CatalogTableAcl[]> {
  const rows = await client.query(
    `select n.nspname as schema, c.relname as table, c.relkind::text as kind, ${GRANTEE_NAME} as grantee,
            a.privilege_type, a.is_grantable
       from pg_class c join pg_namespace n on n.oid = c.relnamespace,
            lateral aclexplode(coalesce(c.relacl, acldefault(case when c.relkind = 'S' then 's' else 'r' end::"char", c.relowner))) a
      where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') and ${SYSTEM_SCHEMA_SQL} and a.grantee = any($1::oid[])`,
    [grantees],
  );
  return rows.rows.map((r) => ({ schema: r.schema, table: r.table, kind: r.kind, grantee: r.grantee, privilege: r.privilege_type, grantable: r.is_grantable }));
}

async function readColumnAcl(client: Client, grantees: string[]): Promise<CatalogColumnAcl[]> {
  const rows = await client.query(
    `select n.nspname as schema, c.relname as table, att.attname as column, ${GRANTEE_NAME} as grantee,
            a.privilege_type, a.is_grantable
       from pg_attribute att join pg_class c on c.oid = att.attrelid join pg_namespace n on n.oid = c.relnamespace,
            lateral aclexplode(att.attacl) a
      where att.attacl is not null and att.attnum > 0 and not att.attisdropped
        and ${SYSTEM_SCHEMA_SQL} and a.grantee = any($1::oid[])`,
    [grantees],
  );
  return rows.rows.map((r) => ({
    schema: r.schema,
    table: r.table,
    column: r.column,
    grantee: r.grantee,
    privilege: r.privilege_type,
    grantable: r.is_grantable,
  }));
}

/** The live columns (in attnum order) of the tables given that exist, keyed by `tableKey`: one round trip. */
export async function readTableColumns(client: Client, tables: ReadonlyArray<{ schema: string; table: string }>): Promise<Catalog["tableColumns"]> {
  const tableColumns: Catalog["tableColumns"] = new Map();
  if (tables.length === 0) return tableColumns;
  const rows = await client.query(
    `select n.nspname as schema, c.relname as table, c.relkind::text as kind,
            coalesce(array_agg(att.attname::text order by att.attnum) filter (where att.attnum is not null), '{}') as columns,
            coalesce(array_agg(format_type(att.atttypid, att.atttypmod) order by att.attnum) filter (where att.attnum is not null), '{}') as types
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       left join pg_attribute att on att.attrelid = c.oid and att.attnum > 0 and not att.attisdropped
      where (n.nspname, c.relname) in (select s, t from unnest($1::text[], $2::text[]) as w(s, t))
        and c.relkind in ('r', 'p', 'v', 'm', 'f')
      group by n.nspname, c.relname, c.relkind`,
    [tables.map((t) => t.schema), tables.map((t) => t.table)],
  );
  for (const r of rows.rows) tableColumns.set(tableKey(r.schema, r.table), { kind: r.kind, columns: r.columns, types: r.types });
  return tableColumns;
}

async function readOwnership(client: Client, roleOids: string[]): Promise<CatalogOwnership[]> {
  const rows = await client.query(
    `select pg_get_userbyid(d.refobjid) as role, pg_describe_object(d.classid, d.objid, d.objsubid) as object
       from pg_shdepend d
      where d.deptype = 'o' and d.refclassid = 'pg_authid'::regclass and d.refobjid = any($1::oid[])
        and d.dbid in (0, (select oid from pg_database where datname = current_database()))`,
    [roleOids],
  );
  return rows.rows.map((r) => ({ role: r.role, object: r.object }));
}

async function readDefaultAcl(client: Client, grantees: string[]): Promise<CatalogDefaultAcl[]> {
  // The rows of pg_default_acl, then PostgreSQL's built-in default for the functions of every
  // schema owner without a database-wide row for functions (EXECUTE to PUBLIC, as acldefault says).
  const rows = await client.query(
    `select pg_get_userbyid(d.defaclrole) as owner, n.nspname as schema, d.defaclobjtype::text as objtype,
            ${GRANTEE_NAME} as grantee, a.privilege_type, a.is_grantable, false as built_in
       from pg_default_acl d left join pg_namespace n on n.oid = d.defaclnamespace,
            lateral aclexplode(d.defaclacl) a
      where a.grantee = any($1::oid[]) and a.grantee <> d.defaclrole
     union all
     select pg_get_userbyid(o.owner), null, 'f', ${GRANTEE_NAME}, a.privilege_type, a.is_grantable, true
       from (select distinct ${SCHEMA_OWNER_SQL} as owner from pg_namespace n where ${SYSTEM_SCHEMA_SQL}) o,
            lateral aclexplode(acldefault('f', o.owner)) a
      where a.grantee = any($1::oid[]) and a.grantee <> o.owner
        and not exists (select 1 from pg_default_acl d where d.defaclrole = o.owner and d.defaclnamespace = 0 and d.defaclobjtype = 'f')`,
    [grantees],
  );
  return rows.rows.map((r) => ({
    owner: r.owner,
    schema: r.schema,
    objectType: r.objtype,
    grantee: r.grantee,
    privilege: r.privilege_type,
    grantable: r.is_grantable,
    builtIn: r.built_in,
  }));
}

async function readFunctions(client: Client, grantees: string[]): Promise<CatalogFunction[]> {
  const rows = await client.query(
    `select n.nspname as schema, p.proname as name, pg_get_function_identity_arguments(p.oid) as args, p.prokind::text as kind,
            p.prosecdef as definer, pg_get_userbyid(p.proowner) as owner,
            (select e.extname from pg_depend d join pg_extension e on e.oid = d.refobjid
              where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.refclassid = 'pg_extension'::regclass and d.deptype = 'e') as extension,
            json_agg(json_build_object('grantee', ${GRANTEE_NAME}, 'privilege', a.privilege_type, 'grantable', a.is_grantable)) as acl
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace,
            lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
      where ${SYSTEM_SCHEMA_SQL} and a.grantee = any($1::oid[])
      group by p.oid, n.nspname`,
    [grantees],
  );
  return rows.rows.map((r) => ({
    schema: r.schema,
    name: r.name,
    args: r.args,
    kind: r.kind,
    definer: r.definer,
    owner: r.owner,
    extension: r.extension,
    acl: (r.acl as Array<{ grantee: string; privilege: string; grantable: boolean }>).map((e) => ({
      grantee: e.grantee,
      privilege: e.privilege,
      grantable: e.grantable,
    })),
  }));
}

/** Stored password verifiers (pg_authid: superuser connections only). */
async function readPasswords(client: Client, roles: string[]): Promise<Map<string, string | null>> {
  const rows = await client.query(`select rolname, rolpassword from pg_authid where rolname = any($1::text[])`, [roles]);
  return new Map(rows.rows.map((r) => [r.rolname as string, r.rolpassword as string | null]));
}

/**
 * The governed schemas (marked, or named by the plan), their relations with each view's
 * definition hash, and the internal schema's rows (never a key: only whether each is whole). No
 * round trip where there is none of it (the schemas and their comments are read already); else two.
 */
async function readGoverned(client: Client, all: Catalog["schemas"], planned: string[]): Promise<CatalogGoverned> {
  const schemas = new Map<string, { comment: string | null }>();
  for (const [name, { comment }] of all) {
    if (name !== INTERNAL_SCHEMA && (planned.includes(name) || parseGovernedSchemaMarker(comment))) schemas.set(name, { comment });
  }
  const internal: CatalogGoverned["internal"] = all.has(INTERNAL_SCHEMA) ? { comment: all.get(INTERNAL_SCHEMA)!.comment, tables: [] } : null;
  const governed: CatalogGoverned = { schemas, relations: [], internal, registry: new Map(), attributes: new Map(), keys: new Map() };
  if (schemas.size === 0 && !internal) return governed;
  const relationRows = await client.query<{ schema: string; name: string; kind: string; options: string[] | null; definition: string | null }>(
    `select n.nspname as schema, c.relname as name, c.relkind::text as kind, c.reloptions as options,
            case when c.relkind = 'v' then ${definitionHashSql("c.oid")} end as definition
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any($1::text[]) and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')`,
    [[...schemas.keys(), INTERNAL_SCHEMA]],
  );
  for (const r of relationRows.rows) {
    if (r.schema === INTERNAL_SCHEMA) {
      if (r.kind === "r") internal?.tables.push(r.name);
    } else governed.relations.push({ schema: r.schema, name: r.name, kind: r.kind, options: r.options ?? [], definition: r.definition });
  }
  const present = [VIEWS_TABLE, ATTRIBUTES_TABLE, KEYS_TABLE].filter((t) => internal?.tables.includes(t));
  if (present.length === 0) return governed;
  // One round trip for the rows of the tables there are (a table missing is drift, reported by the diff).
  const parts: Record<string, string> = {
    [VIEWS_TABLE]:
      `(select coalesce(json_agg(json_build_array(schema, name, plan, definition)), ` + `'[]') from ${qualified(INTERNAL_SCHEMA, VIEWS_TABLE)}) as registry`,
    [ATTRIBUTES_TABLE]:
      `(select coalesce(json_agg(json_build_array(login, workflow, attributes)), ` +
      `'[]') from ${qualified(INTERNAL_SCHEMA, ATTRIBUTES_TABLE)}) as attributes`,
    [KEYS_TABLE]: `(select coalesce(json_agg(json_build_array(workflow, length(key) >= 64)), '[]') from ${qualified(INTERNAL_SCHEMA, KEYS_TABLE)}) as keys`,
  };
  const rows = (await client.query(`select ${present.map((t) => parts[t]).join(", ")}`)).rows[0] as Record<string, unknown[][] | undefined>;
  for (const [schema, name, plan, definition] of (rows.registry ?? []) as string[][])
    governed.registry.set(`${schema}.${name}`, { plan: plan!, definition: definition! });
  for (const [login, workflow, attributes] of (rows.attributes ?? []) as [string, string, Record<string, unknown>][])
    governed.attributes.set(login, { workflow, attributes });
  for (const [workflow, whole] of (rows.keys ?? []) as [string, boolean][]) governed.keys.set(workflow, whole);
  return governed;
}
