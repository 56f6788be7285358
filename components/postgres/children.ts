/**
 * The children of `dbwarden:postgres:ReadOnlyAccess`, as data: ONE pure function,
 * `postgresAccessChildren`, from the rendered model (./access.ts) and the component's arguments to
 * the list of `{ type, name, inputs, options }` the component creates, in creation order. The
 * component's constructor only iterates it (`createChildren`); `dbwarden check` evaluates the same
 * list without registering it through the Pulumi SDK (src/policy/described.ts), which is what
 * made checks of large stacks slow. A test proves the list equals what the SDK records.
 *
 * What the list says beyond the model (docs/postgres-provider.md says why):
 * - every grant-like resource on the database (Extension, Grant, DefaultPrivileges) forms ONE
 *   `dependsOn` chain, each waiting for exactly the previous one: the provider locks per role only,
 *   and grants of different roles on one database or schema fail in parallel with "tuple
 *   concurrently updated" (cyrilgdn/terraform-provider-postgresql#178);
 * - grant-like resources are delete-before-replace (a replacement must not revoke what it granted);
 * - the resources that take PUBLIC's privileges away (only where the spec says why) are
 *   `retainOnDelete`: deleting them would revoke again, from every role, instead of restoring, so
 *   `pulumi destroy` leaves PUBLIC as it is.
 */
import * as pulumi from "@pulumi/pulumi";
import { DefaultPrivileges } from "@pulumi/postgresql/defaultPrivileges.js";
import { Extension } from "@pulumi/postgresql/extension.js";
import { Grant } from "@pulumi/postgresql/grant.js";
import { Provider } from "@pulumi/postgresql/provider.js";
import { Role } from "@pulumi/postgresql/role.js";
import type { GrantModel, PostgresAccessModel, RoleModel } from "./access.ts";
import { GovernedViews, type GovernedConnection } from "./governedViews.ts";

/** Type tokens of the children, as the engine records them. */
export const CHILD_TYPES = {
  provider: "pulumi:providers:postgresql",
  extension: "postgresql:index/extension:Extension",
  role: "postgresql:index/role:Role",
  grant: "postgresql:index/grant:Grant",
  defaultPrivileges: "postgresql:index/defaultPrivileges:DefaultPrivileges",
  /** The governed views (./governedViews.ts): a dynamic resource (its provider is serialized into its `__provider` input by the SDK). */
  governedViews: "pulumi-nodejs:dynamic:Resource",
} as const;

export type ChildType = (typeof CHILD_TYPES)[keyof typeof CHILD_TYPES];

/** Grant-like types: one chain per database. */
export const GRANT_LIKE_TYPES: ReadonlySet<string> = new Set([CHILD_TYPES.extension, CHILD_TYPES.grant, CHILD_TYPES.defaultPrivileges]);

/** An output of another child of the same component, by the child's name (the component wires it). */
export class ChildOutput {
  constructor(
    readonly child: string,
    readonly output: string,
    /** Text before the output's value (`serviceAccount:` before an email), as `pulumi.interpolate` would give it. */
    readonly prefix = "",
  ) {}
}

export interface ChildOptions {
  /** The provider child it is created through (null: the provider itself). */
  provider: string | null;
  /** Children it waits for besides the ones its inputs reference (the grant chain). */
  dependsOn: string[];
  /** Grant-like: a replacement revokes before it grants again. */
  deleteBeforeReplace?: true;
  /** PUBLIC's: deleting it would revoke from every role again; `pulumi destroy` leaves it. */
  retainOnDelete?: true;
  /**
   * Registered through the SDK even while `check` describes the rest (the provider is, always):
   * a child whose outputs leave the component (a BigQuery workflow's service account, whose
   * email another component reads) must be a real resource.
   */
  registered?: true;
}

/** One child: its type token, name, the arguments of its class, and its options (parent: the component). */
export interface ChildResource {
  /** A type token of `CHILD_TYPES` here, or of the describing component's own table (components/bigquery/children.ts). */
  type: string;
  name: string;
  /** The class's arguments: plain values, `ChildOutput`s, and Pulumi inputs from the component's own arguments. */
  inputs: Record<string, unknown>;
  options: ChildOptions;
}

