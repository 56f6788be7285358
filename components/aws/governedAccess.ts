/**
 * `dbwarden:aws:GovernedAccess`: the top-level component of an AWS environment. It takes the
 * access plan and instantiates, per target and workflow, the controls that hold even when the
 * model is wrong: read replica, network boundary, least-privilege roles on the primary (reaching
 * the replica by replication), per-client credentials, query logging, and the MCP service.
 * It exports what operators need and nothing secret.
 */
import * as pulumi from "@pulumi/pulumi";
import { getInstanceOutput, type GetInstanceResult } from "@pulumi/aws/rds/getInstance.js";
import { getSecretVersionOutput } from "@pulumi/aws/secretsmanager/getSecretVersion.js";
import { HOST_PLATFORMS, TARGET_PLATFORMS, hostServes, workflowsOf, type AccessPlan, type HostOf, type TargetOf, type TargetPlan } from "../../src/plan/types.ts";
import type { CatalogSnapshot } from "../postgres/catalog.ts";
import { PostgresReadOnlyAccess, type PostgresConnectionArgs } from "../postgres/readOnlyAccess.ts";
import { ClientCredentials, accountOfArn, initialPassword, targetLogins } from "./credentials.ts";
import { QueryLogging } from "./logging.ts";
import { McpService } from "./mcpService.ts";
import { NetworkBoundary, listenerCidrs } from "./network.ts";
import { ReadReplica, replicaParameters } from "./replica.ts";

type AwsTarget = TargetOf<"aws-rds">;

/** Identifier of the replica this stack creates for a target. */
export function replicaIdentifier(environment: string, target: string): string {
  return `dbwarden-${environment}-${target}`.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
}

/**
 * Checks the plan can be deployed by this component; returns its AWS targets and its host (region,
 * VPC, subnets). Every message names the plan field and the fix.
 */
export function checkAwsPlan(plan: AccessPlan): { targets: AwsTarget[]; host: HostOf<"aws-ecs">; region: string; vpcId: string; subnetIds: string[] } {
  if (plan.targets.length === 0) throw new Error(`plan "${plan.environment}": no targets`);
  const host = plan.mcpServer.host;
  if (host.platform !== "aws-ecs") {
    throw new Error(`mcpServer.host.platform: "${host.platform}" is not deployed by dbwarden:aws:GovernedAccess (aws-ecs only; the local stack runs with \`npm start\`)`);
  }
  // Checked here, before any resource exists, although McpService checks them too.
  if (!plan.mcpServer.image) throw new Error(`mcpServer.image is required (the MCP server's container image)`);
  if (!host.certificateArn.startsWith("arn:aws:acm:")) {
    throw new Error(`mcpServer.host.certificateArn must be an ACM certificate ARN: the load balancer serves HTTPS only`);
  }
  if (host.subnetIds.length < 2) throw new Error(`mcpServer.host.subnetIds: list private subnets in at least two availability zones`);
  listenerCidrs(plan.mcpServer.allowedCidrs, "mcpServer.allowedCidrs");
  const targets: AwsTarget[] = [];
  for (const target of plan.targets) {
    if (!hostServes(host.platform, target.platform)) {
      throw new Error(`targets.${target.name}.platform: "${target.platform}" cannot be read by an MCP server on ${host.platform} (it reads: ${HOST_PLATFORMS[host.platform].targets.join(", ")})`);
    }
    const aws = target as AwsTarget;
    if (target.replica.mode === "none") {
      throw new Error(`targets.${target.name}.replica: an aws-rds target needs a replica (create or existing), so agents never query the primary`);
    }
    if (!target.network.vpcId) throw new Error(`targets.${target.name}.network.vpcId is required on aws-rds`);
    if (target.network.subnetIds.length < 2) throw new Error(`targets.${target.name}.network.subnetIds: list private subnets in at least two availability zones`);
    if (!(TARGET_PLATFORMS[target.platform].credentialModes as readonly string[]).includes(target.credentials.mode)) {
      throw new Error(`targets.${target.name}.credentials.mode: ${target.credentials.mode} is not available on RDS; use iam or password`);
    }
    if (target.credentials.mode === "password" && !aws.platformSettings.adminSecretArn) {
      throw new Error(`targets.${target.name}.primary.adminSecretArn is required with password credentials: the multi-user rotation function uses it`);
    }
    if (aws.platformSettings.region !== host.region) {
      throw new Error(`targets.${target.name}.region: "${aws.platformSettings.region}" differs from mcpServer.host.region "${host.region}"; one stack deploys one region`);
    }
    if (target.network.vpcId !== host.vpcId) {
      throw new Error(`targets.${target.name}.network.vpcId: the MCP service reaches every target from its own VPC (mcpServer.host.vpcId "${host.vpcId}")`);
    }
    targets.push(aws);
  }
  return { targets, host, region: host.region, vpcId: host.vpcId, subnetIds: host.subnetIds };
}

