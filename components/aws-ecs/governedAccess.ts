/**
 * `dbwarden:aws:GovernedAccess`: the top-level component of an AWS environment (host `aws-ecs`
 * in components/hosts.ts). It takes the access plan and instantiates, per target and workflow, the
 * controls that hold even when the model is wrong: the host's network boundary, VPC endpoints,
 * audit log group, MCP service and limits store (this folder), and for each target what its
 * platform's components deploy on an ECS host (its row of `ECS_TARGETS`, targets.ts: RDS's replica,
 * roles and grants through its engine's access component, per-client credentials and query
 * logging, components/aws-rds). Every taggable AWS resource below it carries the environment's
 * owner and `dbwarden:workflow: shared` unless it serves one workflow (components/aws/tags.ts). It
 * exports what operators need and nothing secret. Run `preflightAws` (preflight.ts) first: `pulumi
 * up` does (stacks/index.ts), so what AWS would refuse is reported before anything is created.
 */
import * as pulumi from "@pulumi/pulumi";
import { workflowsOf, type AccessPlan } from "../../src/plan/types.ts";
import { replicaIdentifier } from "../../src/names/aws.ts";
import { sharedTags } from "../aws/tags.ts";
import type { GovernedEnvironmentArgs, GovernedEnvironmentOutputs } from "../environment.ts";
import { checkTargetOnHost } from "../targets.ts";
import { PrivateEndpoints } from "./endpoints.ts";
import { LIMITS_STORE_PORT, LimitsStore, needsLimitsStore } from "./limitsStore.ts";
import { QueryLogging } from "./logging.ts";
import { McpService } from "./mcpService.ts";
import { NetworkBoundary, listenerCidrs } from "./network.ts";
import { forEcsTarget } from "./targets.ts";
import type { AwsHost, AwsTarget, EcsDeployment, EcsTargetAccess, EcsTargetDeployment } from "./targetTypes.ts";

/** Type token of the top-level AWS component. */
export const GOVERNED_ACCESS_TYPE = "dbwarden:aws:GovernedAccess";

export { replicaIdentifier, type AwsHost, type AwsTarget };

/**
 * Checks the plan can be deployed by this component, before any resource exists; returns its
 * targets and its host (region, VPC, subnets). What each target's platform can do comes from the
 * capability table (`checkTargetOnHost`); what it needs beyond that from its row of `ECS_TARGETS`
 * (RDS: its network, admin secret and region); the rest is what ECS needs. Every message names the
 * plan field and the fix.
 */
export function checkAwsPlan(plan: AccessPlan): { targets: AwsTarget[]; host: AwsHost; region: string; vpcId: string; subnetIds: string[] } {
  if (plan.targets.length === 0) throw new Error(`plan "${plan.environment}": no targets`);
  const host = plan.mcpServer.host;
  if (host.platform !== "aws-ecs") {
    throw new Error(
      `mcpServer.host.platform: "${host.platform}" is not deployed by ${GOVERNED_ACCESS_TYPE}, ` +
        `which deploys aws-ecs hosts (components/hosts.ts names the component of each host)`,
    );
  }
  checkEcsHost(plan, host);
  const targets = plan.targets.map((target) => {
    checkTargetOnHost(host.platform, target);
    // checkTargetOnHost refused every platform the host does not read.
    const served = target as AwsTarget;
    forEcsTarget(served, (components, t) => components.check(t, host));
    return served;
  });
  return { targets, host, region: host.region, vpcId: host.vpcId, subnetIds: host.subnetIds };
}

/** What the MCP service on ECS needs from the plan. Checked here although McpService checks it too. */
function checkEcsHost(plan: AccessPlan, host: AwsHost): void {
  if (!plan.mcpServer.image) {
    throw new Error(
      `mcpServer.image is required (the MCP server's container image): an image URI, or { ` +
        `build: true } to build mcp-server/ with Docker into an ECR repository of the stack`,
    );
  }
  if (!host.certificateArn.startsWith("arn:aws:acm:")) {
    throw new Error(`mcpServer.host.certificateArn must be an ACM certificate ARN: the load balancer serves HTTPS only`);
  }
  if (host.subnetIds.length < 2) throw new Error(`mcpServer.host.subnetIds: list private subnets in at least two availability zones`);
  listenerCidrs(plan.mcpServer.allowedCidrs, "mcpServer.allowedCidrs");
}

