/**
 * What PUBLIC keeps. Every role is a member of PUBLIC, so whatever PUBLIC holds every agent holds:
 * nothing on the database (no CONNECT, no TEMPORARY), nothing on the schemas a workflow reads,
 * at most USAGE on any other schema (never CREATE), and nothing on any table or column.
 */
import { READ_PRIVILEGES } from "../rules.ts";
import type { GroupAccess, PublicAccess } from "./types.ts";

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function publicAccess(groups: readonly GroupAccess[]): PublicAccess {
  const schemas = new Set(groups.flatMap((g) => g.schemas));
  const tables = new Map<string, { schema: string; table: string }>();
  for (const t of groups.flatMap((g) => g.tables)) tables.set(`${t.schema}\u0000${t.table}`, { schema: t.schema, table: t.table });
  return {
    database: [],
    plannedSchemas: [...schemas].sort(byString),
    // USAGE alone reveals nothing without a table privilege; PostgreSQL 15+ gives it on `public`.
    otherSchemas: [READ_PRIVILEGES.schema],
    plannedTables: [...tables.values()].sort((a, b) => byString(a.schema, b.schema) || byString(a.table, b.table)),
  };
}