export interface GovernedAccessArgs {
  /** The environment's access plan (from `planStack`): the only source of what is granted. */
  plan: AccessPlan;
  /** Column lists for `allColumnsExcept` privileges (stacks/catalog/<env>.json). */
  catalog: CatalogSnapshot;
  /** Names the catalog in error messages. */
  catalogSource?: string;
}

export class GovernedAccess extends pulumi.ComponentResource {
  /** Where agents connect. */
  public readonly mcpUrl: pulumi.Output<string>;
  /** Point the plan's hostnames (DNS) at this. */
  public readonly loadBalancerDnsName: pulumi.Output<string>;
  /** Secret ARN by login role (password credentials), and the API key hash secret. */
  public readonly secretArns: pulumi.Output<Record<string, string>>;
  public readonly apiKeysSecretArn: pulumi.Output<string>;
  /** Log groups: the MCP audit stream and each created replica's `postgresql` log. */
  public readonly logGroups: pulumi.Output<Record<string, string>>;
  /** Group and login role names per workflow. */
  public readonly roleNames: Record<string, { group: string; logins: string[] }>;
  /** Replica address per target. */
  public readonly replicaAddresses: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: GovernedAccessArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:aws:GovernedAccess", name, {}, opts);
    if (!args.plan) throw new Error(`${name}: plan is required`);
    if (!args.catalog) throw new Error(`${name}: catalog is required (stacks/catalog/<env>.json)`);
    const plan = args.plan;
    const { targets, host, region, vpcId, subnetIds } = checkAwsPlan(plan);
    const parent = { parent: this };

    const primaries = new Map<string, pulumi.Output<GetInstanceResult>>();
    const existingReplicas = new Map<string, ReadReplica>();
    for (const target of targets) {
      primaries.set(target.name, getInstanceOutput({ dbInstanceIdentifier: target.platformSettings.primaryIdentifier }, parent));
      if (target.replica.mode === "existing") {
        existingReplicas.set(target.name, new ReadReplica(`${name}-${target.name}-replica`, { mode: "existing", identifier: target.replica.identifier }, parent));
        pulumi.log.warn(
          `target ${target.name}: replica ${target.replica.identifier} exists outside this stack; its parameter group (${target.logging.statements}) and log export are not managed here`,
          this,
        );
      }
    }
    const firstGroup = (ids: string[]) => {
      if (!ids[0]) throw new Error(`${name}: an RDS instance has no VPC security group`);
      return ids[0];
    };

    const network = new NetworkBoundary(
      `${name}-network`,
      {
        vpcId,
        servicePort: plan.mcpServer.port,
        allowedCidrs: plan.mcpServer.allowedCidrs,
        targets: targets.map((target) => ({
          target: target.name,
          port: primaries.get(target.name)!.port,
          ...(existingReplicas.has(target.name) ? { existingReplicaSecurityGroupId: existingReplicas.get(target.name)!.securityGroupIds.apply(firstGroup) } : {}),
          ...(target.credentials.mode === "password" ? { rotationPrimarySecurityGroupId: primaries.get(target.name)!.vpcSecurityGroups.apply(firstGroup) } : {}),
        })),
      },
      parent,
    );

    const created = targets.filter((t) => t.replica.mode === "create");
    const logging = new QueryLogging(
      `${name}-logging`,
      {
        environment: plan.environment,
        auditRetentionDays: plan.mcpServer.auditRetentionDays,
        databases: created.map((t) => ({ target: t.name, instanceIdentifier: replicaIdentifier(plan.environment, t.name), retentionDays: t.logging.retentionDays })),
      },
      parent,
    );

    const replicas = new Map(existingReplicas);
    for (const target of created) {
      const replica = target.replica as Extract<TargetPlan["replica"], { mode: "create" }>;
      const primary = primaries.get(target.name)!;
      replicas.set(
        target.name,
        new ReadReplica(
          `${name}-${target.name}-replica`,
          {
            mode: "create",
            environment: plan.environment,
            target: target.name,
            identifier: replicaIdentifier(plan.environment, target.name),
            primary: { arn: primary.dbInstanceArn, engineVersion: primary.engineVersion },
            instanceClass: replica.instanceClass,
            availabilityZone: replica.zone,
            subnetIds: target.network.subnetIds,
            securityGroupIds: [network.databaseSecurityGroups[target.name]!.id],
            parameters: replicaParameters(target.logging, workflowsOf(plan, target.name), `targets.${target.name}`),
            logGroup: logging.databaseLogGroups[target.name]!,
          },
          parent,
        ),
      );
    }

