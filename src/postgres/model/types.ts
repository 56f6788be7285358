/**
 * The shape of the Postgres desired-state model (see ../model.ts): plain, JSON-serializable data,
 * the one statement of what an access plan means in one target's database.
 */
import type { AttributeValue, MaskPlan, TargetPlatform } from "@dbwarden/contract";
import type { AgentRoleAttribute } from "../rules.ts";

// What masks, row filters and reporting views mean in the database (built in ./governed.ts).

/** A view dbwarden owns in a workflow's governed schema. */
export interface GovernedView {
  workflow: string;
  schema: string;
  name: string;
  /** `table`: a masked or filtered table; `report`: a reporting view. */
  kind: "table" | "report";
  /** The table a governed table's view reads; null for a reporting view. */
  source: { schema: string; table: string } | null;
  /** Output columns, with the mask each is read through (reporting views: none). */
  columns: Array<{ name: string; mask: MaskPlan | null }>;
  /** The row filter's predicate as the spec writes it; null without one. */
  rowFilter: string | null;
  /** The SELECT the view is created with. */
  query: string;
  /** The statement that creates it. */
  create: string;
  /** First 16 hex digits of the sha256 of `create`: recorded in `governed_views`, compared by drift. */
  planHash: string;
}

/** One workflow's governed schema and views. */
export interface GovernedWorkflow {
  workflow: string;
  group: string;
  schema: string;
  /** The comment marking the schema as dbwarden's. */
  marker: string;
  views: GovernedView[];
  /** Some view hashes a column: the workflow needs a key in `workflow_keys`. */
  hashes: boolean;
}

/** What a target's database holds for masks, row filters and reporting views. */
export interface GovernedState {
  /** Per governed workflow, in plan order. */
  workflows: GovernedWorkflow[];
  /** The rows of `client_attributes`: every login (and rotation clone) of a governed workflow, sorted by login. */
  attributes: Array<{ login: string; workflow: string; attributes: Record<string, AttributeValue> }>;
  /** Workflows with a `hash` mask, sorted: each has a key. */
  keys: string[];
}

/** `group`: the workflow's NOLOGIN role; `login`: one per client; `rotation-clone`: its alternate. */
export type RoleKind = "group" | "login" | "rotation-clone";

/**
 * Who applies a target's roles and grants: the reconciler (`dbwarden up`, for the platforms the
 * local host serves) or the Pulumi component (every other platform). It decides only what drift
 * may demand that the applier cannot set (see `DesiredRole.advisory`).
 */
export type AppliedBy = "reconciler" | "pulumi";

export interface DesiredRole {
  name: string;
  kind: RoleKind;
  workflow: string;
  /** The workflow's group role (the role itself for a group). */
  group: string;
  /** The plan login a login or clone serves (the client's login); null for a group. */
  loginOf: string | null;
  /** Where the plan names this role, for messages (`workflows.<name>.roles.group`). */
  field: string;
  login: boolean;
  /** Every agent role's attributes (`AGENT_ROLE_ATTRIBUTES`). */
  attributes: Record<AgentRoleAttribute, boolean>;
  /** -1 (no limit) for groups; the pool size of the MCP servers for logins. */
  connectionLimit: number;
  /**
   * Roles this role is a member of, inheriting, without ADMIN OPTION: nothing for a group; the
   * group, then the platform's IAM login roles (`rds_iam`), for a login and its clone.
   */
  memberOf: string[];
  /**
   * Roles outside dbwarden that the platform makes members of this login (Cloud SQL IAM database
   * users, created by Cloud SQL with the login as their one role): drift does not report them as
   * other roles holding the agents' access. Absent elsewhere.
   */
  platformMembers?: string[];
  /** `ALTER ROLE ... SET` values, sorted by name (empty for groups). */
  settings: Record<string, string>;
  /** The comment marking the role as dbwarden's for this environment, target and workflow. */
  marker: string;
  /**
   * What the target's applier cannot put on a role, so drift does not demand it (it still reports
   * a different value, and the reconciler still sets it where it runs): with Pulumi, the marker
   * comment (`postgresql.Role` has no comment) and the settings `postgresql.Role` has no field
   * for (e.g. `log_statement`, set on the replica's parameter group instead). Empty otherwise.
   */
  advisory: { marker: boolean; settings: string[] };
}

