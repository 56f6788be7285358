/**
 * `dbwarden:aws:GovernedAccess`: the top-level component of an AWS environment (host `aws-ecs`
 * in components/hosts.ts). It takes the access plan and instantiates, per target and workflow, the
 * controls that hold even when the model is wrong: read replica, network boundary, least-privilege
 * roles on the primary (reaching the replica by replication), per-client credentials, query
 * logging, the MCP service and what it needs in a private VPC (VPC endpoints, a shared limits
 * store for several replicas). Every taggable AWS resource below it carries the environment's
 * owner and `dbwarden:workflow: shared` unless it serves one workflow (tags.ts). It exports what
 * operators need and nothing secret. Run `preflightAws` (preflight.ts) first: `pulumi up` does
 * (stacks/index.ts), so what AWS would refuse is reported before anything is created.
 */
import { rdsCaBundleForProgram } from "./rdsCa.ts";
import * as pulumi from "@pulumi/pulumi";
import { getInstanceOutput, type GetInstanceResult } from "@pulumi/aws/rds/getInstance.js";
import { getSecretVersionOutput } from "@pulumi/aws/secretsmanager/getSecretVersion.js";
import { workflowsOf, type AccessPlan, type HostOf, type ReplicaPlan, type TargetOf } from "../../src/plan/types.ts";
import type { GovernedEnvironmentArgs, GovernedEnvironmentOutputs } from "../hosts.ts";
import type { PostgresConnectionArgs, PostgresReadOnlyAccessArgs } from "../postgres/readOnlyAccess.ts";
import { accessComponentOf, checkTargetOnHost } from "../targets.ts";
import { ClientCredentials, accountOfArn, initialPassword, targetLogins, type TargetLogin } from "./credentials.ts";
import { PrivateEndpoints } from "./endpoints.ts";
import { LIMITS_STORE_PORT, LimitsStore, needsLimitsStore } from "./limitsStore.ts";
import { QueryLogging } from "./logging.ts";
import { McpService } from "./mcpService.ts";
import { replicaIdentifier } from "./names.ts";
import { NetworkBoundary, listenerCidrs } from "./network.ts";
import { ReadReplica, replicaParameters } from "./replica.ts";
import { sharedTags, sharedTagsTransformation } from "./tags.ts";

/** Type token of the top-level AWS component. */
export const GOVERNED_ACCESS_TYPE = "dbwarden:aws:GovernedAccess";

/** A target this component deploys: `hostServes("aws-ecs", ...)` admits RDS targets only. */
export type AwsTarget = TargetOf<"aws-rds">;
/** The MCP server's host in an AWS environment. */
export type AwsHost = HostOf<"aws-ecs">;

export { replicaIdentifier };

/**
 * Checks the plan can be deployed by this component, before any resource exists; returns its AWS
 * targets and its host (region, VPC, subnets). What each target's platform can do comes from the
 * capability table (`checkTargetOnHost`); the rest is what RDS and ECS need. Every message names
 * the plan field and the fix.
 */
export function checkAwsPlan(plan: AccessPlan): { targets: AwsTarget[]; host: AwsHost; region: string; vpcId: string; subnetIds: string[] } {
  if (plan.targets.length === 0) throw new Error(`plan "${plan.environment}": no targets`);
  const host = plan.mcpServer.host;
  if (host.platform !== "aws-ecs") {
    throw new Error(
      `mcpServer.host.platform: "${host.platform}" is not deployed by ${GOVERNED_ACCESS_TYPE}, which deploys aws-ecs hosts (components/hosts.ts names the component of each host)`,
    );
  }
  checkEcsHost(plan, host);
  const targets = plan.targets.map((target) => {
    checkTargetOnHost(host.platform, target);
    return checkRdsTarget(target as AwsTarget, host);
  });
  return { targets, host, region: host.region, vpcId: host.vpcId, subnetIds: host.subnetIds };
}

