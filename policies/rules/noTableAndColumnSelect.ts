/**
 * `no-table-and-column-select`: no role gets a table-level SELECT on a table it also has a
 * column-level SELECT on. PostgreSQL checks the table grant first, so the column list would hide
 * nothing: every column, sensitive ones included, is readable. A table grant without `objects`
 * covers every table of its schema. Any role, not only agent roles: the column grant is a lie for
 * anyone.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { Grant } from "@pulumi/postgresql/grant.js";
import { mixesTableAndColumnSelect, type ObjectType } from "../../src/postgres/rules.ts";
import { qualified } from "../lib/inputs.ts";

interface SelectGrant {
  resource: PolicyResource;
  role: string;
  database: string;
  schema: string;
  /** Tables named; empty = every table of the schema. */
  objects: string[];
  objectType: ObjectType;
}

const scopeKey = (g: SelectGrant) => [g.role, g.database, g.schema].join("\u0000");

/** Table and column SELECT grants, by (role, database, schema). */
function selectGrantsBySchema(resources: PolicyResource[]): Map<string, SelectGrant[]> {
  const bySchema = new Map<string, SelectGrant[]>();
  for (const resource of resources) {
    if (!resource.isType(Grant)) continue;
    const props = resource.props;
    const objectType = props.objectType as string;
    if (objectType !== "table" && objectType !== "column") continue;
    if (!(props.privileges as string[]).some((p) => p.toUpperCase() === "SELECT")) continue;
    const grant: SelectGrant = {
      resource,
      role: props.role,
      database: props.database,
      schema: props.schema ?? "public",
      objects: props.objects ?? [],
      objectType,
    };
    const key = scopeKey(grant);
    const list = bySchema.get(key);
    if (list) list.push(grant);
    else bySchema.set(key, [grant]);
  }
  return bySchema;
}

export const noTableAndColumnSelect: StackValidationPolicy = {
  name: "no-table-and-column-select",
  description:
    "A table-level SELECT next to a column-level SELECT on the same table exposes every " +
    "column: PostgreSQL checks the table grant first, so the column list protects nothing.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Keep exactly one SELECT per role and table: either the table grant (all columns, including " +
    "columns added later) or the column grant (only the listed columns). Remove the table-level " +
    "Grant, or take the table out of its `objects` (and never use a table Grant without " +
    "`objects`, which covers every table of the schema, for a role that has column grants there).",
  validateStack: (args, report) => {
    for (const grants of selectGrantsBySchema(args.resources).values()) {
      const columnGrants = grants.filter((g) => g.objectType === "column");
      if (columnGrants.length === 0) continue;
      const tableGrants = grants.filter((g) => g.objectType === "table");
      for (const column of columnGrants) {
        for (const table of column.objects) {
          const covering = tableGrants.filter((g) => g.objects.length === 0 || g.objects.includes(table));
          const onTable = [...covering, column].map((g) => ({ objectType: g.objectType, privilege: "SELECT" }));
          if (!mixesTableAndColumnSelect(onTable)) continue;
          for (const wide of covering) {
            const scope = wide.objects.length === 0 ? `every table of schema ${wide.schema}` : `table ${qualified(wide.schema, table)}`;
            report(
              `role ${wide.role} gets SELECT on ${scope} and, from ${column.resource.name}, SELECT on ` +
                `columns of ${qualified(column.schema, table)}: the table grant exposes every column`,
              wide.resource.urn,
            );
          }
        }
      }
    }
  },
};
