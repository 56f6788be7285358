/**
 * The pure half of the Postgres read-only access component: access plan -> the roles and grants
 * `@pulumi/postgresql` must hold. No Pulumi here, so every rule is unit-tested without mocks.
 *
 * Rules (see ../../../shared/notes/pulumi-providers.md for why):
 * - one NOLOGIN group role per workflow holds every privilege; logins only inherit it;
 * - grants never use `objects: []` (that means "all tables in the schema");
 * - table-level SELECTs of one schema share one Grant, column-level SELECTs get one Grant per
 *   table (the provider allows one table and one privilege per column grant), so the resource
 *   count grows with schemas and column-scoped tables, not with the number of privileges;
 * - a table never gets both a table and a column SELECT (the table grant would expose every column).
 */
import { workflowsOf, type AccessPlan, type TargetPlan, type WorkflowPlan } from "../../src/plan/types.ts";
import { loginConnectionLimit, loginSettings, workflowPrivileges, type Privilege } from "../../src/postgres/model.ts";
import { grantedColumns, type CatalogSnapshot } from "./catalog.ts";

const MAX_IDENTIFIER = 63;

/** Arguments of one `postgresql.Role`, plus what the component needs to wire it. */
export interface RoleModel {
  /** Pulumi resource name (stable: derived from the role name). */
  resourceName: string;
  kind: "group" | "login" | "rotation-clone";
  /** Workflow the role belongs to. */
  workflow: string;
  name: string;
  login: boolean;
  /** Roles this role is a member of (the group for logins; nothing for the group). */
  memberOf: string[];
  connectionLimit: number | null;
  statementTimeoutMs: number | null;
  idleInTransactionSessionTimeoutMs: number | null;
  /** For logins: the plan login this role serves (a rotation clone serves the same client). */
  loginOf: string | null;
}

/** Arguments of one `postgresql.Grant`. */
export interface GrantModel {
  resourceName: string;
  workflow: string;
  role: string;
  database: string;
  objectType: "database" | "schema" | "table" | "column";
  schema: string | null;
  /** Tables (never empty for table/column grants), or empty for database/schema grants. */
  objects: string[];
  columns: string[] | null;
  /** Empty: revoke everything (used for PUBLIC). */
  privileges: [] | ["CONNECT"] | ["USAGE"] | ["SELECT"];
}

export interface PostgresAccessModel {
  target: string;
  database: string;
  /** Group roles first, then their logins, in plan order. */
  roles: RoleModel[];
  /** Per group role, in apply order: CONNECT, USAGE per schema, SELECT per schema/table. */
  grants: GrantModel[];
  /**
   * What PUBLIC keeps (what PUBLIC holds, every agent holds): nothing on the database and the
   * planned schemas and tables; only USAGE on `public` when no workflow reads it. The same state
   * the local reconciler and drift detection enforce (src/postgres/diff.ts).
   */
  publicGrants: GrantModel[];
  /** Role settings of the plan the provider cannot set (no generic GUCs on `postgresql.Role`). */
  unsupportedSettings: { role: string; name: string; value: string }[];
}

export interface PostgresAccessOptions {
  /** Extra roles every login joins, e.g. `["rds_iam"]` for RDS IAM authentication. */
  loginMemberOf?: readonly string[];
  /**
   * Also create `<login>_clone` for each login, as AWS's multi-user rotation function alternates
   * between the two. Created here (member of the group only) so the function only sets its
   * password instead of creating it as a member of the first login.
   */
  rotationClones?: boolean;
  /** Names the catalog in error messages. */
  catalogSource?: string;
  /** Take from PUBLIC what the plan does not give (default true; see `publicGrants`). */
  hardenPublic?: boolean;
}

/** Settings the `postgresql.Role` resource has a field for. */
const ROLE_FIELDS: Record<string, "statementTimeoutMs" | "idleInTransactionSessionTimeoutMs"> = {
  statement_timeout: "statementTimeoutMs",
  idle_in_transaction_session_timeout: "idleInTransactionSessionTimeoutMs",
};