    const secretArns: Record<string, pulumi.Output<string>> = {};
    const connectArns: pulumi.Output<string>[] = [];
    const iamLogins: Record<string, string> = {};
    this.roleNames = {};
    for (const target of targets) {
      const primary = primaries.get(target.name)!;
      const replica = replicas.get(target.name)!;
      const adminSecretArn = target.platformSettings.adminSecretArn;
      let connection: PostgresConnectionArgs;
      if (adminSecretArn) {
        const admin = getSecretVersionOutput({ secretId: adminSecretArn }, parent).secretString.apply((text) => parseAdminSecret(text, `targets.${target.name}.primary.adminSecretArn`));
        connection = { host: primary.address, port: primary.port, username: admin.username, password: pulumi.secret(admin.password), superuser: false };
      } else {
        // No admin secret: the deployer connects as the master user with an IAM token.
        connection = { host: primary.address, port: primary.port, username: primary.masterUsername, superuser: false, awsRdsIamAuth: { region } };
      }
      const logins = targetLogins(plan, target.name);
      if (target.credentials.mode === "iam") for (const login of logins) iamLogins[login.role] = region;
      const passwords =
        target.credentials.mode === "password"
          ? Object.fromEntries(logins.map((l) => [l.role, initialPassword(parent)]))
          : {};
      const access = new PostgresReadOnlyAccess(
        `${name}-${target.name}`,
        {
          plan,
          target: target.name,
          connection,
          catalog: args.catalog,
          ...(args.catalogSource ? { catalogSource: args.catalogSource } : {}),
          passwords: Object.fromEntries(Object.entries(passwords).map(([role, value]) => [role, { value, version: "1" }])),
          extensions: target.logging.statements === "pgaudit" ? ["pgaudit"] : [],
        },
        parent,
      );
      for (const workflow of workflowsOf(plan, target.name)) {
        this.roleNames[workflow.name] = { group: workflow.roles.group, logins: workflow.roles.logins.map((l) => l.role) };
      }

      const credentials =
        target.credentials.mode === "iam"
          ? new ClientCredentials(
              `${name}-${target.name}-credentials`,
              { mode: "iam", target, logins, region, accountId: primary.dbInstanceArn.apply(accountOfArn), replicaResourceId: replica.resourceId },
              parent,
            )
          : new ClientCredentials(
              `${name}-${target.name}-credentials`,
              {
                mode: "password",
                target,
                logins,
                region,
                primaryHost: primary.address,
                primaryPort: primary.port,
                masterSecretArn: adminSecretArn!,
                initialPasswords: passwords,
                subnetIds: target.network.subnetIds,
                rotationSecurityGroupId: network.rotationSecurityGroups[target.name]!.id,
                rotateAfter: [access],
              },
              parent,
            );
      Object.assign(secretArns, credentials.secretArns);
      connectArns.push(...credentials.connectArns);
    }

    const service = new McpService(
      `${name}-mcp`,
      {
        plan,
        region,
        databases: Object.fromEntries(
          targets.map((t) => [t.name, pulumi.output({ host: replicas.get(t.name)!.address, port: replicas.get(t.name)!.port, database: t.database })]),
        ),
        loginSecretArns: secretArns,
        connectArns,
        iamLogins,
        vpcId,
        subnetIds,
        ...(host.publicSubnetIds.length > 0 ? { publicSubnetIds: host.publicSubnetIds } : {}),
        loadBalancerSecurityGroupId: network.loadBalancerSecurityGroup.id,
        serviceSecurityGroupId: network.serviceSecurityGroup.id,
        auditLogGroup: { name: logging.auditLogGroup.name, arn: logging.auditLogGroup.arn },
      },
      parent,
    );

    this.mcpUrl = service.url;
    this.loadBalancerDnsName = service.loadBalancerDnsName;
    this.secretArns = pulumi.all(secretArns);
    this.apiKeysSecretArn = service.apiKeysSecretArn;
    this.logGroups = pulumi.all({
      mcpAudit: logging.auditLogGroup.name,
      ...Object.fromEntries(Object.entries(logging.databaseLogGroups).map(([target, group]) => [target, group.name])),
    });
    this.replicaAddresses = pulumi.all(Object.fromEntries([...replicas].map(([target, replica]) => [target, replica.address])));
    this.registerOutputs({
      mcpUrl: this.mcpUrl,
      loadBalancerDnsName: this.loadBalancerDnsName,
      secretArns: this.secretArns,
      apiKeysSecretArn: this.apiKeysSecretArn,
      logGroups: this.logGroups,
      roleNames: this.roleNames,
      replicaAddresses: this.replicaAddresses,
    });
  }
}

/** Username and password from an RDS admin secret; errors never include the secret's text. */
export function parseAdminSecret(text: string | undefined, field: string): { username: string; password: string } {
  let value: unknown;
  try {
    value = JSON.parse(text ?? "");
  } catch {
    throw new Error(`${field}: the secret is not JSON with "username" and "password"`);
  }
  const { username, password } = (value ?? {}) as Record<string, unknown>;
  if (typeof username !== "string" || typeof password !== "string" || !username || !password) {
    throw new Error(`${field}: the secret lacks a "username" or "password" string`);
  }
  return { username, password };
}