/** What the MCP service on ECS needs from the plan. Checked here although McpService checks it too. */
function checkEcsHost(plan: AccessPlan, host: AwsHost): void {
  if (!plan.mcpServer.image) {
    throw new Error(
      `mcpServer.image is required (the MCP server's container image): an image URI, or { build: true } to build mcp-server/ with Docker into an ECR repository of the stack`,
    );
  }
  if (!host.certificateArn.startsWith("arn:aws:acm:")) {
    throw new Error(`mcpServer.host.certificateArn must be an ACM certificate ARN: the load balancer serves HTTPS only`);
  }
  if (host.subnetIds.length < 2) throw new Error(`mcpServer.host.subnetIds: list private subnets in at least two availability zones`);
  listenerCidrs(plan.mcpServer.allowedCidrs, "mcpServer.allowedCidrs");
}

/** What an RDS target needs beyond its platform's capabilities: its network, admin secret and region. */
function checkRdsTarget(target: AwsTarget, host: AwsHost): AwsTarget {
  const field = `targets.${target.name}`;
  if (!target.network.vpcId) throw new Error(`${field}.network.vpcId is required on aws-rds`);
  if (target.network.subnetIds.length < 2) throw new Error(`${field}.network.subnetIds: list private subnets in at least two availability zones`);
  const { adminSecretArn, masterUserIamAuth } = target.platformSettings;
  if (target.credentials.mode === "password" && !adminSecretArn) {
    throw new Error(`${field}.primary.adminSecretArn is required with password credentials: the multi-user rotation function uses it`);
  }
  if (adminSecretArn && masterUserIamAuth) {
    throw new Error(`${field}.primary: give adminSecretArn or masterUserIamAuth, not both (with an admin secret, Pulumi connects with its password)`);
  }
  if (!adminSecretArn && !masterUserIamAuth) {
    throw new Error(
      `${field}.primary.adminSecretArn is absent, so Pulumi would connect to the primary as its master user with an RDS IAM token, which works only once that user is a member of rds_iam ` +
        `(GRANT rds_iam TO <master user>; on RDS PostgreSQL this turns its password login off) and the primary has IAM database authentication on. ` +
        `Give ${field}.primary.adminSecretArn (an admin secret), or set ${field}.primary.masterUserIamAuth: true once the master user is in rds_iam.`,
    );
  }
  if (target.platformSettings.region !== host.region) {
    throw new Error(`${field}.region: "${target.platformSettings.region}" differs from mcpServer.host.region "${host.region}"; one stack deploys one region`);
  }
  if (target.network.vpcId !== host.vpcId) {
    throw new Error(`${field}.network.vpcId: the MCP service reaches every target from its own VPC (mcpServer.host.vpcId "${host.vpcId}")`);
  }
  return target;
}

/** Options of `dbwarden:aws:GovernedAccess`: those of every host's top-level component. */
export type GovernedAccessArgs = GovernedEnvironmentArgs;

/** The RDS instances the stack reads from, looked up by identifier. */
interface RdsInstances {
  /** Each target's primary, by target. */
  primaries: Map<string, pulumi.Output<GetInstanceResult>>;
  /** The replicas this stack does not create, by target. */
  existingReplicas: Map<string, ReadReplica>;
}

/** The checked plan and the name every phase derives its resources' names from. */
interface Deployment {
  name: string;
  args: GovernedAccessArgs;
  plan: AccessPlan;
  host: AwsHost;
  targets: AwsTarget[];
}

/** What the per-target access phase hands the MCP service: how it reaches each login, and what to start after. */
interface LoginCredentials {
  /** The access components (roles, grants) and credentials: the service starts after them. */
  ready: pulumi.Resource[];
  /** Secret ARN by login role (password credentials). */
  secretArns: Record<string, pulumi.Output<string>>;
  /** `rds-db:connect` ARNs (IAM credentials). */
  connectArns: pulumi.Output<string>[];
  /** Region by login role (IAM credentials). */
  iamLogins: Record<string, string>;
}

