/**
 * The pure half of the Postgres read-only access component: the plan's desired-state model
 * (src/postgres/model.ts, the one the reconciler and drift detection use) rendered as the roles
 * and grants `@pulumi/postgresql` must hold. No Pulumi here, so every rule is unit-tested without
 * mocks. What the database must hold is decided by the model; only the Pulumi specifics are here.
 *
 * Pulumi specifics (docs/postgres-provider.md says why):
 * - grants never use `objects: []` (that means "all tables in the schema");
 * - table-level SELECTs of one schema share one Grant, column-level SELECTs get one Grant per
 *   table (the provider allows one table and one privilege per column grant), so the resource
 *   count grows with schemas and column-scoped tables, not with the number of privileges;
 * - `postgresql.Role` sets only the settings it has a field for (`PULUMI_ROLE_SETTINGS`); the
 *   model marks the others advisory, and the component warns about them;
 * - PUBLIC is changed only where the spec says why (the model's `public.mode`): then its database,
 *   schema and table privileges, EXECUTE on the planned schemas' routines (`objects: []`, "every
 *   routine in the schema", is exactly what is meant here) and, through default privileges, on
 *   the functions the owners create from now on, are taken away.
 */
import { maskName } from "@dbwarden/contract";
import { checkReportingView, checkRowFilter } from "../../src/sql/check.ts";
import {
  PULUMI_ROLE_SETTINGS,
  governedApplyStatements,
  governedDestroyStatements,
  governedTeardownStatements,
  postgresModel,
  searchPathSchemas,
  type DesiredRole,
  type GovernedState,
  type GroupAccess,
  type PostgresModel,
  type PulumiRoleSetting,
  type RoleKind,
} from "../../src/postgres/model.ts";
import type { AccessPlan } from "../../src/plan/types.ts";
import { snapshotColumns, type CatalogSnapshot } from "./catalog.ts";
import { GOVERNED_VIEWS_KIND, type GovernedViewInput, type GovernedViewsInputs } from "./governedViews.ts";

/** Arguments of one `postgresql.Role`, plus what the component needs to wire it. */
export interface RoleModel {
  /** Pulumi resource name (stable: derived from the role name). */
  resourceName: string;
  kind: RoleKind;
  /** Workflow the role belongs to. */
  workflow: string;
  name: string;
  login: boolean;
  /** Attributes (`postgresql.Role` fields): every agent role's, from the model. */
  attributes: DesiredRole["attributes"];
  /** Roles this role is a member of (the group and the platform's IAM roles for logins; nothing for the group). */
  memberOf: string[];
  /** null: no limit (the provider's default). */
  connectionLimit: number | null;
  statementTimeoutMs: number | null;
  idleInTransactionSessionTimeoutMs: number | null;
  /** The login's `search_path` (its governed schema first), or null: the server's default. */
  searchPaths: string[] | null;
  /** For logins: the plan login this role serves (a rotation clone serves the same client). */
  loginOf: string | null;
}

/** Arguments of one `postgresql.Grant`. */
export interface GrantModel {
  resourceName: string;
  workflow: string;
  role: string;
  database: string;
  /** `routine`: every function, procedure and aggregate of the schema (PUBLIC's EXECUTE only). */
  objectType: "database" | "schema" | "table" | "column" | "routine";
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
  /** Per workflow in plan order: its group, then each login followed by its rotation clone. */
  roles: RoleModel[];
  /** Per group role, in apply order: CONNECT, USAGE per schema, SELECT per schema/table. */
  grants: GrantModel[];
  /**
   * Whether PUBLIC is changed (`revoke`: the spec says why, in `reason`) or left as it is (`leave`).
   * From the model (`PostgresModel.public`).
   */
  public: { mode: "revoke" | "leave"; reason: string | null };
  /**
   * With `revoke`, what PUBLIC keeps, as the model says: nothing on the database and the planned
   * schemas and tables, only USAGE on `public` when no workflow reads it, no EXECUTE on the planned
   * schemas' routines. With `leave`, nothing: no resource touches PUBLIC.
   */
  publicGrants: GrantModel[];
  /** Role settings of the model the provider cannot set (no generic GUCs on `postgresql.Role`). */
  unsupportedSettings: { role: string; name: string; value: string }[];
  /**
   * Masks, row filters and reporting views: the governed views resource's inputs but the
   * connection (./governedViews.ts), from the model; null when no workflow of the target has any.
   */
  governed: Omit<GovernedViewsInputs, "connection"> | null;
}

