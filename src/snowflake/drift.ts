/**
 * Drift and the catalog on Snowflake, through the server's driver interface
 * (mcp-server/src/engines/snowflake/driver.ts), connected as the deployer:
 * - drift: what each workflow's role can really read (`SHOW GRANTS TO ROLE`), who holds the role
 *   (`SHOW GRANTS OF ROLE`), against the grants the components render from the plan
 *   (components/snowflake/children.ts, `SNOWFLAKE_READ_PRIVILEGES`), in the same report as
 *   PostgreSQL drift (src/postgres/drift.ts `DriftReport`, same exit code); `--fix` revokes what
 *   the plan does not grant (and never grants: that is `pulumi up`'s);
 * - the catalog: INFORMATION_SCHEMA.COLUMNS of the scoped tables, for "all columns but these".
 */
import { snowflakeAccessChildren, SNOWFLAKE_TYPES, type SnowflakeTarget } from "../../components/snowflake/children.ts";
import type { CatalogSnapshot } from "../../components/postgres/catalog.ts";
import type { DriftItem, DriftReport } from "../postgres/drift.ts";
import { qualifiedSnowflake, quoteSnowflake, snowflakeRoleName, workflowsOf, type AccessPlan } from "../plan/types.ts";

/** Runs one statement as the deployer and returns its rows keyed by column name. */
export type SnowflakeQuery = (sql: string, binds?: readonly string[]) => Promise<Array<Record<string, unknown>>>;

/** `ANALYTICS.SALES.ORDERS` and `"ANALYTICS"."SALES"."ORDERS"` alike: quotes dropped (dbwarden's names hold none). */
const bare = (name: string) => name.replaceAll('"', "");

/** One grant as SHOW GRANTS lists it, reduced to what drift compares. */
interface Grant {
  privilege: string;
  on: string;
  name: string;
}
const grantKey = (g: Grant) => `${g.privilege}|${g.on}|${bare(g.name)}`;

/** The grants the plan gives each workflow role (upper-case name), from the components' own list. */
export function plannedGrants(plan: AccessPlan, target: SnowflakeTarget, catalog: CatalogSnapshot): Map<string, Grant[]> {
  const byRole = new Map<string, Grant[]>();
  for (const child of snowflakeAccessChildren(plan, target, catalog, "drift")) {
    if (child.type !== SNOWFLAKE_TYPES.grant) continue;
    const args = child.args as {
      accountRoleName: string;
      privileges: string[];
      onAccountObject?: { objectType: string; objectName: string };
      onSchema?: { schemaName: string };
      onSchemaObject?: { objectType: string; objectName: string };
    };
    const [on, name] = args.onAccountObject
      ? [args.onAccountObject.objectType, args.onAccountObject.objectName]
      : args.onSchema
        ? ["SCHEMA", args.onSchema.schemaName]
        : [args.onSchemaObject!.objectType, args.onSchemaObject!.objectName];
    const list = byRole.get(args.accountRoleName) ?? [];
    for (const privilege of args.privileges) list.push({ privilege, on, name });
    byRole.set(args.accountRoleName, list);
  }
  return byRole;
}

/** Compares one Snowflake target's roles with the plan; the report has the shape of PostgreSQL drift's. */
export async function detectSnowflakeDrift(query: SnowflakeQuery, plan: AccessPlan, target: SnowflakeTarget, catalog: CatalogSnapshot): Promise<DriftReport> {
  const differences: DriftItem[] = [];
  const planned = plannedGrants(plan, target, catalog);
  for (const workflow of workflowsOf(plan, target.name)) {
    const role = snowflakeRoleName(workflow.roles.group);
    const expected = new Map((planned.get(role) ?? []).map((g) => [grantKey(g), g]));
    let live: Array<Record<string, unknown>>;
    try {
      live = await query(`SHOW GRANTS TO ROLE ${quoteSnowflake(role)}`);
    } catch {
      differences.push({ kind: "missing-role", role, message: `role ${role} (workflow ${workflow.name}) does not exist or cannot be read`, fix: [] });
      continue;
    }
    const seen = new Set<string>();
    for (const row of live) {
      const grant = { privilege: String(row.privilege).toUpperCase(), on: String(row.granted_on).toUpperCase(), name: String(row.name) };
      if (grant.privilege === "OWNERSHIP") continue;
      const key = grantKey(grant);
      seen.add(key);
      const withGrantOption = String(row.grant_option).toLowerCase() === "true";
      if (expected.has(key) && !withGrantOption) continue;
      differences.push({
        kind: "privilege",
        role,
        message:
          `${role} holds ${grant.privilege} on ${grant.on} ` +
          `${bare(grant.name)}${withGrantOption ? " WITH GRANT OPTION" : ""}, which the plan does not grant`,
        fix: [`REVOKE ${grant.privilege} ON ${grant.on} ${grant.name} FROM ROLE ${quoteSnowflake(role)}`],
      });
    }
    for (const [key, grant] of expected) {
      if (!seen.has(key))
        differences.push({
          kind: "privilege",
          role,
          message: `${role} lacks ${grant.privilege} on ${grant.on} ${bare(grant.name)} (pulumi up grants it)`,
          fix: [],
        });
    }
    const logins = new Set(workflow.roles.logins.map((l) => snowflakeRoleName(l.role)));
    for (const row of await query(`SHOW GRANTS OF ROLE ${quoteSnowflake(role)}`)) {
      const grantee = String(row.grantee_name);
      const kind = String(row.granted_to).toUpperCase();
      if (kind === "USER" && logins.has(grantee)) continue;
      differences.push({
        kind: "member",
        role,
        message: `${kind} ${grantee} holds role ${role}, which the plan gives only to ${[...logins].join(", ") || "no user"}`,
        fix: [`REVOKE ROLE ${quoteSnowflake(role)} FROM ${kind} ${quoteSnowflake(grantee)}`],
      });
    }
  }
  return { environment: plan.environment, target: target.name, database: target.database, drift: differences.length > 0, differences, notices: [] };
}

/** `--fix`: revokes what the plan does not grant (only the items that have a fix); returns how many statements ran. */
export async function revokeSnowflakeDrift(query: SnowflakeQuery, report: DriftReport): Promise<number> {
  let statements = 0;
  for (const item of report.differences) {
    for (const sql of item.fix) {
      await query(sql);
      statements++;
    }
  }
  return statements;
}

/** The scoped tables' columns from INFORMATION_SCHEMA.COLUMNS, as a catalog snapshot (`"SCHEMA.TABLE": [columns in order]`). */
export async function snowflakeCatalog(query: SnowflakeQuery, plan: AccessPlan, target: SnowflakeTarget): Promise<Record<string, Record<string, string>>> {
  const tables = new Map<string, { schema: string; table: string }>();
  for (const workflow of workflowsOf(plan, target.name))
    for (const t of workflow.tables) tables.set(`${t.schema}.${t.table}`, { schema: t.schema, table: t.table });
  // Typed, as `dbwarden catalog` writes every platform's columns (`column: type`).
  const catalog: Record<string, Record<string, string>> = {};
  for (const [key, { schema, table }] of [...tables].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const rows = await query(
      `SELECT COLUMN_NAME, DATA_TYPE FROM ${qualifiedSnowflake(target.database)}.INFORMATION_SCHEMA.COLUMNS ` +
        `WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [schema, table],
    );
    if (rows.length > 0) catalog[key] = Object.fromEntries(rows.map((r) => [String(r.COLUMN_NAME), String(r.DATA_TYPE)]));
  }
  return catalog;
}