export class GovernedAccess extends pulumi.ComponentResource implements GovernedEnvironmentOutputs {
  /** Where agents connect. */
  public readonly mcpUrl: pulumi.Output<string>;
  /** Point the plan's hostnames (DNS) at this. */
  public readonly loadBalancerDnsName: pulumi.Output<string>;
  /** Secret ARN by login role (password credentials). */
  public readonly secretArns: pulumi.Output<Record<string, string>>;
  /** The secret operators put the MCP API key hashes in. */
  public readonly apiKeysSecretArn: pulumi.Output<string>;
  /** Log groups: the MCP audit stream and each created replica's `postgresql` log. */
  public readonly logGroups: pulumi.Output<Record<string, string>>;
  /** Group and login role names per workflow. */
  public readonly roleNames: Record<string, { group: string; logins: string[] }>;
  /** Replica address per target. */
  public readonly replicaAddresses: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: GovernedAccessArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(GOVERNED_ACCESS_TYPE, name, {}, withSharedTags(opts, args?.plan));
    if (!args.plan) throw new Error(`${name}: plan is required`);
    if (!args.catalog) throw new Error(`${name}: catalog is required (stacks/catalog/<env>.json)`);
    const { targets, host } = checkAwsPlan(args.plan);
    const deployment: Deployment = { name, args, plan: args.plan, host, targets };

    const instances = this.lookUpInstances(deployment);
    const network = this.networkBoundary(deployment, instances);
    const endpoints = this.privateEndpoints(deployment, network);
    const logging = this.queryLogging(deployment);
    const limitsStore = this.limitsStore(deployment, network);
    const replicas = this.readReplicas(deployment, instances, network, logging);
    const credentials = this.accessPerTarget(deployment, instances, replicas, network, endpoints);
    const service = this.mcpService(deployment, { replicas, credentials, network, logging, endpoints, limitsStore });