export interface PostgresAccessOptions {
  /** Names the catalog snapshot in error messages; default `stacks/catalog/<env>.json`. */
  catalogSource?: string;
  /**
   * Settings the database server already applies to every session (the AWS replica's parameter
   * group): a role setting the provider cannot set is not reported when the server has the same value.
   */
  serverSettings?: Record<string, string>;
}

/** The `postgresql.Role` field of each setting it can hold. */
const ROLE_FIELDS: Record<PulumiRoleSetting, "statementTimeoutMs" | "idleInTransactionSessionTimeoutMs" | "searchPaths"> = {
  statement_timeout: "statementTimeoutMs",
  idle_in_transaction_session_timeout: "idleInTransactionSessionTimeoutMs",
  search_path: "searchPaths",
};

/**
 * Render the plan's roles and grants for one target, the columns read from the catalog snapshot.
 * Throws on any problem of the model (a table the snapshot lacks, a column the plan names that the
 * table does not have, an over-long role name), naming each: nothing half-rendered.
 */
export function postgresAccessModel(plan: AccessPlan, target: string, catalog: CatalogSnapshot, options: PostgresAccessOptions = {}): PostgresAccessModel {
  const catalogSource = options.catalogSource ?? `stacks/catalog/${plan.environment}.json`;
  let model: PostgresModel;
  try {
    model = postgresModel(plan, target, snapshotColumns(catalog, catalogSource));
  } catch (error) {
    throw new Error(`target: ${(error as Error).message}`, { cause: error });
  }
  if (model.problems.length > 0) {
    throw new Error(`the access plan of target "${target}" does not fit ${catalogSource}:\n  - ${model.problems.map((p) => p.message).join("\n  - ")}`);
  }
  return {
    target,
    database: model.database,
    roles: model.roles.map(roleOf),
    grants: model.groups.flatMap((g) => grantsOf(g, model.database)),
    public: { mode: model.public.mode, reason: model.public.reason },
    publicGrants: model.public.mode === "revoke" ? publicGrantsOf(model) : [],
    unsupportedSettings: model.roles.flatMap((r) =>
      r.advisory.settings
        .filter((name) => options.serverSettings?.[name] !== r.settings[name])
        .map((name) => ({ role: r.name, name, value: r.settings[name]! })),
    ),
    governed: governedInputs(model.governed, model.database),
  };
}

/** The governed views resource's inputs (but the connection), from the model's governed state. */
export function governedInputs(state: GovernedState, database: string): PostgresAccessModel["governed"] {
  if (state.workflows.length === 0) return null;
  const views = state.workflows.flatMap((w) =>
    w.views.map((v): GovernedViewInput => ({
      workflow: w.workflow,
      group: w.group,
      schema: v.schema,
      name: v.name,
      kind: v.kind,
      source: v.source,
      columns: v.columns.map((c) => ({ name: c.name, mask: c.mask ? maskName(c.mask) : null })),
      rowFilter: v.rowFilter === null ? null : { predicate: v.rowFilter, attributes: checkRowFilter(v.rowFilter).attributes },
      reads:
        v.kind === "report" ? checkReportingView(v.query).reads : [{ schema: v.source!.schema, table: v.source!.table, columns: v.columns.map((c) => c.name) }],
    })),
  );
  return {
    kind: GOVERNED_VIEWS_KIND,
    database,
    views,
    attributes: state.attributes.map((a) => ({ login: a.login, workflow: a.workflow, attributes: { ...a.attributes } })),
    statements: governedApplyStatements(state),
    teardown: governedTeardownStatements(state),
    destroy: governedDestroyStatements(state),
  };
}

