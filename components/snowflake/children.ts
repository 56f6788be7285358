/**
 * What the plan means in Snowflake for one target, as a pure list of resources (type, name, args,
 * what each depends on) that `SnowflakeReadOnlyAccess` only iterates, and the policy pack, drift
 * and tests read as it is:
 * - the target's `DBWARDEN` schema (secure views and the network rule live there), a network rule
 *   of the MCP service's egress addresses and a network policy allowing only that rule;
 * - per workflow an account role with USAGE on the warehouse, the database and the schemas it
 *   reads, and SELECT on each table it reads whole (`all`) or, where columns are hidden, on a
 *   secure view naming the readable columns (never on that base table: Snowflake has no column
 *   grants, and a base-table grant would expose every column);
 * - per client a service user: key-pair auth only (two key slots for overlapping rotation), its
 *   workflow's role as default and only role (secondary roles NONE), the network policy, a
 *   statement timeout and a query tag; and the grant of the role to the user.
 * Masks and row filters (issue 21) are more children of a workflow here, on its secure views.
 */
import {
  SNOWFLAKE_DBWARDEN_SCHEMA,
  grantedObject,
  qualifiedSnowflake,
  readsThroughView,
  resolveColumns,
  secureViewName,
  snowflakeRoleName,
  snowflakeUserQueryTag,
  workflowsOf,
  type AccessPlan,
  type TablePlan,
  type TargetOf,
  type WorkflowPlan,
} from "../../src/plan/types.ts";
import { entryColumns, type CatalogSnapshot } from "../postgres/catalog.ts";

/** A Snowflake target. */
export type SnowflakeTarget = TargetOf<"snowflake">;

/**
 * Provider resource types that are preview features in @pulumi/snowflake 1.x, with the feature
 * name the provider must list in `previewFeaturesEnabled` (else the resource fails at runtime;
 * mocks do not tell). Every type the children use is either here or stable.
 */
export const SNOWFLAKE_PREVIEW_FEATURES: Readonly<Record<string, string>> = {
  "snowflake:index/networkRule:NetworkRule": "snowflake_network_rule_resource",
  "snowflake:index/networkPolicyAttachment:NetworkPolicyAttachment": "snowflake_network_policy_attachment_resource",
  "snowflake:index/tableColumnMaskingPolicyApplication:TableColumnMaskingPolicyApplication": "snowflake_table_column_masking_policy_application_resource",
  "snowflake:index/userPublicKeys:UserPublicKeys": "snowflake_user_public_keys_resource",
  "snowflake:index/objectParameter:ObjectParameter": "snowflake_object_parameter_resource",
  "snowflake:index/table:Table": "snowflake_table_resource",
};

/** The resource types the children use. */
export const SNOWFLAKE_TYPES = {
  schema: "snowflake:index/schema:Schema",
  networkRule: "snowflake:index/networkRule:NetworkRule",
  networkPolicy: "snowflake:index/networkPolicy:NetworkPolicy",
  role: "snowflake:index/accountRole:AccountRole",
  grant: "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole",
  view: "snowflake:index/view:View",
  user: "snowflake:index/serviceUser:ServiceUser",
  roleGrant: "snowflake:index/grantAccountRole:GrantAccountRole",
} as const;

/** The preview features the children of a target need: those of the preview types they use. */
export function previewFeaturesOf(children: readonly SnowflakeChild[]): string[] {
  return [...new Set(children.flatMap((c) => (SNOWFLAKE_PREVIEW_FEATURES[c.type] ? [SNOWFLAKE_PREVIEW_FEATURES[c.type]!] : [])))].sort();
}

/** One resource of a target's access: its type token, its name (unique in the stack), its inputs, the children it depends on. */
export interface SnowflakeChild {
  type: (typeof SNOWFLAKE_TYPES)[keyof typeof SNOWFLAKE_TYPES];
  name: string;
  args: Record<string, unknown>;
  dependsOn: string[];
  /** For grant-like resources: delete the old before creating the replacement (a late delete would revoke what the create just granted). */
  deleteBeforeReplace?: true;
  /** Inputs changed outside Pulumi on purpose (a user's keys: the rotation job swaps them). */
  ignoreChanges?: string[];
  /**
   * Inputs given at creation by the platform: a user's first public key (by login role), the
   * network rule's addresses (the host's egress, when it reserves them).
   */
  fromContext?: { rsaPublicKey: string } | { valueLists: "egressAddresses" };
}

