/**
 * `dbwarden:aws:ReadReplica`: the RDS read replica agents query, so they never touch the primary.
 * Either created here (own parameter group with the query logging and standby-conflict settings,
 * not public, encrypted, IAM authentication on, logs exported to a pre-created group) or an
 * existing replica looked up by identifier. The parameter and subnet groups are auto-named: their
 * `family` and subnets force a replacement, and a fixed name would collide with the old group.
 */
import * as pulumi from "@pulumi/pulumi";
import { getInstanceOutput } from "@pulumi/aws/rds/getInstance.js";
import { Instance } from "@pulumi/aws/rds/instance.js";
import { ParameterGroup } from "@pulumi/aws/rds/parameterGroup.js";
import { SubnetGroup } from "@pulumi/aws/rds/subnetGroup.js";
import { TARGET_PLATFORMS, type LoggingPlan, type WorkflowPlan } from "../../src/plan/types.ts";
import { LOG_STATEMENT_SETTINGS, PGAUDIT_LIBRARY, PGAUDIT_SETTINGS } from "../../src/postgres/model/logging.ts";
import { ENVIRONMENT_TAG, TARGET_TAG, resourceTags } from "../aws/tags.ts";

/** What RDS for PostgreSQL can do (the capability table). */
const RDS = TARGET_PLATFORMS["aws-rds"];

/** One parameter of the replica's parameter group. */
export interface DbParameter {
  /** Parameter name, e.g. `pgaudit.log`. */
  name: string;
  /** Its value, as RDS takes it (a string). */
  value: string;
  /** `pending-reboot` for static parameters (`shared_preload_libraries`), else `immediate`. */
  applyMethod: "immediate" | "pending-reboot";
}

/**
 * How long creating, changing and deleting the replica may take: a replica of a large primary is
 * a full copy and takes longer than the provider's 40-minute default.
 */
export const REPLICA_TIMEOUTS = { create: "4h", update: "2h", delete: "1h" } as const;

/** Parameters RDS only applies at the next reboot (nothing reboots for you). */
const STATIC_PARAMETERS = new Set(["shared_preload_libraries"]);

/**
 * The replica's parameters for a target's logging plan and the workflows reading it.
 * - pgaudit: `shared_preload_libraries` (static, pending-reboot; it replaces the whole list, so
 *   `pg_stat_statements` is kept) and session auditing of reads; `log_statement` off so lines are
 *   not logged twice. Parameter values are never logged (they may hold data).
 * - log-statement: `log_statement = all`.
 * - standby conflicts: a replica cancels queries that block replay after
 *   `max_standby_*_delay`; it is set just above the longest planned statement timeout so agent
 *   queries finish, and bounded by it so replication lag stays bounded too.
 */
export function replicaParameters(logging: LoggingPlan, workflows: readonly WorkflowPlan[], field: string): DbParameter[] {
  const longest = Math.max(30_000, ...workflows.map((w) => w.limits.statementTimeoutMs));
  const standbyDelay = String(longest + 30_000);
  const values: Record<string, string> = {
    hot_standby_feedback: "1",
    max_standby_archive_delay: standbyDelay,
    max_standby_streaming_delay: standbyDelay,
    log_connections: "1",
    log_disconnections: "1",
    log_min_error_statement: "error",
    "rds.force_ssl": "1",
  };
  switch (logging.statements) {
    case "pgaudit":
      // The same settings the model gives every agent login (one statement of them): server-wide here.
      Object.assign(values, {
        shared_preload_libraries: `pg_stat_statements,${PGAUDIT_LIBRARY}`,
        ...PGAUDIT_SETTINGS,
        log_statement: "none",
      });
      break;
    case "log-statement":
      Object.assign(values, LOG_STATEMENT_SETTINGS);
      break;
    default:
      throw new Error(`${field}.logging.statements: "${logging.statements}" is not available on ${RDS.title}; use ${RDS.loggingModes.join(" or ")}`);
  }
  return Object.keys(values)
    .sort()
    .map((name) => ({ name, value: values[name]!, applyMethod: STATIC_PARAMETERS.has(name) ? "pending-reboot" : "immediate" }));
}

/** RDS parameter group family of an engine version, e.g. "16.3" -> "postgres16". */
export function parameterGroupFamily(engineVersion: string): string {
  const major = /^(\d+)/.exec(engineVersion)?.[1];
  if (!major) throw new Error(`cannot derive a parameter group family from engine version "${engineVersion}"`);
  return `postgres${major}`;
}

export interface PrimaryInstanceInfo {
  /** ARN of the primary: required as the source when the replica has its own subnet group. */
  arn: pulumi.Input<string>;
  /** Engine version of the primary, e.g. "16.3" (gives the parameter group family). */
  engineVersion: pulumi.Input<string>;
}

