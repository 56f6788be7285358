/**
 * `snowflake-no-base-table-with-hidden-columns`: a role that reads a table through a secure view
 * (the view names the readable columns) is never granted SELECT on that base table too: Snowflake
 * has no column grants, so the table grant would expose every column the view hides.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { GrantPrivilegesToAccountRole } from "@pulumi/snowflake/grantPrivilegesToAccountRole.js";
import { View } from "@pulumi/snowflake/view.js";
import { qualifiedSnowflake } from "../../src/plan/types.ts";

/** The base table a view selects from (`FROM "DB"."S"."T"`), as a qualified name, or null. */
export function viewBaseTable(statement: unknown): string | null {
  const match = /\bFROM\s+("(?:[^"]|"")+"\."(?:[^"]|"")+"\."(?:[^"]|"")+")\s*$/i.exec(String(statement ?? "").trim());
  return match ? match[1]! : null;
}

/** SELECT grants on one object by role. */
function selectsOn(resources: PolicyResource[], kind: "TABLE" | "VIEW"): Array<{ resource: PolicyResource; role: string; object: string }> {
  return resources
    .filter((r) => r.isType(GrantPrivilegesToAccountRole))
    .map((r) => ({
      resource: r,
      props: r.props as { accountRoleName: string; privileges?: string[]; onSchemaObject?: { objectType?: string; objectName?: string } },
    }))
    .filter(
      ({ props }) => String(props.onSchemaObject?.objectType).toUpperCase() === kind && (props.privileges ?? []).some((p) => p.toUpperCase() === "SELECT"),
    )
    .map(({ resource, props }) => ({ resource, role: props.accountRoleName, object: String(props.onSchemaObject!.objectName) }));
}

export const snowflakeNoBaseTableWithHiddenColumns: StackValidationPolicy = {
  name: "snowflake-no-base-table-with-hidden-columns",
  description:
    "A role reading a table through a secure view of its readable columns is never granted the base table: the table grant would expose every column.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps: "Remove the SELECT grant on the base table; the role reads the table through its secure view (dbwarden's DBWARDEN schema) only.",
  validateStack: (args, report) => {
    const baseOfView = new Map<string, string>();
    for (const r of args.resources) {
      if (!r.isType(View) || String(r.props.isSecure) !== "true") continue;
      const base = viewBaseTable(r.props.statement);
      if (base) baseOfView.set(qualifiedSnowflake(String(r.props.database), String(r.props.schema), String(r.props.name)), base);
    }
    const tables = selectsOn(args.resources, "TABLE");
    for (const view of selectsOn(args.resources, "VIEW")) {
      const base = baseOfView.get(view.object);
      if (!base) continue;
      for (const table of tables.filter((t) => t.role === view.role && t.object === base)) {
        report(
          `role ${table.role} reads ${base} through the secure view ${view.object} and is also granted SELECT on ${base}: every hidden column is exposed`,
          table.resource.urn,
        );
      }
    }
  },
};