    const outputs = governedAccessOutputs(deployment, service, credentials, logging, replicas);
    this.mcpUrl = outputs.mcpUrl;
    this.loadBalancerDnsName = outputs.loadBalancerDnsName;
    this.secretArns = outputs.secretArns;
    this.apiKeysSecretArn = outputs.apiKeysSecretArn;
    this.logGroups = outputs.logGroups;
    this.roleNames = outputs.roleNames;
    this.replicaAddresses = outputs.replicaAddresses;
    this.registerOutputs(outputs);
  }

  /** Each target's primary, and the replicas this stack does not create (their settings are not managed here). */
  private lookUpInstances({ name, targets }: Deployment): RdsInstances {
    const primaries = new Map<string, pulumi.Output<GetInstanceResult>>();
    const existingReplicas = new Map<string, ReadReplica>();
    for (const target of targets) {
      primaries.set(target.name, getInstanceOutput({ dbInstanceIdentifier: target.platformSettings.primaryIdentifier }, { parent: this }));
      if (target.replica.mode === "existing") {
        existingReplicas.set(
          target.name,
          new ReadReplica(`${name}-${target.name}-replica`, { mode: "existing", identifier: target.replica.identifier }, { parent: this }),
        );
        void pulumi.log.warn(
          `target ${target.name}: replica ${target.replica.identifier} exists outside this stack; its parameter group (${target.logging.statements}) and log export are not managed here`,
          this,
        );
      }
    }
    return { primaries, existingReplicas };
  }

  /** Security groups: allowed CIDRs -> load balancer -> service -> replicas, and rotation -> primary; endpoints and limits store. */
  private networkBoundary({ name, plan, host, targets }: Deployment, { primaries, existingReplicas }: RdsInstances): NetworkBoundary {
    const firstGroup = firstSecurityGroup(name);
    return new NetworkBoundary(
      `${name}-network`,
      {
        vpcId: host.vpcId,
        servicePort: plan.mcpServer.port,
        allowedCidrs: plan.mcpServer.allowedCidrs,
        privateEndpoints: host.egress === "vpc-endpoints",
        ...(needsLimitsStore(plan.mcpServer.replicas) ? { limitsStorePort: LIMITS_STORE_PORT } : {}),
        targets: targets.map((target) => ({
          target: target.name,
          port: primaries.get(target.name)!.port,
          ...(existingReplicas.has(target.name)
            ? { existingReplicaSecurityGroupId: existingReplicas.get(target.name)!.securityGroupIds.apply(firstGroup) }
            : {}),
          ...(target.credentials.mode === "password"
            ? { rotationPrimarySecurityGroupId: primaries.get(target.name)!.vpcSecurityGroups.apply(firstGroup) }
            : {}),
        })),
      },
      { parent: this },
    );
  }

  /** The VPC endpoints private subnets without NAT need (host `egress: vpc-endpoints`), or none. */
  private privateEndpoints({ name, host }: Deployment, network: NetworkBoundary): PrivateEndpoints | null {
    if (host.egress !== "vpc-endpoints") return null;
    return new PrivateEndpoints(
      `${name}-endpoints`,
      { region: host.region, vpcId: host.vpcId, subnetIds: host.subnetIds, securityGroupId: network.endpointsSecurityGroup!.id },
      { parent: this },
    );
  }

  /** The store the server's replicas share for per-client limits, when there are several replicas. */
  private limitsStore({ name, plan, host }: Deployment, network: NetworkBoundary): LimitsStore | null {
    if (!needsLimitsStore(plan.mcpServer.replicas)) return null;
    return new LimitsStore(
      `${name}-limits`,
      { environment: plan.environment, subnetIds: host.subnetIds, securityGroupId: network.limitsStoreSecurityGroup!.id },
      { parent: this },
    );
  }

  /** Log groups with the plan's retention: the MCP audit stream and each created replica's log. */
  private queryLogging({ name, plan, targets }: Deployment): QueryLogging {
    return new QueryLogging(
      `${name}-logging`,
      {
        environment: plan.environment,
        auditRetentionDays: plan.mcpServer.auditRetentionDays,
        databases: createdReplicaTargets(targets).map((t) => ({
          target: t.name,
          instanceIdentifier: replicaIdentifier(plan.environment, t.name),
          retentionDays: t.logging.retentionDays,
        })),
      },
      { parent: this },
    );
  }

  /** The replica of every target: the existing ones looked up, the others created here. */
  private readReplicas(
    { name, plan, targets }: Deployment,
    { primaries, existingReplicas }: RdsInstances,
    network: NetworkBoundary,
    logging: QueryLogging,
  ): Map<string, ReadReplica> {
    const replicas = new Map(existingReplicas);
    for (const target of createdReplicaTargets(targets)) {
      const replica = target.replica as Extract<ReplicaPlan, { mode: "create" }>;
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
          { parent: this },
        ),
      );
    }
    return replicas;
  }

  /** Per target: its roles and grants on the primary (access component) and one credential per login. */
  private accessPerTarget(
    deployment: Deployment,
    { primaries }: RdsInstances,
    replicas: Map<string, ReadReplica>,
    network: NetworkBoundary,
    endpoints: PrivateEndpoints | null,
  ): LoginCredentials {
    const all: LoginCredentials = { ready: [], secretArns: {}, connectArns: [], iamLogins: {} };
    for (const target of deployment.targets) {
      const logins = targetLogins(deployment.plan, target.name);
      if (target.credentials.mode === "iam") for (const login of logins) all.iamLogins[login.role] = deployment.host.region;
      const { access, credentials } = this.targetAccess(
        deployment,
        target,
        logins,
        primaries.get(target.name)!,
        replicas.get(target.name)!,
        network,
        endpoints,
      );
      all.ready.push(access, credentials);
      Object.assign(all.secretArns, credentials.secretArns);
      all.connectArns.push(...credentials.connectArns);
    }
    return all;
  }

  /** One target's access component (connected to its primary as the admin) and its logins' credentials. */
  private targetAccess(
    { name, args, host }: Deployment,
    target: AwsTarget,
    logins: TargetLogin[],
    primary: pulumi.Output<GetInstanceResult>,
    replica: ReadReplica,
    network: NetworkBoundary,
    endpoints: PrivateEndpoints | null,
  ): { access: pulumi.ComponentResource; credentials: ClientCredentials } {
    const parent = { parent: this };
    const connection = adminConnection(target, primary, host.region, parent);
    const passwords =
      target.credentials.mode === "password"
        ? Object.fromEntries(logins.map((l) => [l.role, initialPassword(`${name}-${target.name}-${l.role}-password`, parent)]))
        : {};
    const access = accessComponentOf(target).create(`${name}-${target.name}`, postgresAccessArgs(args, target, connection, passwords), parent);
    const credentialsName = `${name}-${target.name}-credentials`;
    const environment = args.plan.environment;
    if (target.credentials.mode === "iam") {
      const credentials = new ClientCredentials(
        credentialsName,
        {
          mode: "iam",
          environment,
          target,
          logins,
          region: host.region,
          accountId: primary.dbInstanceArn.apply(accountOfArn),
          replicaResourceId: replica.resourceId,
        },
        parent,
      );
      return { access, credentials };
    }
    const credentials = new ClientCredentials(
      credentialsName,
      {
        mode: "password",
        environment,
        target,
        logins,
        region: host.region,
        primaryHost: primary.address,
        primaryPort: primary.port,
        masterSecretArn: target.platformSettings.adminSecretArn!,
        initialPasswords: passwords,
        subnetIds: target.network.subnetIds,
        rotationSecurityGroupId: network.rotationSecurityGroups[target.name]!.id,
        // The first rotation runs during `up`: the logins must exist, and the function must reach Secrets Manager.
        rotateAfter: [access, ...(endpoints?.endpoints ?? [])],
      },
      parent,
    );
    return { access, credentials };
  }

  /**
   * The MCP server on ECS, reading every target's replica with the logins' credentials; it starts
   * after the roles and grants, the credentials, the VPC endpoints and the limits store.
   */
  private mcpService({ name, plan, host, targets }: Deployment, phases: ServicePhases): McpService {
    const { replicas, credentials, network, logging, endpoints, limitsStore } = phases;
    return new McpService(
      `${name}-mcp`,
      {
        plan,
        region: host.region,
        databases: Object.fromEntries(
          targets.map((t) => [t.name, pulumi.output({ host: replicas.get(t.name)!.address, port: replicas.get(t.name)!.port, database: t.database })]),
        ),
        loginSecretArns: credentials.secretArns,
        connectArns: credentials.connectArns,
        iamLogins: credentials.iamLogins,
        vpcId: host.vpcId,
        subnetIds: host.subnetIds,
        ...(host.publicSubnetIds.length > 0 ? { publicSubnetIds: host.publicSubnetIds } : {}),
        loadBalancerSecurityGroupId: network.loadBalancerSecurityGroup.id,
        serviceSecurityGroupId: network.serviceSecurityGroup.id,
        auditLogGroup: { name: logging.auditLogGroup.name, arn: logging.auditLogGroup.arn },
        ...(limitsStore ? { limitsStore: { host: limitsStore.host, port: limitsStore.port, authSecretArn: limitsStore.authSecretArn } } : {}),
        startAfter: [...credentials.ready, ...(endpoints?.endpoints ?? []), ...(limitsStore?.ready ?? [])],
      },
      { parent: this },
    );
  }
}