/** What the children need from the component's arguments (./readOnlyAccess.ts documents each). */
export interface ChildArgs {
  /** The provider's arguments (connection, checked). */
  provider: Record<string, unknown>;
  extensions: readonly string[];
  /** Initial passwords by login role. */
  passwords: Readonly<Record<string, { value: pulumi.Input<string>; version: string }>>;
  /** Roles whose future functions PUBLIC may not execute (revoke mode): by default the admin the provider connects as. */
  functionOwners: ReadonlyArray<{ key: string; owner: pulumi.Input<string> }>;
  /** How the governed views' provider connects (the provider's connection); null when the component cannot (an IAM admin). */
  governedConnection: pulumi.Input<GovernedConnection> | null;
}

/** The children of the component `name`, in creation order. Pure: no resource is created. */
export function postgresAccessChildren(name: string, model: PostgresAccessModel, args: ChildArgs): ChildResource[] {
  const providerName = `${name}-primary`;
  const children: ChildResource[] = [{ type: CHILD_TYPES.provider, name: providerName, inputs: args.provider, options: { provider: null, dependsOn: [] } }];
  // The one chain of grant-like resources on this database.
  let previous: string | null = null;
  const chained = (child: Omit<ChildResource, "options">, extra: Omit<ChildOptions, "provider" | "dependsOn"> = {}) => {
    children.push({ ...child, options: { provider: providerName, dependsOn: previous ? [previous] : [], ...extra } });
    previous = child.name;
  };
  for (const extension of args.extensions) {
    chained({ type: CHILD_TYPES.extension, name: `${name}-${extension}`, inputs: { name: extension, database: model.database } });
  }
  const roleNames = new Set(model.roles.map((r) => r.resourceName));
  for (const role of model.roles) {
    children.push({
      type: CHILD_TYPES.role,
      name: role.resourceName,
      inputs: roleInputs(role, roleNames, args),
      options: { provider: providerName, dependsOn: [] },
    });
  }
  for (const grant of model.grants) chained(grantChild(grant, roleNames), GRANT_LIKE_OPTIONS);
  if (model.governed) {
    // After every role (the views are granted to groups, attributes are per login) and in the chain.
    if (args.governedConnection === null)
      throw new Error(`${name}: masks, row filters and reporting views are applied over a password connection; give connection.password`);
    const roles = model.roles.map((r) => r.resourceName);
    children.push({
      type: CHILD_TYPES.governedViews,
      name: `${name}-governed-views`,
      inputs: { ...model.governed, connection: args.governedConnection },
      options: { provider: null, dependsOn: [...(previous ? [previous] : []), ...roles] },
    });
    previous = `${name}-governed-views`;
  }
  for (const grant of model.publicGrants) chained(grantChild(grant, roleNames), PUBLIC_OPTIONS);
  if (model.public.mode === "revoke") {
    for (const { key, owner } of args.functionOwners) {
      chained(
        {
          type: CHILD_TYPES.defaultPrivileges,
          name: `${model.target}-public-new-functions-${key}`,
          inputs: { role: "public", database: model.database, owner, objectType: "function", privileges: [], withGrantOption: false },
        },
        PUBLIC_OPTIONS,
      );
    }
  }
  return children;
}

/** Options every grant-like resource gets: replacements must revoke before they grant again. */
export const GRANT_LIKE_OPTIONS = { deleteBeforeReplace: true } as const;
/** And those that take PUBLIC's privileges away: kept on delete, which would revoke from every role again. */
const PUBLIC_OPTIONS = { ...GRANT_LIKE_OPTIONS, retainOnDelete: true } as const;

function roleInputs(role: RoleModel, roleNames: ReadonlySet<string>, args: ChildArgs): Record<string, unknown> {
  const password = role.kind === "login" ? args.passwords[role.name] : undefined;
  return {
    name: role.name,
    login: role.login,
    inherit: role.attributes.inherit,
    superuser: role.attributes.superuser,
    createDatabase: role.attributes.createdb,
    createRole: role.attributes.createrole,
    replication: role.attributes.replication,
    bypassRowLevelSecurity: role.attributes.bypassrls,
    // A planned role (the group) by its resource, so the login waits for it; a platform role (rds_iam) by name.
    roles: role.memberOf.map((r) => (roleNames.has(r) ? new ChildOutput(r, "name") : r)),
    ...(role.connectionLimit !== null ? { connectionLimit: role.connectionLimit } : {}),
    ...(role.statementTimeoutMs !== null ? { statementTimeout: role.statementTimeoutMs } : {}),
    ...(role.idleInTransactionSessionTimeoutMs !== null ? { idleInTransactionSessionTimeout: role.idleInTransactionSessionTimeoutMs } : {}),
    ...(role.searchPaths !== null ? { searchPaths: role.searchPaths } : {}),
    ...(password ? { passwordWo: pulumi.secret(password.value), passwordWoVersion: password.version } : {}),
  };
}