/** A network policy name of a target: account-level, so the environment and target are in it. */
export function networkPolicyName(environment: string, target: string): string {
  return `DBWARDEN_${environment}_${target}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

/** The column list of a table's secure view: its readable columns, from the rule or, for "all columns but these", the catalog. */
export function viewColumns(table: TablePlan, catalog: CatalogSnapshot, where: string): string[] {
  if (table.rule.access === "only") return table.rule.columns;
  const key = `${table.schema}.${table.table}`;
  const live = Object.hasOwn(catalog, key) ? entryColumns(catalog[key]!) : undefined;
  if (!live)
    throw new Error(
      `${where}: "all columns but these" needs the table's columns: add "${table.schema}.${table.table}" to the catalog snapshot (dbwarden catalog)`,
    );
  const { readable, unknown } = resolveColumns(table, live);
  if (unknown.length > 0) throw new Error(`${where}: the catalog's ${table.schema}.${table.table} has no column ${unknown.join(", ")}`);
  if (readable.length === 0) throw new Error(`${where}: no column of ${table.schema}.${table.table} is readable`);
  return readable;
}

/** The secure view's statement: the readable columns of the base table, quoted. */
export function viewStatement(database: string, table: TablePlan, columns: readonly string[]): string {
  return `SELECT ${columns.map((c) => qualifiedSnowflake(c)).join(", ")} FROM ${qualifiedSnowflake(database, table.schema, table.table)}`;
}

/** The schemas a workflow's role needs USAGE on: those of the tables it reads whole, and dbwarden's for its views. */
function schemasOf(workflow: WorkflowPlan): string[] {
  return [...new Set(workflow.tables.map((t) => grantedObject(workflow.roles.group, t)[0]))].sort();
}

/** Every resource of a target's read-only access, in creation order. Throws naming the field on what Snowflake would refuse. */
export function snowflakeAccessChildren(plan: AccessPlan, target: SnowflakeTarget, catalog: CatalogSnapshot, prefix: string): SnowflakeChild[] {
  const db = target.database;
  const { warehouse } = target.platformSettings;
  const schemaName = `${prefix}-schema`;
  const ruleName = `${prefix}-egress-rule`;
  const policyName = `${prefix}-network-policy`;
  const children: SnowflakeChild[] = [
    {
      type: SNOWFLAKE_TYPES.schema,
      name: schemaName,
      args: {
        database: db,
        name: SNOWFLAKE_DBWARDEN_SCHEMA,
        comment: "dbwarden: secure views and network rules of the agents' roles",
        withManagedAccess: "true",
      },
      dependsOn: [],
    },
    {
      type: SNOWFLAKE_TYPES.networkRule,
      name: ruleName,
      args: {
        database: db,
        schema: SNOWFLAKE_DBWARDEN_SCHEMA,
        name: "MCP_EGRESS",
        type: "IPV4",
        mode: "INGRESS",
        valueLists: [...target.network.allowedCidrs],
        comment: "dbwarden: the MCP service's egress addresses",
      },
      dependsOn: [schemaName],
      fromContext: { valueLists: "egressAddresses" },
    },
    {
      type: SNOWFLAKE_TYPES.networkPolicy,
      name: policyName,
      args: {
        name: networkPolicyName(plan.environment, target.name),
        allowedNetworkRuleLists: [qualifiedSnowflake(db, SNOWFLAKE_DBWARDEN_SCHEMA, "MCP_EGRESS")],
        comment: `dbwarden: logins of target ${target.name} from the MCP service only`,
      },
      dependsOn: [ruleName],
    },
  ];
  for (const workflow of workflowsOf(plan, target.name))
    children.push(
      ...workflowChildren(target, workflow, catalog, `${prefix}-${workflow.name}`, {
        schemaName,
        policyName,
        policy: networkPolicyName(plan.environment, target.name),
        warehouse,
      }),
    );
  return children;
}

