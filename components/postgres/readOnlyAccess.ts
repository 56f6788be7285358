/**
 * `dbwarden:postgres:ReadOnlyAccess`: the plan's read-only roles and grants on any PostgreSQL
 * (RDS, Cloud SQL, self-hosted), through `@pulumi/postgresql` connected to the PRIMARY: roles and
 * grants reach read replicas by replication.
 *
 * It renders the same desired-state model the reconciler and drift detection use
 * (src/postgres/model.ts), so `dbwarden drift` on what it deployed is clean. `postgresql.Role` has
 * no comment and no generic settings: the roles carry no dbwarden marker and no `log_statement`
 * (warned about; set it on the replica's parameter group), and the model marks exactly those as
 * advisory, so drift does not demand them.
 *
 * Its children are described by one pure function (./children.ts, `postgresAccessChildren`); this
 * class checks its arguments and creates that list.
 */
import { existsSync, statSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type { Provider } from "@pulumi/postgresql/provider.js";
import type { AccessPlan } from "../../src/plan/types.ts";
import { checkHost, postgresAccessModel, type PostgresAccessModel } from "./access.ts";
import type { CatalogSnapshot } from "./catalog.ts";
import { CHILD_TYPES, createChildren, postgresAccessChildren, type ChildArgs, type ChildResource } from "./children.ts";

export interface PostgresConnectionArgs {
  /** Address of the PRIMARY without port (`rds.Instance.address`, never `.endpoint`). */
  host: pulumi.Input<string>;
  /** Port of the primary; default 5432. */
  port?: pulumi.Input<number>;
  /** Admin user that creates roles and grants (needs CREATEROLE and grant rights, not superuser). */
  username: pulumi.Input<string>;
  /** Its password; omit with `awsRdsIamAuth`. Kept secret. */
  password?: pulumi.Input<string>;
  /**
   * Whether the admin is a real superuser. Required, because the provider defaults to `true`,
   * which fails on managed databases (RDS, Cloud SQL): say `false` there.
   */
  superuser: boolean;
  /** TLS mode; default `verify-full`. */
  sslmode?: "require" | "verify-ca" | "verify-full";
  /**
   * Path of a PEM file with the CA certificates that sign the server's certificate (the provider's
   * `sslrootcert`). Needed with `verify-ca`/`verify-full` against a server whose CA is in neither
   * the system roots nor `~/.postgresql/root.crt`, such as RDS: pass the RDS CA bundle
   * (components/aws-rds/rdsCa.ts). The file must exist when the program runs.
   */
  sslrootcert?: string;
  /** Connect with an RDS IAM token instead of a password (`scheme: awspostgres`). */
  awsRdsIamAuth?: { region: pulumi.Input<string> };
  /**
   * Connect through the Cloud SQL connector (`scheme: gcppostgres`, `host` is the instance's
   * connection name `<project>:<region>:<instance>`), with the deployer's Google credentials; without
   * a password the user is the deployer's Cloud SQL IAM user.
   */
  gcpCloudSql?: boolean;
}

export interface PostgresReadOnlyAccessArgs {
  /**
   * The access plan; only the workflows of `target` are rendered, exactly as its desired-state
   * model says (src/postgres/model.ts). The target's platform and credentials decide the extras:
   * IAM logins join the platform's IAM role (`rds_iam` on aws-rds with `credentials.mode: iam`);
   * with alternating-user rotation (aws-rds, `mode: password`) each login gets a `<login>_clone`.
   * PUBLIC is changed only where the target's spec says why (`publicPrivileges.revoke`): then its
   * privileges on the database, the planned schemas and tables, and EXECUTE on the planned
   * schemas' routines and on new functions (`functionOwners`) are taken away; those resources are
   * kept on delete (`pulumi destroy` must not revoke from every role again).
   */
  plan: AccessPlan;
  /** Name of the target (in `plan.targets`) this database serves. */
  target: string;
  /** How to reach the primary as an admin. */
  connection: PostgresConnectionArgs;
  /**
   * Column lists of every table the target's workflows read (stacks/catalog/<env>.json): a table
   * missing from it, or a column the plan names that it lacks, throws.
   */
  catalog: CatalogSnapshot;
  /** Names the catalog in error messages; default `stacks/catalog/<env>.json`. */
  catalogSource?: string;
  /**
   * Initial passwords of login roles, by login role name. Written with `passwordWo` and never
   * stored in state; bump `version` to set a new one. Logins without an entry get no password
   * (IAM authentication, or a rotation function sets it).
   */
  passwords?: Record<string, { value: pulumi.Input<string>; version: string }>;
  /** Extensions to create in the target database, e.g. `["pgaudit"]`. */
  extensions?: string[];
  /**
   * Settings the database server applies to every session already, e.g. the AWS replica's
   * parameter group (`pgaudit.log`, `log_statement`): no warning for a role setting
   * `@pulumi/postgresql` cannot hold when the server has the same value.
   */
  serverSettings?: Record<string, string>;
  /**
   * Where the spec lets dbwarden change PUBLIC: the roles whose functions created from now on
   * PUBLIC may not execute (`ALTER DEFAULT PRIVILEGES FOR ROLE <owner> REVOKE EXECUTE ON FUNCTIONS
   * FROM PUBLIC`), i.e. the owners of the schemas the workflows read, who create functions there.
   * Default: the admin the component connects as (`connection.username`). Drift reports a schema
   * owner left out.
   */
  functionOwners?: string[];
}

export { GRANT_LIKE_OPTIONS } from "./children.ts";

export class PostgresReadOnlyAccess extends pulumi.ComponentResource {
  /** The provider connected to the primary (for further resources on the same database). */
  public readonly provider: Provider;
  /** The rendered model: roles and grants as planned. */
  public readonly model: PostgresAccessModel;
  /** The children, as created (./children.ts). */
  public readonly children: readonly ChildResource[];
  /** Group role name by workflow. */
  public readonly groupRoles: Record<string, pulumi.Output<string>>;
  /** Login role names (including rotation clones), by login role name. */
  public readonly loginRoles: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: PostgresReadOnlyAccessArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:postgres:ReadOnlyAccess", name, {}, opts);
    checkArgs(name, args);
    const model = postgresAccessModel(args.plan, args.target, args.catalog, {
      ...(args.catalogSource ? { catalogSource: args.catalogSource } : {}),
      ...(args.serverSettings ? { serverSettings: args.serverSettings } : {}),
    });
    const planned = new Set(model.roles.filter((r) => r.kind === "login").map((r) => r.name));
    for (const login of Object.keys(args.passwords ?? {})) {
      if (!planned.has(login)) throw new Error(`${name}: passwords.${login} is not a planned login role of target "${args.target}"`);
    }
    this.model = model;
    this.children = postgresAccessChildren(name, model, childArgs(name, model, args));
    const created = createChildren(this, this.children);
    this.provider = created.get(this.children.find((c) => c.type === CHILD_TYPES.provider)!.name) as Provider;

    // A role's name output where the role was created here (so users wait for it), else its name.
    const roleName = (role: string) => (created.get(role) as { name?: pulumi.Output<string> } | undefined)?.name ?? pulumi.output(role);
    this.groupRoles = {};
    this.loginRoles = {};
    for (const role of model.roles) {
      if (role.kind === "group") this.groupRoles[role.workflow] = roleName(role.resourceName);
      else this.loginRoles[role.name] = roleName(role.resourceName);
    }
    for (const setting of model.unsupportedSettings) {
      void pulumi.log.warn(
        `role ${setting.role}: setting ${setting.name}=${setting.value} cannot be set by ` +
          `@pulumi/postgresql (no generic role settings); set it on the replica's parameter group instead`,
        this,
      );
    }
    this.registerOutputs({ groupRoles: this.groupRoles, loginRoles: this.loginRoles });
  }
}