/** What the MCP service is built from: the other phases' components. */
interface ServicePhases {
  replicas: Map<string, ReadReplica>;
  credentials: LoginCredentials;
  network: NetworkBoundary;
  logging: QueryLogging;
  endpoints: PrivateEndpoints | null;
  limitsStore: LimitsStore | null;
}

/** The component's options with the shared tags transformation added (see tags.ts). */
function withSharedTags(opts: pulumi.ComponentResourceOptions, plan: AccessPlan | undefined): pulumi.ComponentResourceOptions {
  if (!plan) return opts;
  return { ...opts, transformations: [...(opts.transformations ?? []), sharedTagsTransformation(sharedTags(plan))] };
}

/** Targets whose replica this stack creates. */
function createdReplicaTargets(targets: readonly AwsTarget[]): AwsTarget[] {
  return targets.filter((t) => t.replica.mode === "create");
}

/** The first security group of an RDS instance (the one its rules are added to). */
function firstSecurityGroup(name: string): (ids: string[]) => string {
  return (ids) => {
    if (!ids[0]) throw new Error(`${name}: an RDS instance has no VPC security group`);
    return ids[0];
  };
}

/**
 * How the deployer reaches a target's primary as its admin: with the admin secret's password, or,
 * without an admin secret, as the master user with an IAM token.
 */
