/**
 * What the Snowflake components, the Snowflake engine, drift and the policy pack must agree on,
 * defined once: how the plan's names become Snowflake identifiers, where a workflow's secure views
 * live and what they are called, which tables are read through one, and the query tag that joins
 * Snowflake's QUERY_HISTORY with the MCP audit.
 *
 * Names: Snowflake stores unquoted identifiers in upper case, and key-pair logins sign their JWT
 * with the upper-cased user name, so the plan's role and login names (lower-case `dbw_...`) are
 * upper-cased; schema, table and column names are taken as the spec writes them (as Snowflake
 * stores them: `PUBLIC.ORDERS`) and always quoted, so nothing is case-folded twice.
 */
import type { TablePlan } from "./plan.js";
import { quoteIdent } from "./sql.js";

/** The schema, in each target database, that holds dbwarden's secure views and network rules. */
export const SNOWFLAKE_DBWARDEN_SCHEMA = "DBWARDEN";

/** Longest Snowflake identifier (characters). */
export const SNOWFLAKE_IDENTIFIER_MAX = 255;

/** A plan role or login name as the Snowflake object name (upper case: see the module comment). */
export function snowflakeRoleName(planName: string): string {
  return planName.toUpperCase();
}

/** `"name"`, with embedded quotes doubled: a Snowflake quoted identifier (the same rule as PostgreSQL's, sql.ts). */
export function quoteSnowflake(name: string): string {
  return quoteIdent(name);
}

/** `"A"."B"."C"`: a fully qualified, quoted name. */
export function qualifiedSnowflake(...parts: string[]): string {
  return parts.map(quoteSnowflake).join(".");
}

/**
 * Is the table read through a secure view (true) or granted as it is (false)? Snowflake has no
 * column-level SELECT, so every rule but `all` (which reads every column, sensitive ones justified)
 * is a secure view naming the readable columns, and the base table is never granted.
 */
export function readsThroughView(table: Pick<TablePlan, "rule">): boolean {
  return table.rule.access !== "all";
}

/**
 * The secure view a workflow reads a table through: `<DB>.DBWARDEN.<WORKFLOW>__<SCHEMA>__<TABLE>`
 * (the workflow's group role name, so two workflows never share a view). The engine rewrites the
 * table's references to it; the components create it; drift expects SELECT on it.
 */
export function secureViewName(groupRole: string, table: Pick<TablePlan, "schema" | "table">): string {
  return `${snowflakeRoleName(groupRole)}__${table.schema}__${table.table}`;
}

/** The object a workflow's role is granted SELECT on for a table: the base table or its secure view, as [schema, name]. */
export function grantedObject(groupRole: string, table: Pick<TablePlan, "schema" | "table" | "rule">): [schema: string, name: string] {
  return readsThroughView(table) ? [SNOWFLAKE_DBWARDEN_SCHEMA, secureViewName(groupRole, table)] : [table.schema, table.table];
}

/** Characters a query tag value keeps (others become `_`): the tag stays one parseable line. */
function tagValue(value: string): string {
  return value.replace(/[^A-Za-z0-9_.:@-]/g, "_").slice(0, 200);
}

/**
 * The QUERY_TAG of one MCP call: `dbwarden client=<c> workflow=<w> request=<id>`. QUERY_HISTORY
 * keeps it, so `WHERE query_tag LIKE '%request=<id>'` finds the audit line's statement. The service
 * user's own default tag (`dbwarden workflow=<w>`) marks anything run outside the server.
 */
export function snowflakeQueryTag(parts: { client: string; workflow: string; requestId: string }): string {
  return `dbwarden client=${tagValue(parts.client)} workflow=${tagValue(parts.workflow)} request=${tagValue(parts.requestId)}`;
}

/** The service user's default query tag (statements outside an MCP call). */
export function snowflakeUserQueryTag(workflow: string): string {
  return `dbwarden workflow=${tagValue(workflow)}`;
}