function grantChild(grant: GrantModel, roleNames: ReadonlySet<string>): Omit<ChildResource, "options"> {
  return {
    type: CHILD_TYPES.grant,
    name: grant.resourceName,
    inputs: {
      role: roleNames.has(grant.role) ? new ChildOutput(grant.role, "name") : grant.role,
      database: grant.database,
      objectType: grant.objectType,
      ...(grant.schema !== null ? { schema: grant.schema } : {}),
      ...(grant.objects.length > 0 ? { objects: grant.objects } : {}),
      ...(grant.columns !== null ? { columns: grant.columns } : {}),
      privileges: grant.privileges,
      withGrantOption: false,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Creating them
// ---------------------------------------------------------------------------------------------

// Each class takes its own args type; the list's inputs were built for that type (./children.ts above).
export type ChildClass = new (name: string, args: never, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

const CLASSES: Readonly<Record<string, ChildClass>> = {
  [CHILD_TYPES.provider]: Provider,
  [CHILD_TYPES.extension]: Extension,
  [CHILD_TYPES.role]: Role,
  [CHILD_TYPES.grant]: Grant,
  [CHILD_TYPES.defaultPrivileges]: DefaultPrivileges,
  [CHILD_TYPES.governedViews]: GovernedViews as unknown as ChildClass,
};

/** A component's children handed to a sink instead of the SDK (see `describeChildrenWhile`). */
export interface DescribedChildren {
  component: pulumi.ComponentResource;
  children: readonly ChildResource[];
  /** The children created through the SDK all the same (the provider, `registered` ones), by name, in creation order. */
  created: ReadonlyMap<string, pulumi.CustomResource>;
}

let sink: ((described: DescribedChildren) => void) | null = null;

/**
 * While `run` runs, components hand their children (all but the provider, which is created) to
 * `receive` instead of creating them: what `dbwarden check` evaluates. One at a time per process,
 * like the Pulumi runtime itself.
 */
export async function describeChildrenWhile<T>(receive: (described: DescribedChildren) => void, run: () => Promise<T>): Promise<T> {
  if (sink) throw new Error("describeChildrenWhile: already describing (one recording at a time)");
  sink = receive;
  try {
    return await run();
  } finally {
    sink = null;
  }
}

/** Is `value` a plain object (an input's nested block), not an Output or a class instance? */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** An input with every `ChildOutput` replaced by that child's output (in arrays and nested blocks too). */
function wired(value: unknown, created: ReadonlyMap<string, pulumi.CustomResource>): unknown {
  if (value instanceof ChildOutput) {
    const output = (created.get(value.child) as unknown as Record<string, pulumi.Output<unknown>>)[value.output]!;
    return value.prefix ? pulumi.interpolate`${value.prefix}${output}` : output;
  }
  if (Array.isArray(value)) return value.map((v) => wired(v, created));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wired(v, created)]));
  return value;
}

/**
 * Create the children under `component`, in order (or hand them to the describing sink, all but
 * the provider and `registered` ones); returns the resources created, by name. `classes`: the
 * class of each type token (Postgres's by default).
 */
export function createChildren(
  component: pulumi.ComponentResource,
  children: readonly ChildResource[],
  classes: Readonly<Record<string, ChildClass>> = CLASSES,
): Map<string, pulumi.CustomResource> {
  const created = new Map<string, pulumi.CustomResource>();
  const describing = sink;
  for (const child of children) {
    if (describing && child.type !== CHILD_TYPES.provider && !child.options.registered) continue;
    const inputs = Object.fromEntries(Object.entries(child.inputs).map(([k, v]) => [k, wired(v, created)]));
    const { provider, dependsOn, deleteBeforeReplace, retainOnDelete } = child.options;
    const Class = classes[child.type];
    if (!Class) throw new Error(`${child.name}: no class for child type ${child.type}`);
    const options: pulumi.CustomResourceOptions = {
      parent: component,
      ...(provider ? { provider: created.get(provider) as pulumi.ProviderResource } : {}),
      ...(dependsOn.length > 0 ? { dependsOn: dependsOn.map((n) => created.get(n)!) } : {}),
      ...(deleteBeforeReplace ? { deleteBeforeReplace } : {}),
      ...(retainOnDelete ? { retainOnDelete } : {}),
    };
    created.set(child.name, new Class(child.name, inputs as never, options));
  }
  if (describing) describing({ component, children, created });
  return created;
}
