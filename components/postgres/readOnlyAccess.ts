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
 */
import * as pulumi from "@pulumi/pulumi";
import { Extension } from "@pulumi/postgresql/extension.js";
import { Grant } from "@pulumi/postgresql/grant.js";
import { Provider } from "@pulumi/postgresql/provider.js";
import { Role } from "@pulumi/postgresql/role.js";
import type { AccessPlan } from "../../src/plan/types.ts";
import { checkHost, postgresAccessModel, type PostgresAccessModel } from "./access.ts";
import type { CatalogSnapshot } from "./catalog.ts";

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
  /** Connect with an RDS IAM token instead of a password (`scheme: awspostgres`). */
  awsRdsIamAuth?: { region: pulumi.Input<string> };
}

export interface PostgresReadOnlyAccessArgs {
  /**
   * The access plan; only the workflows of `target` are rendered, exactly as its desired-state
   * model says (src/postgres/model.ts). The target's platform and credentials decide the extras:
   * IAM logins join the platform's IAM role (`rds_iam` on aws-rds with `credentials.mode: iam`);
   * with alternating-user rotation (aws-rds, `mode: password`) each login gets a `<login>_clone`.
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
   * Take from PUBLIC what the model does not let it keep (default true, as the local reconciler
   * does and drift detection expects): no CONNECT/TEMPORARY on the database, nothing on the
   * planned schemas and tables. Other roles that connected only through PUBLIC's CONNECT then need
   * their own grant. With `false`, drift reports what PUBLIC still holds.
   */
  hardenPublic?: boolean;
}

/** Options every grant-like resource gets: replacements must revoke before they grant again. */
export const GRANT_LIKE_OPTIONS = { deleteBeforeReplace: true } as const;

export class PostgresReadOnlyAccess extends pulumi.ComponentResource {
  /** The provider connected to the primary (for further resources on the same database). */
  public readonly provider: Provider;
  /** The rendered model: roles and grants as planned. */
  public readonly model: PostgresAccessModel;
  /** Group role name by workflow. */
  public readonly groupRoles: Record<string, pulumi.Output<string>>;
  /** Login role names (including rotation clones), by login role name. */
  public readonly loginRoles: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: PostgresReadOnlyAccessArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:postgres:ReadOnlyAccess", name, {}, opts);
    if (!args.plan) throw new Error(`${name}: plan is required`);
    if (!args.catalog) throw new Error(`${name}: catalog is required (stacks/catalog/<env>.json)`);
    const connection = args.connection;
    if (!connection) throw new Error(`${name}: connection is required`);
    if (typeof connection.superuser !== "boolean") {
      throw new Error(`${name}: connection.superuser must be set (false on RDS and Cloud SQL, where the provider's default true fails)`);
    }
    if (typeof connection.host === "string") checkHost(connection.host, `${name}: connection.host`);
    if (connection.password === undefined && !connection.awsRdsIamAuth) {
      throw new Error(`${name}: connection.password or connection.awsRdsIamAuth is required`);
    }

    const model = postgresAccessModel(args.plan, args.target, args.catalog, {
      hardenPublic: args.hardenPublic ?? true,
      ...(args.catalogSource ? { catalogSource: args.catalogSource } : {}),
    });
    const planned = new Set(model.roles.filter((r) => r.kind === "login").map((r) => r.name));
    for (const login of Object.keys(args.passwords ?? {})) {
      if (!planned.has(login)) throw new Error(`${name}: passwords.${login} is not a planned login role of target "${args.target}"`);
    }
    this.model = model;

    this.provider = new Provider(
      `${name}-primary`,
      {
        host: pulumi.output(connection.host).apply((host) => checkHost(host, `${name}: connection.host`)),
        port: connection.port ?? 5432,
        database: model.database,
        username: connection.username,
        ...(connection.password !== undefined ? { password: pulumi.secret(connection.password) } : {}),
        superuser: connection.superuser,
        sslmode: connection.sslmode ?? "verify-full",
        connectTimeout: 15,
        ...(connection.awsRdsIamAuth
          ? { scheme: "awspostgres", awsRdsIamAuth: true, awsRdsIamRegion: connection.awsRdsIamAuth.region }
          : {}),
      },
      { parent: this },
    );
    const childOpts = { parent: this, provider: this.provider };

    for (const extension of args.extensions ?? []) {
      new Extension(`${name}-${extension}`, { name: extension, database: model.database }, childOpts);
    }

    const roleResources = new Map<string, Role>();
    this.groupRoles = {};
    this.loginRoles = {};
    for (const role of model.roles) {
      const memberOf = role.memberOf.map((r) => roleResources.get(r)?.name ?? pulumi.output(r));
      const password = role.kind === "login" ? args.passwords?.[role.name] : undefined;
      const resource = new Role(
        role.resourceName,
        {
          name: role.name,
          login: role.login,
          inherit: role.attributes.inherit,
          superuser: role.attributes.superuser,
          createDatabase: role.attributes.createdb,
          createRole: role.attributes.createrole,
          replication: role.attributes.replication,
          bypassRowLevelSecurity: role.attributes.bypassrls,
          roles: memberOf,
          ...(role.connectionLimit !== null ? { connectionLimit: role.connectionLimit } : {}),
          ...(role.statementTimeoutMs !== null ? { statementTimeout: role.statementTimeoutMs } : {}),
          ...(role.idleInTransactionSessionTimeoutMs !== null ? { idleInTransactionSessionTimeout: role.idleInTransactionSessionTimeoutMs } : {}),
          ...(password ? { passwordWo: pulumi.secret(password.value), passwordWoVersion: password.version } : {}),
        },
        childOpts,
      );
      roleResources.set(role.name, resource);
      if (role.kind === "group") this.groupRoles[role.workflow] = resource.name;
      else this.loginRoles[role.name] = resource.name;
    }
    for (const setting of model.unsupportedSettings) {
      pulumi.log.warn(
        `role ${setting.role}: setting ${setting.name}=${setting.value} cannot be set by @pulumi/postgresql (no generic role settings); set it on the replica's parameter group instead`,
        this,
      );
    }

    // Grants of one role run one after another: parallel GRANTs on one role fail with
    // "tuple concurrently updated" (cyrilgdn/terraform-provider-postgresql#178).
    const previousGrant = new Map<string, Grant>();
    for (const grant of [...model.grants, ...model.publicGrants]) {
      const previous = previousGrant.get(grant.role);
      const resource = new Grant(
        grant.resourceName,
        {
          role: roleResources.get(grant.role)?.name ?? grant.role,
          database: grant.database,
          objectType: grant.objectType,
          ...(grant.schema !== null ? { schema: grant.schema } : {}),
          ...(grant.objects.length > 0 ? { objects: grant.objects } : {}),
          ...(grant.columns !== null ? { columns: grant.columns } : {}),
          privileges: grant.privileges,
          withGrantOption: false,
        },
        { ...childOpts, ...GRANT_LIKE_OPTIONS, ...(previous ? { dependsOn: [previous] } : {}) },
      );
      previousGrant.set(grant.role, resource);
    }

    this.registerOutputs({ groupRoles: this.groupRoles, loginRoles: this.loginRoles });
  }
}