/** A workflow's role, grants, views, users and memberships. */
function workflowChildren(
  target: SnowflakeTarget,
  workflow: WorkflowPlan,
  catalog: CatalogSnapshot,
  prefix: string,
  shared: { schemaName: string; policyName: string; policy: string; warehouse: string },
): SnowflakeChild[] {
  const db = target.database;
  const role = snowflakeRoleName(workflow.roles.group);
  const roleName = `${prefix}-role`;
  const grant = (suffix: string, on: Record<string, unknown>, privileges: string[], dependsOn: string[]): SnowflakeChild => ({
    type: SNOWFLAKE_TYPES.grant,
    name: `${prefix}-${suffix}`,
    args: { accountRoleName: role, privileges, ...on },
    dependsOn: [roleName, ...dependsOn],
    deleteBeforeReplace: true,
  });
  const children: SnowflakeChild[] = [
    {
      type: SNOWFLAKE_TYPES.role,
      name: roleName,
      args: { name: role, comment: `dbwarden workflow ${workflow.name} (owner ${workflow.owner})` },
      dependsOn: [],
    },
    grant("usage-warehouse", { onAccountObject: { objectType: "WAREHOUSE", objectName: shared.warehouse } }, ["USAGE"], []),
    grant("usage-database", { onAccountObject: { objectType: "DATABASE", objectName: db } }, ["USAGE"], []),
  ];
  for (const schema of schemasOf(workflow)) {
    const after = schema === SNOWFLAKE_DBWARDEN_SCHEMA ? [shared.schemaName] : [];
    children.push(grant(`usage-schema-${schema}`, { onSchema: { schemaName: qualifiedSnowflake(db, schema) } }, ["USAGE"], after));
  }
  for (const table of workflow.tables) {
    const label = `${table.schema}.${table.table}`;
    if (!readsThroughView(table)) {
      const on = { onSchemaObject: { objectType: "TABLE", objectName: qualifiedSnowflake(db, table.schema, table.table) } };
      children.push(grant(`select-${label}`, on, ["SELECT"], []));
      continue;
    }
    const viewName = `${prefix}-view-${label}`;
    const columns = viewColumns(table, catalog, `workflows.${workflow.name}.scope.${label}`);
    children.push({
      type: SNOWFLAKE_TYPES.view,
      name: viewName,
      args: {
        database: db,
        schema: SNOWFLAKE_DBWARDEN_SCHEMA,
        name: secureViewName(workflow.roles.group, table),
        isSecure: "true",
        statement: viewStatement(db, table, columns),
        comment: `dbwarden workflow ${workflow.name}: the readable columns of ${label}`,
      },
      dependsOn: [shared.schemaName],
    });
    const [schema, name] = grantedObject(workflow.roles.group, table);
    children.push(
      grant(`select-${label}`, { onSchemaObject: { objectType: "VIEW", objectName: qualifiedSnowflake(db, schema, name) } }, ["SELECT"], [viewName]),
    );
  }
  for (const login of workflow.roles.logins) children.push(...loginChildren(workflow, login.role, `${prefix}-${login.client}`, roleName, shared));
  return children;
}

/** A client's service user and its role membership. */
function loginChildren(
  workflow: WorkflowPlan,
  loginRole: string,
  prefix: string,
  roleName: string,
  shared: { policyName: string; policy: string; warehouse: string },
): SnowflakeChild[] {
  const userName = `${prefix}-user`;
  const user = snowflakeRoleName(loginRole);
  return [
    {
      type: SNOWFLAKE_TYPES.user,
      name: userName,
      args: {
        name: user,
        loginName: user,
        comment: `dbwarden: MCP login of workflow ${workflow.name}`,
        defaultRole: snowflakeRoleName(workflow.roles.group),
        defaultSecondaryRolesOption: "NONE",
        defaultWarehouse: shared.warehouse,
        networkPolicy: shared.policy,
        queryTag: snowflakeUserQueryTag(workflow.name),
        statementTimeoutInSeconds: Math.max(1, Math.ceil(workflow.limits.statementTimeoutMs / 1000)),
      },
      dependsOn: [shared.policyName, roleName],
      ignoreChanges: ["rsaPublicKey", "rsaPublicKey2"],
      fromContext: { rsaPublicKey: loginRole },
    },
    {
      type: SNOWFLAKE_TYPES.roleGrant,
      name: `${prefix}-role-grant`,
      args: { roleName: snowflakeRoleName(workflow.roles.group), userName: user },
      dependsOn: [roleName, userName],
      deleteBeforeReplace: true,
    },
  ];
}