/** Name of the second login AWS multi-user rotation alternates to. */
export function rotationCloneName(login: string): string {
  return `${login}_clone`;
}

function checkIdentifier(name: string, field: string): void {
  if (Buffer.byteLength(name) > MAX_IDENTIFIER) {
    throw new Error(`${field}: "${name}" is longer than ${MAX_IDENTIFIER} bytes; Postgres would truncate it. Shorten the workflow or client name.`);
  }
}

/** The target's plan and its workflows; throws naming the plan's targets if there is no such target. */
function targetWorkflows(plan: AccessPlan, target: string): { target: TargetPlan; workflows: WorkflowPlan[] } {
  const targetPlan = plan.targets.find((t) => t.name === target);
  if (!targetPlan) {
    throw new Error(`target: "${target}" is not in the plan of environment "${plan.environment}" (targets: ${plan.targets.map((t) => t.name).join(", ") || "none"})`);
  }
  return { target: targetPlan, workflows: workflowsOf(plan, target) };
}

/** Render the plan's roles and grants for one target. Throws early on anything it cannot render. */
export function postgresAccessModel(
  plan: AccessPlan,
  target: string,
  catalog: CatalogSnapshot,
  options: PostgresAccessOptions = {},
): PostgresAccessModel {
  const { target: targetPlan, workflows } = targetWorkflows(plan, target);
  const catalogSource = options.catalogSource ?? `stacks/catalog/${plan.environment}.json`;
  const roles: RoleModel[] = [];
  const grants: GrantModel[] = [];
  const unsupportedSettings: PostgresAccessModel["unsupportedSettings"] = [];
  const seenRoles = new Set<string>();
  const addRole = (role: RoleModel, field: string) => {
    checkIdentifier(role.name, field);
    if (seenRoles.has(role.name)) throw new Error(`${field}: role "${role.name}" is planned twice`);
    seenRoles.add(role.name);
    roles.push(role);
  };

  for (const workflow of workflows) {
    const group = workflow.roles.group;
    addRole(
      {
        resourceName: group,
        kind: "group",
        workflow: workflow.name,
        name: group,
        login: false,
        memberOf: [],
        connectionLimit: null,
        statementTimeoutMs: null,
        idleInTransactionSessionTimeoutMs: null,
        loginOf: null,
      },
      `workflows.${workflow.name}.roles.group`,
    );

    const settings = { statementTimeoutMs: null as number | null, idleInTransactionSessionTimeoutMs: null as number | null };
    for (const [name, value] of Object.entries(loginSettings(plan, workflow))) {
      const field = ROLE_FIELDS[name];
      if (field && /^\d+$/.test(value)) settings[field] = Number(value);
      else for (const login of workflow.roles.logins) unsupportedSettings.push({ role: login.role, name, value });
    }
    const loginNames = workflow.roles.logins.flatMap((login) =>
      options.rotationClones ? [[login.role, login.role] as const, [rotationCloneName(login.role), login.role] as const] : [[login.role, login.role] as const],
    );
    for (const [name, loginOf] of loginNames) {
      addRole(
        {
          resourceName: name,
          kind: name === loginOf ? "login" : "rotation-clone",
          workflow: workflow.name,
          name,
          login: true,
          memberOf: [group, ...(options.loginMemberOf ?? [])],
          connectionLimit: loginConnectionLimit(plan, workflow),
          ...settings,
          loginOf,
        },
        `workflows.${workflow.name}.roles.logins`,
      );
    }

    grants.push(...grantsOf(workflow, targetPlan.database, catalog, catalogSource));
  }
  const publicGrants = options.hardenPublic === false ? [] : publicGrantsOf(target, targetPlan.database, grants);
  return { target, database: targetPlan.database, roles, grants, publicGrants, unsupportedSettings };
}