/** Argument checks, before anything is rendered: each names the field. */
function checkArgs(name: string, args: PostgresReadOnlyAccessArgs): void {
  if (!args.plan) throw new Error(`${name}: plan is required`);
  if (!args.catalog) throw new Error(`${name}: catalog is required (stacks/catalog/<env>.json)`);
  const connection = args.connection;
  if (!connection) throw new Error(`${name}: connection is required`);
  if (typeof connection.superuser !== "boolean") {
    throw new Error(`${name}: connection.superuser must be set (false on RDS and Cloud SQL, where the provider's default true fails)`);
  }
  if (typeof connection.host === "string") checkHost(connection.host, `${name}: connection.host`);
  if (connection.password === undefined && !connection.awsRdsIamAuth && !connection.gcpCloudSql) {
    throw new Error(`${name}: connection.password, connection.awsRdsIamAuth or connection.gcpCloudSql is required`);
  }
  if (connection.sslrootcert !== undefined) checkCaFile(connection.sslrootcert, `${name}: connection.sslrootcert`);
  for (const owner of args.functionOwners ?? []) {
    if (typeof owner !== "string" || owner.length === 0) throw new Error(`${name}: functionOwners: each entry is a role name`);
  }
}

/** The CA bundle must be a readable file when given: the provider would fail only at connect time. */
export function checkCaFile(path: string, field: string): string {
  if (typeof path !== "string" || path.length === 0) throw new Error(`${field}: expected the path of a PEM file of CA certificates`);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new Error(`${field}: ${path} does not exist (expected a PEM file of CA certificates, e.g. the RDS CA bundle from components/aws-rds/rdsCa.ts)`);
  }
  return path;
}

/** What the children need from the arguments: the provider's connection, extensions, passwords, function owners. */
function childArgs(name: string, model: PostgresAccessModel, args: PostgresReadOnlyAccessArgs): ChildArgs {
  const connection = args.connection;
  return {
    provider: {
      host: pulumi.output(connection.host).apply((host) => checkHost(host, `${name}: connection.host`)),
      port: connection.port ?? 5432,
      database: model.database,
      username: connection.username,
      ...(connection.password !== undefined ? { password: pulumi.secret(connection.password) } : {}),
      superuser: connection.superuser,
      sslmode: connection.sslmode ?? "verify-full",
      ...(connection.sslrootcert !== undefined ? { sslrootcert: connection.sslrootcert } : {}),
      connectTimeout: 15,
      ...(connection.awsRdsIamAuth ? { scheme: "awspostgres", awsRdsIamAuth: true, awsRdsIamRegion: connection.awsRdsIamAuth.region } : {}),
      ...(connection.gcpCloudSql ? { scheme: "gcppostgres" } : {}),
    },
    extensions: args.extensions ?? [],
    passwords: args.passwords ?? {},
    governedConnection:
      connection.password === undefined
        ? null
        : pulumi.all([connection.host, connection.port ?? 5432, connection.username, connection.password]).apply(([host, port, user, password]) => ({
            host: checkHost(host, `${name}: connection.host`),
            port,
            database: model.database,
            user,
            password,
            sslmode: connection.sslmode ?? "verify-full",
            ...(connection.sslrootcert !== undefined ? { sslrootcert: connection.sslrootcert } : {}),
          })),
    functionOwners: args.functionOwners ? args.functionOwners.map((owner) => ({ key: owner, owner })) : [{ key: "admin", owner: connection.username }],
  };
}