export function adminConnection(
  target: AwsTarget,
  primary: pulumi.Output<GetInstanceResult>,
  region: string,
  opts: pulumi.InvokeOutputOptions,
): PostgresConnectionArgs {
  const adminSecretArn = target.platformSettings.adminSecretArn;
  if (!adminSecretArn) {
    return { host: primary.address, port: primary.port, username: primary.masterUsername, superuser: false, awsRdsIamAuth: { region } };
  }
  const admin = getSecretVersionOutput({ secretId: adminSecretArn }, opts).secretString.apply((text) =>
    parseAdminSecret(text, `targets.${target.name}.primary.adminSecretArn`),
  );
  // Scheme `postgres` with verify-full trusts only the CAs it is given: Amazon RDS's bundle, shipped
  // in certs/ (the IAM path's scheme `awspostgres` brings its own).
  return {
    host: primary.address,
    port: primary.port,
    username: admin.username,
    password: pulumi.secret(admin.password),
    superuser: false,
    sslrootcert: rdsCaBundleForProgram(),
  };
}

/**
 * The arguments of a target's access component (`dbwarden:postgres:ReadOnlyAccess`): the plan's
 * roles and grants for the target (IAM and rotation-clone logins follow from its platform's
 * capabilities in the Postgres model), its initial passwords, and what its logging needs.
 */
export function postgresAccessArgs(
  args: GovernedAccessArgs,
  target: AwsTarget,
  connection: PostgresConnectionArgs,
  passwords: Record<string, pulumi.Input<string>>,
): PostgresReadOnlyAccessArgs {
  return {
    plan: args.plan,
    target: target.name,
    connection,
    catalog: args.catalog,
    ...(args.catalogSource ? { catalogSource: args.catalogSource } : {}),
    passwords: Object.fromEntries(Object.entries(passwords).map(([role, value]) => [role, { value, version: "1" }])),
    extensions: target.logging.statements === "pgaudit" ? ["pgaudit"] : [],
    // A replica created here applies the model's statement logging server-wide (replicaParameters).
    ...(target.replica.mode === "create"
      ? {
          serverSettings: Object.fromEntries(
            replicaParameters(target.logging, workflowsOf(args.plan, target.name), `targets.${target.name}`).map((p) => [p.name, p.value]),
          ),
        }
      : {}),
  };
}

/** The stack outputs, from the phases' components. Nothing secret. */
function governedAccessOutputs(
  { plan, targets }: Deployment,
  service: McpService,
  credentials: LoginCredentials,
  logging: QueryLogging,
  replicas: Map<string, ReadReplica>,
): GovernedEnvironmentOutputs {
  return {
    mcpUrl: service.url,
    loadBalancerDnsName: service.loadBalancerDnsName,
    secretArns: pulumi.all(credentials.secretArns),
    apiKeysSecretArn: service.apiKeysSecretArn,
    logGroups: pulumi.all({
      mcpAudit: logging.auditLogGroup.name,
      ...Object.fromEntries(Object.entries(logging.databaseLogGroups).map(([target, group]) => [target, group.name])),
    }),
    roleNames: roleNamesOf(plan, targets),
    replicaAddresses: pulumi.all(Object.fromEntries([...replicas].map(([target, replica]) => [target, replica.address]))),
  };
}

/** Group and login role names of every workflow reading the targets. */
export function roleNamesOf(plan: AccessPlan, targets: readonly { name: string }[]): Record<string, { group: string; logins: string[] }> {
  const names: Record<string, { group: string; logins: string[] }> = {};
  for (const target of targets) {
    for (const workflow of workflowsOf(plan, target.name))
      names[workflow.name] = { group: workflow.roles.group, logins: workflow.roles.logins.map((l) => l.role) };
  }
  return names;
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