/** One SELECT of a group role: table-level (`columns: null`) or on exactly these columns. */
export interface TableSelect {
  schema: string;
  table: string;
  /** null: table-level SELECT (every column, including later ones); else the columns, sorted. */
  columns: string[] | null;
}

/** Everything a workflow's group role holds (its logins hold nothing but membership). */
export interface GroupAccess {
  role: string;
  workflow: string;
  /** Privileges on the database: CONNECT. */
  database: string[];
  /** Schemas it has USAGE on (the ones that exist, where the column source knows schemas), sorted. */
  schemas: string[];
  /** One SELECT per table it reads directly (not masked or filtered) found in the column source, sorted by schema then table. */
  tables: TableSelect[];
  /** Its governed schema (USAGE) and the views there (table-level SELECT each), sorted; null without one. */
  governed: { schema: string; views: string[] } | null;
}

/**
 * Whether dbwarden may change what PUBLIC (every role of the database) holds, and if so, what
 * PUBLIC keeps. Whatever PUBLIC holds, every agent holds; but PUBLIC is not dbwarden's: on a shared
 * database, taking its defaults away changes every other application's access too. So:
 * - `revoke` (the spec says why, `targets.<t>.publicPrivileges.revoke`): PUBLIC keeps nothing on
 *   the database, nothing on the planned schemas, at most `otherSchemas` on any other schema, nothing
 *   on any table or column, no EXECUTE on any routine in the planned schemas, and the owners of the
 *   planned schemas give PUBLIC no EXECUTE on the functions they create from now on;
 * - `leave` (the default): the reconciler and the component change nothing PUBLIC holds, and drift
 *   reports what PUBLIC gives the agents (src/postgres/diff/public.ts says what of it is drift).
 */
export interface PublicAccess {
  mode: "revoke" | "leave";
  /** The spec's sentence saying why PUBLIC's defaults may be taken away (`revoke`), else null. */
  reason: string | null;
  /** Privileges PUBLIC keeps on the database (`revoke`): none. */
  database: string[];
  /** Schemas some workflow reads, sorted: with `revoke`, PUBLIC keeps nothing there, not even EXECUTE on their routines. */
  plannedSchemas: string[];
  /** What PUBLIC may keep on every other schema (`revoke`): USAGE (without table privileges it reveals nothing). */
  otherSchemas: string[];
  /**
   * The planned tables, sorted: PUBLIC keeps nothing on them (`revoke`), nor on any other table. An
   * applier that cannot list every table (Pulumi) revokes at least these.
   */
  plannedTables: Array<{ schema: string; table: string }>;
}

/** Something in the plan the database (or its catalog snapshot) cannot hold. Always an error. */
export interface ModelProblem {
  workflow: string | null;
  /** `schema.table`, when about a table or column. */
  table: string | null;
  column: string | null;
  /** In words, naming the workflow, the object, where it was looked up, and a likely fix. */
  message: string;
}

/**
 * Where the model reads the columns tables really have: the live catalog (reconciler, drift) or
 * the committed snapshot `stacks/catalog/<env>.json` (Pulumi).
 */
export interface ColumnSource {
  /** Named in messages: `database dbwarden_demo`, `stacks/catalog/prod.json`. */
  name: string;
  /** The table's columns in the database's order, or undefined when there is no such table. */
  columnsOf(schema: string, table: string): readonly string[] | undefined;
  /** A column's type as PostgreSQL prints it (`format_type`), when the source knows types. */
  typeOf?(schema: string, table: string, column: string): string | undefined;
  /** Does the schema exist? Absent when the source does not know schemas (a snapshot). */
  hasSchema?(schema: string): boolean;
  /** How to add a missing table to the source, in words (a snapshot); absent for a database. */
  addTableHint?(schema: string, table: string): string;
}

/** The desired state of one target's database. */
export interface PostgresModel {
  environment: string;
  target: string;
  platform: TargetPlatform;
  database: string;
  appliedBy: AppliedBy;
  /** Per workflow in plan order: its group, then each login followed by its clone. */
  roles: DesiredRole[];
  /** Roles the platform provides that logins join (`rds_iam`): they must exist; never created. */
  platformRoles: string[];
  /** Per workflow in plan order. */
  groups: GroupAccess[];
  public: PublicAccess;
  /** Masks, row filters and reporting views: governed schemas, their views, the internal tables' rows (./governed.ts). */
  governed: GovernedState;
  /** Errors: where there is one, nothing is applied (reconciler, Pulumi) and drift reports it. */
  problems: ModelProblem[];
}