function publicGrantsOf(target: string, database: string, grants: readonly GrantModel[]): GrantModel[] {
  const base = { workflow: "", role: "public", database, columns: null } as const;
  const schemas = [...new Set(grants.filter((g) => g.schema !== null).map((g) => g.schema!))].sort();
  const result: GrantModel[] = [{ ...base, resourceName: `${target}-public-database`, objectType: "database", schema: null, objects: [], privileges: [] }];
  for (const schema of schemas) {
    result.push({ ...base, resourceName: `${target}-public-schema-${schema}`, objectType: "schema", schema, objects: [], privileges: [] });
  }
  if (!schemas.includes("public")) {
    // Keeps USAGE (PostgreSQL 15+'s default) and takes CREATE (older versions' default).
    result.push({ ...base, resourceName: `${target}-public-schema-public`, objectType: "schema", schema: "public", objects: [], privileges: ["USAGE"] });
  }
  for (const schema of schemas) {
    const tables = [...new Set(grants.filter((g) => g.schema === schema && g.objects.length > 0).flatMap((g) => g.objects))].sort();
    if (tables.length > 0) {
      result.push({ ...base, resourceName: `${target}-public-tables-${schema}`, objectType: "table", schema, objects: tables, privileges: [] });
    }
  }
  return result;
}

function grantsOf(workflow: WorkflowPlan, database: string, catalog: CatalogSnapshot, catalogSource: string): GrantModel[] {
  const role = workflow.roles.group;
  const base = { workflow: workflow.name, role, columns: null } as const;
  const grants: GrantModel[] = [];
  const tableSelects = new Map<string, string[]>();
  const columnSelects: Extract<Privilege, { objectType: "column" }>[] = [];
  const columnTables = new Set<string>();

  for (const privilege of workflowPrivileges(workflow, database)) {
    if (privilege.database !== database) {
      throw new Error(`workflows.${workflow.name}.privileges: privilege on database "${privilege.database}" but target database is "${database}"`);
    }
    switch (privilege.objectType) {
      case "database":
        grants.push({ ...base, resourceName: `${role}-connect`, database, objectType: "database", schema: null, objects: [], privileges: ["CONNECT"] });
        break;
      case "schema":
        grants.push({ ...base, resourceName: `${role}-usage-${privilege.schema}`, database, objectType: "schema", schema: privilege.schema, objects: [], privileges: ["USAGE"] });
        break;
      case "table": {
        const tables = tableSelects.get(privilege.schema) ?? [];
        tables.push(privilege.table);
        tableSelects.set(privilege.schema, tables);
        break;
      }
      case "column":
        columnSelects.push(privilege);
        columnTables.add(`${privilege.schema}.${privilege.table}`);
        break;
    }
  }
  for (const [schema, tables] of [...tableSelects].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const table of tables) {
      if (columnTables.has(`${schema}.${table}`)) {
        throw new Error(`workflows.${workflow.name}.privileges: ${schema}.${table} has both a table and a column SELECT; the table grant would expose every column`);
      }
    }
    grants.push({ ...base, resourceName: `${role}-select-${schema}`, database, objectType: "table", schema, objects: [...tables].sort(), privileges: ["SELECT"] });
  }
  for (const privilege of columnSelects) {
    const columns = grantedColumns(privilege, catalog, { workflow: workflow.name, catalogSource });
    if (columns.length === 0) {
      throw new Error(`workflows.${workflow.name}.privileges: column SELECT on ${privilege.schema}.${privilege.table} lists no columns`);
    }
    grants.push({
      ...base,
      resourceName: `${role}-select-${privilege.schema}.${privilege.table}`,
      database,
      objectType: "column",
      schema: privilege.schema,
      objects: [privilege.table],
      columns,
      privileges: ["SELECT"],
    });
  }
  return grants;
}

/** Check a host literal: the provider wants an address, not `host:port` (use `rds.Instance.address`). */
export function checkHost(host: string, field: string): string {
  if (host.length === 0) throw new Error(`${field}: empty host`);
  if (/:\d+$/.test(host) || host.includes("/")) {
    throw new Error(`${field}: "${host}" must be a host address without port or path (use rds.Instance.address, not .endpoint)`);
  }
  return host;
}