function roleOf(role: DesiredRole): RoleModel {
  const settings = {
    statementTimeoutMs: null as number | null,
    idleInTransactionSessionTimeoutMs: null as number | null,
    searchPaths: null as string[] | null,
  };
  for (const name of PULUMI_ROLE_SETTINGS) {
    const value = role.settings[name];
    if (value === undefined) continue;
    const field = ROLE_FIELDS[name];
    if (field === "searchPaths") settings.searchPaths = searchPathSchemas(value);
    else settings[field] = Number(value);
  }
  return {
    resourceName: role.name,
    kind: role.kind,
    workflow: role.workflow,
    name: role.name,
    login: role.login,
    attributes: role.attributes,
    memberOf: [...role.memberOf],
    // -1 (no limit) is the provider's default: left unset.
    connectionLimit: role.connectionLimit === -1 ? null : role.connectionLimit,
    ...settings,
    loginOf: role.loginOf,
  };
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One group's grants: CONNECT, USAGE per schema, one SELECT per schema's table-level tables, one per column-scoped table. */
function grantsOf(group: GroupAccess, database: string): GrantModel[] {
  const role = group.role;
  const base = { workflow: group.workflow, role, database, columns: null } as const;
  const grants: GrantModel[] = [
    { ...base, resourceName: `${role}-connect`, objectType: "database", schema: null, objects: [], privileges: ["CONNECT"] },
    ...group.schemas.map((schema): GrantModel => ({
      ...base,
      resourceName: `${role}-usage-${schema}`,
      objectType: "schema",
      schema,
      objects: [],
      privileges: ["USAGE"],
    })),
  ];
  const wholeTables = new Map<string, string[]>();
  for (const t of group.tables) if (t.columns === null) wholeTables.set(t.schema, [...(wholeTables.get(t.schema) ?? []), t.table]);
  for (const [schema, tables] of [...wholeTables].sort(([a], [b]) => byString(a, b))) {
    grants.push({
      ...base,
      resourceName: `${role}-select-${schema}`,
      objectType: "table",
      schema,
      objects: [...tables].sort(byString),
      privileges: ["SELECT"],
    });
  }
  for (const t of group.tables) {
    if (t.columns === null) continue;
    grants.push({
      ...base,
      resourceName: `${role}-select-${t.schema}.${t.table}`,
      objectType: "column",
      schema: t.schema,
      objects: [t.table],
      columns: [...t.columns],
      privileges: ["SELECT"],
    });
  }
  return grants;
}

/**
 * The model's `public` as Grants (`revoke` only): revoke all on the database, planned schemas and
 * planned tables, keep USAGE on `public`, and revoke EXECUTE on every routine of the planned schemas.
 */
function publicGrantsOf(model: PostgresModel): GrantModel[] {
  const { target, database } = model;
  const keep = model.public;
  const base = { workflow: "", role: "public", database, columns: null } as const;
  const result: GrantModel[] = [{ ...base, resourceName: `${target}-public-database`, objectType: "database", schema: null, objects: [], privileges: [] }];
  for (const schema of keep.plannedSchemas) {
    result.push({ ...base, resourceName: `${target}-public-schema-${schema}`, objectType: "schema", schema, objects: [], privileges: [] });
  }
  if (!keep.plannedSchemas.includes("public")) {
    // What PUBLIC may keep on other schemas (USAGE, PostgreSQL 15+'s default), taking CREATE (older versions' default).
    result.push({
      ...base,
      resourceName: `${target}-public-schema-public`,
      objectType: "schema",
      schema: "public",
      objects: [],
      privileges: keep.otherSchemas.includes("USAGE") ? ["USAGE"] : [],
    });
  }
  for (const schema of keep.plannedSchemas) {
    const tables = keep.plannedTables.filter((t) => t.schema === schema).map((t) => t.table);
    if (tables.length > 0) {
      result.push({ ...base, resourceName: `${target}-public-tables-${schema}`, objectType: "table", schema, objects: tables, privileges: [] });
    }
  }
  for (const schema of keep.plannedSchemas) {
    result.push({ ...base, resourceName: `${target}-public-routines-${schema}`, objectType: "routine", schema, objects: [], privileges: [] });
  }
  return result;
}

/** Check a host literal: the provider wants an address, not `host:port` (use `rds.Instance.address`). */
export function checkHost(host: string, field: string): string {
  if (host.length === 0) throw new Error(`${field}: empty host`);
  if (/:\d+$/.test(host) || host.includes("/")) {
    throw new Error(`${field}: "${host}" must be a host address without port or path (use rds.Instance.address, not .endpoint)`);
  }
  return host;
}
