/**
 * `dbwarden:gcp:CloudSqlReplica`: the Cloud SQL for PostgreSQL read replica agents query, never the
 * primary. Created by the stack (`replica.mode: create`: `READ_REPLICA_INSTANCE` of the primary,
 * its own flags) or an existing one by name (looked up; its settings are not managed here, so the
 * policy pack and the preflight judge what the lookup says).
 * - private IP in the spec's network (`network.vpcId`), or, where the spec lists networks, public
 *   IP with exactly those authorized networks (`privateOnly: false`);
 * - `sslMode: ENCRYPTED_ONLY` (TLS on every connection) and `connectorEnforcement: REQUIRED`: only
 *   the Cloud SQL connector (the MCP server, the rotator, Pulumi's `gcppostgres`) connects, each
 *   with an ephemeral certificate bound to an IAM identity;
 * - flags: `cloudsql.iam_authentication` with IAM logins; `cloudsql.enable_pgaudit` and
 *   `pgaudit.log` (read statements of the agents' roles) or `log_statement=all`; connections logged;
 *   standby delays longer than the longest statement timeout, so agent queries are not cancelled
 *   by replication conflicts;
 * - labels (`settings.userLabels`) and deletion protection.
 */
import * as pulumi from "@pulumi/pulumi";
import { DatabaseInstance, type DatabaseInstanceArgs } from "@pulumi/gcp/sql/databaseInstance.js";
import { getDatabaseInstanceOutput, type GetDatabaseInstanceResult } from "@pulumi/gcp/sql/getDatabaseInstance.js";
import { TARGET_PLATFORMS, type LoggingPlan, type TargetOf, type WorkflowPlan } from "../../src/plan/types.ts";

/** A Cloud SQL for PostgreSQL target. */
export type CloudSqlTarget = TargetOf<"gcp-cloudsql">;

/** A Cloud SQL database flag. */
export interface DatabaseFlag {
  name: string;
  value: string;
}

/** The replica's database flags for the target's logging and credentials, sorted by name. */
export function replicaFlags(logging: LoggingPlan, credentialMode: string, workflows: readonly WorkflowPlan[], field: string): DatabaseFlag[] {
  const longest = Math.max(30_000, ...workflows.map((w) => w.limits.statementTimeoutMs));
  const standbyDelay = String(longest + 30_000);
  const values: Record<string, string> = {
    hot_standby_feedback: "on",
    max_standby_archive_delay: standbyDelay,
    max_standby_streaming_delay: standbyDelay,
    log_connections: "on",
    log_disconnections: "on",
    log_min_error_statement: "error",
  };
  if (credentialMode === "iam") values["cloudsql.iam_authentication"] = "on";
  switch (logging.statements) {
    case "pgaudit":
      Object.assign(values, {
        "cloudsql.enable_pgaudit": "on",
        "pgaudit.log": "read,function",
        "pgaudit.log_catalog": "off",
        "pgaudit.log_parameter": "off",
        "pgaudit.log_relation": "on",
        "pgaudit.log_statement_once": "on",
      });
      break;
    case "log-statement":
      values.log_statement = "all";
      break;
    default: {
      const platform = TARGET_PLATFORMS["gcp-cloudsql"];
      throw new Error(`${field}.logging.statements: "${logging.statements}" is not available on ${platform.title}; use ${platform.loggingModes.join(" or ")}`);
    }
  }
  return Object.keys(values)
    .sort()
    .map((name) => ({ name, value: values[name]! }));
}

/** The replica's IP configuration: private IP in the spec's network, or public IP limited to the spec's networks; TLS only. */
export function replicaIpConfiguration(target: CloudSqlTarget): NonNullable<pulumi.Unwrap<DatabaseInstanceArgs["settings"]>>["ipConfiguration"] {
  const privateOnly = target.network.privateOnly;
  return {
    ipv4Enabled: !privateOnly,
    ...(target.network.vpcId ? { privateNetwork: target.network.vpcId } : {}),
    authorizedNetworks: privateOnly ? [] : target.network.allowedCidrs.map((cidr) => ({ name: `dbwarden-${cidr.replace(/[./]/g, "-")}`, value: cidr })),
    sslMode: "ENCRYPTED_ONLY",
  };
}

/** Arguments of the replica this stack creates (pure: the tests compare them field by field). */
export function replicaInstanceArgs(args: {
  target: CloudSqlTarget;
  name: string;
  databaseVersion: pulumi.Input<string>;
  tier: string;
  zone: string | null;
  workflows: readonly WorkflowPlan[];
  labels: Record<string, string>;
}): DatabaseInstanceArgs {
  const { target } = args;
  const { project, region, primaryInstance } = target.platformSettings;
  return {
    name: args.name,
    project,
    region,
    databaseVersion: args.databaseVersion,
    masterInstanceName: primaryInstance,
    instanceType: "READ_REPLICA_INSTANCE",
    replicaConfiguration: { failoverTarget: false },
    deletionProtection: true,
    settings: {
      tier: args.tier,
      availabilityType: "ZONAL",
      ...(args.zone ? { locationPreference: { zone: args.zone } } : {}),
      ipConfiguration: replicaIpConfiguration(target),
      connectorEnforcement: "REQUIRED",
      databaseFlags: replicaFlags(target.logging, target.credentials.mode, args.workflows, `targets.${target.name}`),
      deletionProtectionEnabled: true,
      userLabels: args.labels,
    },
  };
}

export type CloudSqlReplicaArgs =
  | {
      mode: "create";
      /** The instance arguments (`replicaInstanceArgs`). */
      instance: DatabaseInstanceArgs;
    }
  | {
      mode: "existing";
      /** The existing replica's project and name. */
      project: string;
      name: string;
    };

/** The target's read replica: created here, or an existing one looked up by name. */
export class CloudSqlReplica extends pulumi.ComponentResource {
  /** `<project>:<region>:<name>`: what the Cloud SQL connector connects to. */
  public readonly connectionName: pulumi.Output<string>;
  /** The replica's name. */
  public readonly instanceName: pulumi.Output<string>;
  /** Its private IP (or public IP when it has no private one): the address agents' queries go to. */
  public readonly address: pulumi.Output<string>;
  /** The instance this stack created, or null for an existing replica. */
  public readonly instance: DatabaseInstance | null;

  constructor(name: string, args: CloudSqlReplicaArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:gcp:CloudSqlReplica", name, {}, opts);
    if (args.mode === "create") {
      const instance = new DatabaseInstance(name, args.instance, { parent: this, protect: false });
      this.instance = instance;
      this.connectionName = instance.connectionName;
      this.instanceName = instance.name;
      this.address = pulumi
        .all([instance.privateIpAddress, instance.publicIpAddress])
        .apply(([privateIp, publicIp]) => (privateIp && privateIp.length > 0 ? privateIp : (publicIp ?? "")));
    } else {
      const found = getDatabaseInstanceOutput({ name: args.name, project: args.project }, { parent: this });
      this.instance = null;
      this.connectionName = found.connectionName;
      this.instanceName = found.name;
      this.address = found.apply(addressOf);
    }
    this.registerOutputs({ connectionName: this.connectionName, address: this.address });
  }
}

/** The private IP of an instance a lookup found, else its public one. */
export function addressOf(found: Pick<GetDatabaseInstanceResult, "privateIpAddress" | "publicIpAddress">): string {
  return found.privateIpAddress || found.publicIpAddress || "";
}
