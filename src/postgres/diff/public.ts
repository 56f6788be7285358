/**
 * What PUBLIC gives the agents on a target whose spec leaves PUBLIC alone (no
 * `publicPrivileges.revoke`): PUBLIC is every role of the database, so dbwarden changes nothing it
 * holds, runs nothing for it, and reports what it gives the agents in two grades:
 * - drift (exit 3), because it widens the agents' access beyond the plan or beyond reading:
 *   CREATE on the database or on a schema; any privilege on a table or column in a schema an agent
 *   can use, unless every workflow's group is planned to hold it anyway (a write never is); and
 *   (./functions.ts) EXECUTE on a SECURITY DEFINER routine an agent can reach;
 * - notices (shown, not drift): PostgreSQL's defaults a reviewer may accept on a shared database,
 *   CONNECT and TEMPORARY on the database, USAGE on schemas, table privileges in schemas no agent can
 *   use, and (./functions.ts) routines that run with the caller's own rights.
 */
import { tableKey } from "@dbwarden/contract";
import type { AclEntry } from "../catalog.ts";
import { byString, groupBy } from "../effective.ts";
import { privilegeWords } from "../rules.ts";
import { PUBLIC } from "../sql.ts";
import { PHASE, type DiffContext } from "./context.ts";
import { describeGrantee, wantedByGroup } from "./privileges.ts";

/** What to do about what PUBLIC holds when dbwarden may not change it: the two ways, in words. */
export function leftToOwners(target: string): string {
  return `PUBLIC is not dbwarden's on this target: revoke it by hand, or say why dbwarden may in targets.${target}.publicPrivileges.revoke`;
}

/** Database privileges PostgreSQL gives PUBLIC that only let a role in (not read, not write). */
const ENTRY_PRIVILEGES = new Set(["CONNECT", "TEMPORARY"]);

/**
 * Schemas an agent role can use now or once the plan is applied: the workflows' planned schemas,
 * and every schema where PUBLIC or an agent role holds USAGE.
 */
export function agentSchemas(ctx: DiffContext): Set<string> {
  const schemas = new Set(ctx.model.groups.flatMap((g) => (g.governed ? [...g.schemas, g.governed.schema] : g.schemas)));
  for (const e of ctx.catalog.schemaAcl) if (e.privilege === "USAGE" && (e.grantee === PUBLIC || ctx.managed.has(e.grantee))) schemas.add(e.schema);
  return schemas;
}

/** The left-alone PUBLIC's database, schema, table and column privileges, as drift or notices. */
export function leftPublicDifferences(ctx: DiffContext): void {
  const { catalog, model, add } = ctx;
  const left = leftToOwners(model.target);
  const who = describeGrantee(PUBLIC);
  const held = (entries: readonly AclEntry[]) => [...new Set(entries.filter((e) => e.grantee === PUBLIC).map((e) => e.privilege))].sort(byString);

  const database = held(catalog.databaseAcl);
  const entry = database.filter((p) => ENTRY_PRIVILEGES.has(p));
  if (entry.length > 0)
    add(
      "public",
      PUBLIC,
      `${who} can ${entry.map(privilegeWords).join(", ")} database ${catalog.database} (PostgreSQL's default)`,
      PHASE.revokes,
      [],
      "notice",
    );
  const beyond = database.filter((p) => !ENTRY_PRIVILEGES.has(p));
  if (beyond.length > 0)
    add("public", PUBLIC, `${who} can ${beyond.map(privilegeWords).join(", ")} database ${catalog.database}: agents are read-only (${left})`, PHASE.revokes);

  for (const [schema, entries] of [...groupBy(catalog.schemaAcl, (e) => e.schema)].sort(([a], [b]) => byString(a, b))) {
    const privileges = held(entries);
    if (privileges.includes("USAGE")) add("public", PUBLIC, `${who} can use schema ${schema}`, PHASE.revokes, [], "notice");
    const writes = privileges.filter((p) => p !== "USAGE");
    if (writes.length > 0)
      add("public", PUBLIC, `${who} can ${writes.map(privilegeWords).join(", ")} schema ${schema}: agents are read-only (${left})`, PHASE.revokes);
  }
  leftPublicTableDifferences(ctx, left);
}

/** PUBLIC's table and column privileges: drift where an agent can use the schema and some workflow is not planned to hold it. */
function leftPublicTableDifferences(ctx: DiffContext, left: string): void {
  const { catalog, add } = ctx;
  const usable = agentSchemas(ctx);
  const groups = [...wantedByGroup(ctx.model).values()];
  // Does every group hold `privilege` on the table (column null) or on that column anyway?
  const plannedForAll = (key: string, privilege: string, column: string | null) =>
    groups.length > 0 &&
    groups.every((g) => g.tables.get(key)?.privileges.has(privilege) || (column !== null && g.columns.get(key)?.privileges.get(privilege)?.has(column)));
  const who = describeGrantee(PUBLIC);
  const report = (schema: string, what: string, widens: boolean) => {
    if (!usable.has(schema)) add("public", PUBLIC, `${who} can ${what}, in schema ${schema}, which no agent role can use`, PHASE.revokes, [], "notice");
    else if (widens) add("public", PUBLIC, `${who} can ${what}: every agent can, beyond its plan (${left})`, PHASE.revokes);
  };
  const tables = groupBy(
    catalog.tableAcl.filter((e) => e.grantee === PUBLIC),
    (e) => tableKey(e.schema, e.table),
  );
  for (const entries of [...tables.values()].sort((a, b) => byString(tableKey(a[0]!.schema, a[0]!.table), tableKey(b[0]!.schema, b[0]!.table)))) {
    const { schema, table } = entries[0]!;
    const privileges = [...new Set(entries.map((e) => e.privilege))].sort(byString);
    report(
      schema,
      `${privileges.map(privilegeWords).join(", ")} ${schema}.${table}`,
      privileges.some((p) => !plannedForAll(tableKey(schema, table), p, null)),
    );
  }
  const columns = groupBy(
    catalog.columnAcl.filter((e) => e.grantee === PUBLIC),
    (e) => `${tableKey(e.schema, e.table)}\u0000${e.privilege}`,
  );
  for (const entries of [...columns.values()].sort((a, b) => byString(tableKey(a[0]!.schema, a[0]!.table), tableKey(b[0]!.schema, b[0]!.table)))) {
    const { schema, table, privilege } = entries[0]!;
    const names = [...new Set(entries.map((e) => e.column))].sort(byString);
    const widens = names.some((c) => !plannedForAll(tableKey(schema, table), privilege, c));
    report(schema, `${privilegeWords(privilege)} column${names.length > 1 ? "s" : ""} ${names.map((c) => `${schema}.${table}.${c}`).join(", ")}`, widens);
  }
}