/** Options of `dbwarden:aws:GovernedAccess`: those of every host's top-level component. */
export type GovernedAccessArgs = GovernedEnvironmentArgs;

/** Each target of the plan being deployed, by target name, in plan order. */
type TargetDeployments = Map<string, EcsTargetDeployment>;

/** What each target gives the MCP service, by target name. */
type TargetAccess = Map<string, EcsTargetAccess>;

export class GovernedAccess extends pulumi.ComponentResource implements GovernedEnvironmentOutputs {
  /** Where agents connect. */
  public readonly mcpUrl: pulumi.Output<string>;
  /** The load balancer's DNS name: point the plan's hostnames (DNS) at it. */
  public readonly endpointHostname: pulumi.Output<string>;
  /** Secret ARN by login role (password credentials). */
  public readonly secretIds: pulumi.Output<Record<string, string>>;
  /** The secret operators put the MCP API key hashes in (its ARN). */
  public readonly apiKeysSecretId: pulumi.Output<string>;
  /** Log groups: the MCP audit stream and each created replica's `postgresql` log. */
  public readonly logGroups: pulumi.Output<Record<string, string>>;
  /** Group and login role names per workflow. */
  public readonly roleNames: Record<string, { group: string; logins: string[] }>;
  /** Replica address per target. */
  public readonly replicaAddresses: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: GovernedAccessArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(GOVERNED_ACCESS_TYPE, name, {}, opts);
    if (!args.plan) throw new Error(`${name}: plan is required`);
    if (!args.catalog) throw new Error(`${name}: catalog is required (stacks/catalog/<env>.json)`);
    const { targets, host } = checkAwsPlan(args.plan);
    const deployment: EcsDeployment = { name, args, plan: args.plan, host, tags: sharedTags(args.plan), parent: this };

    // Each target's lookups first: the network boundary opens towards what they find.
    const deployed: TargetDeployments = new Map(targets.map((t) => [t.name, forEcsTarget(t, (components, target) => components.deploy(deployment, target))]));
    const network = this.networkBoundary(deployment, deployed);
    const endpoints = this.privateEndpoints(deployment, network);
    const logging = this.queryLogging(deployment, deployed);
    const limitsStore = this.limitsStore(deployment, network);
    for (const target of deployed.values()) target.createDatabase(network, logging);
    const access: TargetAccess = new Map([...deployed].map(([target, each]) => [target, each.createAccess(network, endpoints)]));
    const service = this.mcpService(deployment, { access, network, logging, endpoints, limitsStore });
    for (const target of deployed.values()) target.createJobs?.(service);

