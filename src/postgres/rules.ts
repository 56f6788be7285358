/**
 * What an agent role may hold in PostgreSQL, as predicates: the one statement of the rules that the
 * desired-state model (src/postgres/model.ts) builds from, that drift and the reconciler judge the
 * live database by, and that the policy pack (policies/) and the access review apply to resources
 * and plans. A rule changes here or nowhere.
 */

/** Role attributes of every agent role (group and login): nothing beyond LOGIN (logins) and INHERIT. */
export const AGENT_ROLE_ATTRIBUTES = {
  superuser: false,
  createdb: false,
  createrole: false,
  replication: false,
  bypassrls: false,
  inherit: true,
} as const;

export type AgentRoleAttribute = keyof typeof AGENT_ROLE_ATTRIBUTES;

/** Each attribute's SQL keywords (`CREATE ROLE ... WITH`), when it holds and when it does not. */
export const ATTRIBUTE_KEYWORDS: Record<AgentRoleAttribute, { on: string; off: string }> = {
  superuser: { on: "SUPERUSER", off: "NOSUPERUSER" },
  createdb: { on: "CREATEDB", off: "NOCREATEDB" },
  createrole: { on: "CREATEROLE", off: "NOCREATEROLE" },
  replication: { on: "REPLICATION", off: "NOREPLICATION" },
  bypassrls: { on: "BYPASSRLS", off: "NOBYPASSRLS" },
  inherit: { on: "INHERIT", off: "NOINHERIT" },
};

/** The keywords that give a role exactly `attributes`, in a fixed order. */
export function attributeKeywords(attributes: Record<AgentRoleAttribute, boolean>): string[] {
  return (Object.keys(ATTRIBUTE_KEYWORDS) as AgentRoleAttribute[]).map((a) => (attributes[a] ? ATTRIBUTE_KEYWORDS[a].on : ATTRIBUTE_KEYWORDS[a].off));
}

/** Why each attribute must have its value, in a reviewer's words. */
export const ATTRIBUTE_RISKS: Record<AgentRoleAttribute, string> = {
  superuser: "SUPERUSER bypasses every privilege check",
  createdb: "CREATEDB lets it create databases",
  createrole: "CREATEROLE lets it create roles and grant itself their memberships",
  replication: "REPLICATION lets it stream every row of the database",
  bypassrls: "BYPASSRLS exempts it from row-level security",
  inherit: "without INHERIT it cannot use its group's privileges",
};

export type ObjectType = "database" | "schema" | "table" | "column";

/** The only privilege an agent role holds on each kind of object. */
export const READ_PRIVILEGES: Record<ObjectType, string> = {
  database: "CONNECT",
  schema: "USAGE",
  table: "SELECT",
  column: "SELECT",
};

/** Is `privilege` on an object of `objectType` one an agent role may hold (read-only)? */
export function isReadPrivilege(objectType: ObjectType, privilege: string): boolean {
  return READ_PRIVILEGES[objectType] === privilege.toUpperCase();
}

/** Privileges in words, for reports: "can <words> <object>". */
export const PRIVILEGE_WORDS: Record<string, string> = {
  SELECT: "read",
  INSERT: "insert into",
  UPDATE: "update",
  DELETE: "delete from",
  TRUNCATE: "truncate",
  REFERENCES: "reference (foreign keys on)",
  TRIGGER: "create triggers on",
  MAINTAIN: "maintain (VACUUM, ANALYZE, REFRESH, LOCK)",
  USAGE: "use",
  CREATE: "create objects in",
  CONNECT: "connect to",
  TEMPORARY: "create temporary tables in",
  EXECUTE: "execute",
};

export const privilegeWords = (privilege: string): string => PRIVILEGE_WORDS[privilege] ?? privilege.toLowerCase();

/**
 * Predefined and powerful roles: what membership in each lets a member do. An agent role is never a
 * member of any of them (nor of any role but its own group and the platform's IAM login roles).
 */
export const POWERFUL_ROLES: Record<string, string> = {
  pg_read_server_files: "read any file the database server can read (COPY FROM a file, pg_read_file)",
  pg_write_server_files: "write files on the database server (COPY TO a file)",
  pg_execute_server_program: "run programs on the database server as its operating-system user (COPY ... PROGRAM)",
  pg_read_all_data: "read every table, view and sequence in every schema",
  pg_write_all_data: "write to every table in every schema",
  pg_signal_backend: "cancel and terminate other sessions",
  pg_read_all_stats: "see every session's queries and statistics",
  pg_read_all_settings: "read every server setting",
  pg_stat_scan_tables: "run monitoring functions that lock tables",
  pg_monitor: "see every session's queries, statistics and settings",
  pg_checkpoint: "force checkpoints",
  pg_maintain: "VACUUM, ANALYZE, REINDEX and LOCK every table",
  pg_create_subscription: "create logical-replication subscriptions",
  pg_use_reserved_connections: "use connections reserved for administrators",
  rds_superuser: "act as the RDS master user (nearly superuser)",
  cloudsqlsuperuser: "act as the Cloud SQL admin user (nearly superuser)",
};

/** Is membership in `role` one an agent role may hold, given what the model allows it to join? */
export function isAllowedMembership(role: string, allowed: readonly string[]): boolean {
  return allowed.includes(role);
}

/**
 * A table must never get both a table-level and a column-level SELECT for one role: the table
 * grant wins and exposes every column. Takes the grants of one role on one table.
 */
export function mixesTableAndColumnSelect(grants: ReadonlyArray<{ objectType: ObjectType; privilege: string }>): boolean {
  const selects = grants.filter((g) => g.privilege.toUpperCase() === "SELECT");
  return selects.some((g) => g.objectType === "table") && selects.some((g) => g.objectType === "column");
}

/** Is `objectType` one an agent role may hold anything on (the keys of READ_PRIVILEGES)? Sequences, functions, types, routines, foreign servers: never. */
export function isAgentObjectType(objectType: string): objectType is ObjectType {
  return Object.hasOwn(READ_PRIVILEGES, objectType);
}

/** PUBLIC is every role: what it holds, every agent role holds (the keyword is case-insensitive). */
export function isPublicRole(role: string): boolean {
  return role.toLowerCase() === "public";
}
