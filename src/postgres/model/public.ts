/**
 * What PUBLIC keeps, and whether dbwarden may change it at all (see `PublicAccess`). Every role is
 * a member of PUBLIC, so whatever PUBLIC holds every agent holds; but only a target whose spec says
 * why (`publicPrivileges.revoke`) lets dbwarden take PUBLIC's defaults away.
 */
import type { TargetPlan } from "@dbwarden/contract";
import { READ_PRIVILEGES } from "../rules.ts";
import type { GroupAccess, PublicAccess } from "./types.ts";

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function publicAccess(target: Pick<TargetPlan, "publicPrivileges">, groups: readonly GroupAccess[]): PublicAccess {
  const schemas = new Set(groups.flatMap((g) => g.schemas));
  const tables = new Map<string, { schema: string; table: string }>();
  for (const t of groups.flatMap((g) => g.tables)) tables.set(`${t.schema}\u0000${t.table}`, { schema: t.schema, table: t.table });
  const reason = target.publicPrivileges.revoke;
  return {
    mode: reason === null ? "leave" : "revoke",
    reason,
    database: [],
    plannedSchemas: [...schemas].sort(byString),
    // USAGE alone reveals nothing without a table privilege; PostgreSQL 15+ gives it on `public`.
    otherSchemas: [READ_PRIVILEGES.schema],
    plannedTables: [...tables.values()].sort((a, b) => byString(a.schema, b.schema) || byString(a.table, b.table)),
  };
}