    const outputs = governedAccessOutputs(deployment, targets, service, access, logging);
    this.mcpUrl = outputs.mcpUrl;
    this.endpointHostname = outputs.endpointHostname;
    this.secretIds = outputs.secretIds;
    this.apiKeysSecretId = outputs.apiKeysSecretId;
    this.logGroups = outputs.logGroups;
    this.roleNames = outputs.roleNames;
    this.replicaAddresses = outputs.replicaAddresses;
    this.registerOutputs(outputs);
  }

  /**
   * Security groups: allowed CIDRs -> load balancer -> service -> each target's database, and each target's own ways (rotation -> primary);
   * endpoints and limits store.
   */
  private networkBoundary({ name, plan, host, tags }: EcsDeployment, deployed: TargetDeployments): NetworkBoundary {
    return new NetworkBoundary(
      `${name}-network`,
      {
        vpcId: host.vpcId,
        servicePort: plan.mcpServer.port,
        allowedCidrs: plan.mcpServer.allowedCidrs,
        privateEndpoints: host.egress === "vpc-endpoints",
        ...(needsLimitsStore(plan.mcpServer.replicas) ? { limitsStorePort: LIMITS_STORE_PORT } : {}),
        targets: [...deployed.values()].flatMap((target) => (target.network ? [target.network] : [])),
        tags,
      },
      { parent: this },
    );
  }

  /** The VPC endpoints private subnets without NAT need (host `egress: vpc-endpoints`), or none. */
  private privateEndpoints({ name, host, tags }: EcsDeployment, network: NetworkBoundary): PrivateEndpoints | null {
    if (host.egress !== "vpc-endpoints") return null;
    return new PrivateEndpoints(
      `${name}-endpoints`,
      { region: host.region, vpcId: host.vpcId, subnetIds: host.subnetIds, securityGroupId: network.endpointsSecurityGroup!.id, tags },
      { parent: this },
    );
  }

  /** The store the server's replicas share for per-client limits, when there are several replicas. */
  private limitsStore({ name, plan, host, tags }: EcsDeployment, network: NetworkBoundary): LimitsStore | null {
    if (!needsLimitsStore(plan.mcpServer.replicas)) return null;
    return new LimitsStore(
      `${name}-limits`,
      { environment: plan.environment, subnetIds: host.subnetIds, securityGroupId: network.limitsStoreSecurityGroup!.id, tags },
      { parent: this },
    );
  }

  /** Log groups with the plan's retention: the MCP audit stream and each target's database logs. */
  private queryLogging({ name, plan, tags }: EcsDeployment, deployed: TargetDeployments): QueryLogging {
    return new QueryLogging(
      `${name}-logging`,
      {
        environment: plan.environment,
        auditRetentionDays: plan.mcpServer.auditRetentionDays,
        databases: [...deployed.values()].flatMap((target) => target.logGroups),
        tags,
      },
      { parent: this },
    );
  }

  /**
   * The MCP server on ECS, reading every target's endpoint with the logins' credentials; it starts
   * after the roles and grants, the credentials, the VPC endpoints and the limits store.
   */
  private mcpService({ name, plan, host, tags }: EcsDeployment, phases: ServicePhases): McpService {
    const { access, network, logging, endpoints, limitsStore } = phases;
    const targets = [...access.values()];
    return new McpService(
      `${name}-mcp`,
      {
        plan,
        region: host.region,
        databases: Object.fromEntries([...access].map(([target, each]) => [target, each.endpoint])),
        loginSecretArns: byLogin(targets.map((t) => t.secretArns)),
        connectArns: targets.flatMap((t) => t.connectArns),
        iamLogins: byLogin(targets.map((t) => t.iamLogins)),
        vpcId: host.vpcId,
        subnetIds: host.subnetIds,
        ...(host.publicSubnetIds.length > 0 ? { publicSubnetIds: host.publicSubnetIds } : {}),
        loadBalancerSecurityGroupId: network.loadBalancerSecurityGroup.id,
        serviceSecurityGroupId: network.serviceSecurityGroup.id,
        auditLogGroup: { name: logging.auditLogGroup.name, arn: logging.auditLogGroup.arn },
        ...(limitsStore ? { limitsStore: { host: limitsStore.host, port: limitsStore.port, authSecretArn: limitsStore.authSecretArn } } : {}),
        startAfter: [...targets.flatMap((t) => t.ready), ...(endpoints?.endpoints ?? []), ...(limitsStore?.ready ?? [])],
        tags,
      },
      { parent: this },
    );
  }
}

/** What the MCP service is built from: the other phases' components. */
interface ServicePhases {
  access: TargetAccess;
  network: NetworkBoundary;
  logging: QueryLogging;
  endpoints: PrivateEndpoints | null;
  limitsStore: LimitsStore | null;
}

/** The targets' records by login role, as one (a login role belongs to one target). */
function byLogin<T>(records: readonly Record<string, T>[]): Record<string, T> {
  return Object.assign({}, ...records) as Record<string, T>;
}

/** The stack outputs, from the phases' components. Nothing secret. */
function governedAccessOutputs(
  { plan }: EcsDeployment,
  targets: readonly AwsTarget[],
  service: McpService,
  access: TargetAccess,
  logging: QueryLogging,
): GovernedEnvironmentOutputs {
  return {
    mcpUrl: service.url,
    endpointHostname: service.loadBalancerDnsName,
    secretIds: pulumi.all(byLogin([...access.values()].map((t) => t.secretArns))),
    apiKeysSecretId: service.apiKeysSecretArn,
    logGroups: pulumi.all({
      mcpAudit: logging.auditLogGroup.name,
      ...Object.fromEntries(Object.entries(logging.databaseLogGroups).map(([target, group]) => [target, group.name])),
    }),
    roleNames: roleNamesOf(plan, targets),
    replicaAddresses: pulumi.all(Object.fromEntries([...access].map(([target, each]) => [target, each.address]))),
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