export type ReadReplicaArgs =
  | {
      /** Create the replica here, with its own subnet group and parameter group. */
      mode: "create";
      /** Environment name, for tags. */
      environment: string;
      /** Target name, for tags. */
      target: string;
      /** Replica instance identifier (also names its log group). */
      identifier: string;
      /** The primary being replicated. */
      primary: PrimaryInstanceInfo;
      /** Instance class, e.g. db.r6g.large. */
      instanceClass: string;
      /** Availability zone, or null to let RDS choose. */
      availabilityZone: string | null;
      /** Private subnets for the replica's subnet group. */
      subnetIds: string[];
      /** Security groups of the replica (only the MCP service may reach it). */
      securityGroupIds: pulumi.Input<string>[];
      /** Parameters from `replicaParameters`. */
      parameters: DbParameter[];
      /** The pre-created log group the `postgresql` log is exported to. */
      logGroup: pulumi.Resource;
      /** The environment's shared tags (`sharedTags`), on each taggable resource under its own; GovernedAccess gives them. */
      tags?: Record<string, string>;
    }
  | {
      /** Look up a replica that exists outside this stack (its settings are not managed here). */
      mode: "existing";
      /** Identifier of the existing replica. */
      identifier: string;
    };

export class ReadReplica extends pulumi.ComponentResource {
  /** Address agents connect to (no port). */
  public readonly address: pulumi.Output<string>;
  /** Port agents connect to. */
  public readonly port: pulumi.Output<number>;
  /** DbiResourceId, for `rds-db:connect` ARNs. */
  public readonly resourceId: pulumi.Output<string>;
  /** Security groups of the replica. */
  public readonly securityGroupIds: pulumi.Output<string[]>;

  constructor(name: string, args: ReadReplicaArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:aws:ReadReplica", name, {}, opts);
    if (!args.identifier) throw new Error(`${name}: identifier is required`);
    if (args.mode === "existing") {
      const existing = getInstanceOutput({ dbInstanceIdentifier: args.identifier }, { parent: this });
      this.address = existing.address;
      this.port = existing.port;
      this.resourceId = existing.resourceId;
      this.securityGroupIds = existing.vpcSecurityGroups;
    } else {
      if (!/^[a-z][a-z0-9-]{0,62}$/.test(args.identifier))
        throw new Error(`${name}: identifier "${args.identifier}" must be 1-63 lowercase letters, digits or hyphens`);
      if (args.subnetIds.length < 2)
        throw new Error(`${name}: subnetIds (targets.${args.target}.network.subnetIds) needs private subnets in at least two availability zones`);
      if (!args.instanceClass.startsWith("db.")) throw new Error(`${name}: instanceClass "${args.instanceClass}" must be an RDS class such as db.r6g.large`);
      const tags = resourceTags(args.tags, { [ENVIRONMENT_TAG]: args.environment, [TARGET_TAG]: args.target });
      const parent = { parent: this };
      const subnets = new SubnetGroup(
        `${name}-subnets`,
        { subnetIds: args.subnetIds, description: `dbwarden ${args.target} replica (private subnets)`, tags },
        parent,
      );
      const parameters = new ParameterGroup(
        `${name}-parameters`,
        {
          family: pulumi.output(args.primary.engineVersion).apply(parameterGroupFamily),
          description: `dbwarden ${args.target} replica: agent query logging and standby conflicts`,
          parameters: args.parameters,
          tags,
        },
        parent,
      );
      const instance = new Instance(
        `${name}-instance`,
        {
          identifier: args.identifier,
          replicateSourceDb: args.primary.arn,
          instanceClass: args.instanceClass,
          ...(args.availabilityZone ? { availabilityZone: args.availabilityZone } : {}),
          dbSubnetGroupName: subnets.name,
          vpcSecurityGroupIds: args.securityGroupIds,
          parameterGroupName: parameters.name,
          publiclyAccessible: false,
          storageEncrypted: true,
          iamDatabaseAuthenticationEnabled: true,
          enabledCloudwatchLogsExports: ["postgresql"],
          autoMinorVersionUpgrade: true,
          applyImmediately: true,
          backupRetentionPeriod: 0,
          skipFinalSnapshot: true,
          deletionProtection: true,
          copyTagsToSnapshot: true,
          tags,
        },
        { parent: this, dependsOn: [args.logGroup], customTimeouts: REPLICA_TIMEOUTS },
      );
      this.address = instance.address;
      this.port = instance.port;
      this.resourceId = instance.resourceId;
      this.securityGroupIds = pulumi.output(args.securityGroupIds);
    }
    this.registerOutputs({ address: this.address, port: this.port });
  }
}
