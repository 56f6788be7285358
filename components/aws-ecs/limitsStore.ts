/**
 * `dbwarden:aws:LimitsStore`: the store the MCP server's replicas share for per-client limits
 * (calls per minute, concurrent calls), so a client's limits hold across replicas. Created when the
 * plan runs more than one replica (`mcpServer.replicas > 1`): an ElastiCache for Valkey
 * replication group in the service's private subnets (two nodes, automatic failover), TLS in
 * transit, encryption at rest, reachable only from the MCP service (its own security group, from
 * NetworkBoundary), with an AUTH token generated once (`@pulumi/random`, kept in state, encrypted)
 * and stored in a Secrets Manager secret the task role reads. The server is told all of it through
 * its runtime config's `limitsStore` (no secret in it: the token by its secret's ARN).
 */
import * as pulumi from "@pulumi/pulumi";
import { RandomPassword } from "@pulumi/random/randomPassword.js";
import { ReplicationGroup } from "@pulumi/aws/elasticache/replicationGroup.js";
import { SubnetGroup } from "@pulumi/aws/elasticache/subnetGroup.js";
import { Secret } from "@pulumi/aws/secretsmanager/secret.js";
import { SecretVersion } from "@pulumi/aws/secretsmanager/secretVersion.js";
import type { LimitsStoreConfig } from "../../src/plan/types.ts";
import { limitsStoreId, limitsStoreSecretName } from "../../src/names/aws.ts";

/** The Redis protocol's port. */
export const LIMITS_STORE_PORT = 6379;
/** Engine and version of the store. */
export const LIMITS_STORE_ENGINE = { engine: "valkey", engineVersion: "8.0" } as const;
/** Node type: the limits are a few small counters per client. */
export const LIMITS_STORE_NODE_TYPE = "cache.t4g.micro";
/** ElastiCache AUTH tokens: 16-128 printable characters without spaces, `"`, `/` or `@`; letters and digits only here. */
export const AUTH_TOKEN_LENGTH = 64;

/** Does the plan need a shared limits store (more than one server replica)? */
export function needsLimitsStore(replicas: number): boolean {
  return replicas > 1;
}

/** The secret value holding the AUTH token: RDS-style JSON, which the server reads its `password` from. */
export function authTokenSecretValue(token: string): string {
  return JSON.stringify({ password: token });
}

/** The runtime config's `limitsStore` for a store: TLS, its token by secret ARN, keys prefixed by the environment. */
export function limitsStoreConfig(store: { host: string; port: number; authSecretArn: string }, environment: string): LimitsStoreConfig {
  return { host: store.host, port: store.port, tls: true, auth: { awsSecretArn: store.authSecretArn }, keyPrefix: `dbwarden:${environment}:` };
}

export interface LimitsStoreArgs {
  /** Environment name (names the store and its secret). */
  environment: string;
  /** The MCP service's private subnets, in two or more availability zones. */
  subnetIds: string[];
  /** The store's security group (NetworkBoundary): its port from the MCP service only. */
  securityGroupId: pulumi.Input<string>;
  /** Node type; default `cache.t4g.micro`. */
  nodeType?: string;
  /** The environment's shared tags (`sharedTags`), on each taggable resource under its own; GovernedAccess gives them. */
  tags?: Record<string, string>;
}

export class LimitsStore extends pulumi.ComponentResource {
  /** Address of the primary node. */
  public readonly host: pulumi.Output<string>;
  /** Port of the store. */
  public readonly port: number;
  /** ARN of the secret holding the AUTH token. */
  public readonly authSecretArn: pulumi.Output<string>;
  /** What the service waits for: the store and its token's secret value. */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: LimitsStoreArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:aws:LimitsStore", name, {}, opts);
    if (args.subnetIds.length < 2)
      throw new Error(`${name}: subnetIds (mcpServer.host.subnetIds) needs subnets in two availability zones for a store with failover`);
    const parent = { parent: this };
    const token = new RandomPassword(`${name}-auth-token`, { length: AUTH_TOKEN_LENGTH, special: false }, parent);
    const secret = new Secret(
      `${name}-auth`,
      {
        name: limitsStoreSecretName(args.environment),
        description: "dbwarden MCP limits store (ElastiCache) AUTH token: JSON {password}",
        recoveryWindowInDays: 7,
        tags: args.tags,
      },
      parent,
    );
    const value = new SecretVersion(
      `${name}-auth-value`,
      { secretId: secret.id, secretStringWo: pulumi.secret(token.result.apply(authTokenSecretValue)), secretStringWoVersion: 1 },
      parent,
    );
    const subnets = new SubnetGroup(
      `${name}-subnets`,
      { subnetIds: args.subnetIds, description: "dbwarden MCP limits store: the service's private subnets", tags: args.tags },
      parent,
    );
    const store = new ReplicationGroup(
      `${name}-store`,
      {
        replicationGroupId: limitsStoreId(args.environment),
        description: "dbwarden MCP per-client limits shared by the server's replicas",
        ...LIMITS_STORE_ENGINE,
        nodeType: args.nodeType ?? LIMITS_STORE_NODE_TYPE,
        numCacheClusters: 2,
        automaticFailoverEnabled: true,
        multiAzEnabled: true,
        port: LIMITS_STORE_PORT,
        subnetGroupName: subnets.name,
        securityGroupIds: [args.securityGroupId],
        atRestEncryptionEnabled: true,
        transitEncryptionEnabled: true,
        authTokenWo: token.result,
        authTokenWoVersion: 1,
        autoMinorVersionUpgrade: true,
        applyImmediately: true,
        snapshotRetentionLimit: 0,
        tags: args.tags,
      },
      // A fixed id (ElastiCache allows 40 characters): replaced by deleting first, it holds only counters.
      { parent: this, deleteBeforeReplace: true },
    );
    this.host = store.primaryEndpointAddress;
    this.port = LIMITS_STORE_PORT;
    this.authSecretArn = secret.arn;
    this.ready = [store, value];
    this.registerOutputs({ host: this.host, authSecretArn: this.authSecretArn });
  }
}
