/**
 * `dbwarden:aws:McpService`: the MCP server on ECS Fargate, the only path agents use.
 * - behind an Application Load Balancer: HTTPS only (TLS 1.2+ policy, the plan's certificate),
 *   reachable only from the plan's CIDRs (NetworkBoundary), internal when they are all private;
 * - tasks in private subnets, no public IP, read-only root filesystem (a small tmpfs-like
 *   volume at /tmp), non-root user, all Linux capabilities dropped, a container health check;
 * - configuration: `DBWARDEN_PLAN` (the access plan JSON) and `DBWARDEN_RUNTIME` (endpoints and
 *   secret ARNs, never secrets) in plain env; the server reads the API key hashes itself from the
 *   `mcp-api-keys` secret (`apiKeysFrom`) at start and every minute, so revoking a key needs no
 *   redeploy (ECS injects secrets into env only at task start); database passwords are fetched at
 *   connect time from the secrets named in the runtime config, so a rotation needs no redeploy;
 * - the task role can read only its own login secrets and the API key secret (and
 *   `rds-db:connect` exactly its IAM users); the execution role only writes the audit log group.
 */
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "@pulumi/aws/ecs/cluster.js";
import { Service } from "@pulumi/aws/ecs/service.js";
import { TaskDefinition } from "@pulumi/aws/ecs/taskDefinition.js";
import { getSubnetOutput } from "@pulumi/aws/ec2/getSubnet.js";
import { Role } from "@pulumi/aws/iam/role.js";
import { RolePolicy } from "@pulumi/aws/iam/rolePolicy.js";
import { Listener } from "@pulumi/aws/lb/listener.js";
import { LoadBalancer } from "@pulumi/aws/lb/loadBalancer.js";
import { TargetGroup } from "@pulumi/aws/lb/targetGroup.js";
import { Secret } from "@pulumi/aws/secretsmanager/secret.js";
import { buildRuntimeConfig, type AccessPlan, type DatabaseEndpoint, type HostOf, type LoginSource, type RuntimeConfig } from "../../src/plan/types.ts";
import { HTTPS_PORT, isPrivateOnly } from "./network.ts";

/** Name of the server's container in the task (the load balancer forwards to it). */
export const CONTAINER_NAME = "mcp-server";
/** Path the server answers health checks on (load balancer and container). */
export const HEALTH_PATH = "/healthz";
/** Non-root uid:gid the server runs as. */
export const CONTAINER_USER = "10001:10001";
/** TLS 1.3 with 1.2 fallback, no weak ciphers. */
export const SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/** ECS refuses task definitions over 64 KiB; keep room for the rest of the definition. */
export const MAX_ENV_PLAN_BYTES = 48 * 1024;
/** How often the server re-reads the API key secret: the longest a revoked key keeps working. */
export const API_KEY_REFRESH_SECONDS = 60;

/**
 * The server's runtime config on ECS, through the one `buildRuntimeConfig`: listen on all
 * interfaces of the task (the load balancer reaches it), accept the plan's hostnames plus loopback
 * (container health check) as Host headers, refuse browser origins, one endpoint per target (the
 * replica), a secret ARN per password login or `awsRdsIam` (the server generates a token at connect
 * time) per IAM login, audit to stdout (shipped to the audit log group). API key hashes are NOT
 * here: the server reads them from the API key secret (`apiKeysFrom`), refreshed every
 * `API_KEY_REFRESH_SECONDS`.
 */
export function runtimeConfig(args: {
  /** The access plan the server is given (port, hostnames, workflows). */
  plan: AccessPlan;
  /** The replica endpoint per target. */
  databases: Record<string, DatabaseEndpoint>;
  /** Secret ARN by login role, for logins with password credentials. */
  loginSecretArns: Record<string, string>;
  /** Region by login role, for logins using RDS IAM database authentication. */
  iamLogins?: Record<string, string>;
  /** The secret holding the API key hashes (`[{client, workflow, sha256}]`). */
  apiKeysSecretArn: string;
  /** CIDRs of the load balancer's subnets: only it is believed about X-Forwarded-For (client `sourceCidrs`). */
  trustedProxies?: string[];
}): RuntimeConfig {
  const port = args.plan.mcpServer.port;
  const logins: Record<string, LoginSource> = {};
  const iamLogins = args.iamLogins ?? {};
  for (const login of [...Object.keys(args.loginSecretArns), ...Object.keys(iamLogins)]) {
    if (args.loginSecretArns[login] !== undefined && iamLogins[login] !== undefined) throw new Error(`runtime config: login "${login}" has both a password secret and IAM authentication`);
    logins[login] = iamLogins[login] !== undefined ? { awsRdsIam: { region: iamLogins[login]! } } : { awsSecretArn: args.loginSecretArns[login]! };
  }
  try {
    return buildRuntimeConfig({
      plan: args.plan,
      listen: {
        host: "0.0.0.0",
        port,
        allowedHosts: [...args.plan.mcpServer.hostnames, `localhost:${port}`, `127.0.0.1:${port}`],
        ...(args.trustedProxies && args.trustedProxies.length > 0 ? { trustedProxies: [...new Set(args.trustedProxies)].sort() } : {}),
      },
      databases: args.databases,
      logins,
      apiKeys: { fromAwsSecret: args.apiKeysSecretArn, refreshSeconds: API_KEY_REFRESH_SECONDS },
      audit: { stream: "stdout" },
    });
  } catch (error) {
    throw new Error(`runtime config: ${(error as Error).message}`);
  }
}

/** The container definition list (JSON) of the task. Throws when the plan is too large for env. */
export function containerDefinitions(args: {
  /** The server's container image (plan `mcpServer.image`). */
  image: string;
  /** Port the server listens on (plan `mcpServer.port`). */
  port: number;
  /** The access plan as JSON (`DBWARDEN_PLAN`). */
  planJson: string;
  /** The runtime config as JSON (`DBWARDEN_RUNTIME`). */
  runtimeJson: string;
  /** The audit log group the container's stdout is shipped to. */
  logGroupName: string;
  /** Region of the log group. */
  region: string;
}): string {
  const planBytes = Buffer.byteLength(args.planJson);
  if (planBytes > MAX_ENV_PLAN_BYTES) {
    throw new Error(`mcpServer: the access plan is ${planBytes} bytes, over the ${MAX_ENV_PLAN_BYTES} bytes that fit an ECS task definition's environment; split the environment's workflows across stacks`);
  }
  const healthUrl = `http://127.0.0.1:${args.port}${HEALTH_PATH}`;
  return JSON.stringify([
    {
      name: CONTAINER_NAME,
      image: args.image,
      essential: true,
      user: CONTAINER_USER,
      readonlyRootFilesystem: true,
      privileged: false,
      linuxParameters: { initProcessEnabled: true, capabilities: { drop: ["ALL"] } },
      portMappings: [{ containerPort: args.port, protocol: "tcp" }],
      environment: [
        { name: "DBWARDEN_PLAN", value: args.planJson },
        { name: "DBWARDEN_RUNTIME", value: args.runtimeJson },
        { name: "NODE_ENV", value: "production" },
      ],
      mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
      healthCheck: {
        command: ["CMD", "node", "-e", `fetch(${JSON.stringify(healthUrl)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`],
        interval: 30,
        timeout: 5,
        retries: 3,
        startPeriod: 20,
      },
      logConfiguration: {
        logDriver: "awslogs",
        options: { "awslogs-group": args.logGroupName, "awslogs-region": args.region, "awslogs-stream-prefix": "mcp" },
      },
    },
  ]);
}

/** Task role: read exactly its own login secrets and the API key secret; connect as exactly its IAM database users. */
export function taskRolePolicy(secretArns: readonly string[], connectArns: readonly string[], apiKeysSecretArn: string): string {
  const statements: object[] = [];
  if (secretArns.length > 0) statements.push({ Sid: "ReadOwnLoginSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource: [...secretArns].sort() });
  statements.push({ Sid: "ReadApiKeyHashes", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [apiKeysSecretArn] });
  if (connectArns.length > 0) statements.push({ Sid: "ConnectAsOwnDatabaseUsers", Effect: "Allow", Action: ["rds-db:connect"], Resource: [...connectArns].sort() });
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/** Execution role: write the audit log group (no secret is injected into the task's env). */
export function executionRolePolicy(logGroupArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Sid: "WriteAuditLog", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${logGroupArn.replace(/:\*$/, "")}:*`] }],
  });
}

const ECS_TASKS_TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

export interface McpServiceArgs {
  /** The access plan (sent to the server as `DBWARDEN_PLAN`; also gives port, size, hostnames). */
  plan: AccessPlan;
  /** Region of the service. */
  region: string;
  /** Replica endpoint per target. */
  databases: Record<string, pulumi.Input<{ host: pulumi.Input<string>; port: pulumi.Input<number>; database: string }>>;
  /** Secret ARN by login role (password credentials). */
  loginSecretArns: Record<string, pulumi.Input<string>>;
  /** `rds-db:connect` ARNs (IAM credentials). */
  connectArns: pulumi.Input<string>[];
  /** Region by login role for IAM credentials: the server generates an RDS auth token for them at connect time. */
  iamLogins?: Record<string, string>;
  /** VPC of the service. */
  vpcId: pulumi.Input<string>;
  /** Private subnets for the tasks (and an internal load balancer). */
  subnetIds: string[];
  /** Public subnets, needed only when an allowed CIDR is public (internet-facing load balancer). */
  publicSubnetIds?: string[];
  /** Security group of the load balancer (NetworkBoundary). */
  loadBalancerSecurityGroupId: pulumi.Input<string>;
  /** Security group of the tasks (NetworkBoundary). */
  serviceSecurityGroupId: pulumi.Input<string>;
  /** The audit log group (QueryLogging): name and ARN. */
  auditLogGroup: { name: pulumi.Input<string>; arn: pulumi.Input<string> };
}

/** The MCP service's IAM roles: the execution role (pull, write the audit log) and the task role (its own secrets). */
interface ServiceRoles {
  executionRole: Role;
  taskRole: Role;
  /** The task role's policy: the service waits for it, so tasks start with their secrets readable. */
  taskPolicy: RolePolicy;
}

/** The load balancer in front of the service, its target group and HTTPS listener. */
interface ServiceLoadBalancer {
  loadBalancer: LoadBalancer;
  targetGroup: TargetGroup;
  listener: Listener;
}

/**
 * Checks the MCP service's arguments before any resource exists; returns its ECS host and whether
 * the load balancer is internal (every allowed CIDR private).
 */
export function checkMcpServiceArgs(name: string, args: McpServiceArgs): { host: HostOf<"aws-ecs">; internal: boolean } {
  const server = args.plan.mcpServer;
  const host = server.host;
  if (host.platform !== "aws-ecs") throw new Error(`${name}: mcpServer.host.platform must be aws-ecs, got "${host.platform}"`);
  if (!server.image) throw new Error(`${name}: mcpServer.image is required (the MCP server's container image)`);
  if (!host.certificateArn.startsWith("arn:aws:acm:")) {
    throw new Error(`${name}: mcpServer.host.certificateArn must be an ACM certificate ARN: the load balancer serves HTTPS only`);
  }
  if (args.subnetIds.length < 2) throw new Error(`${name}: subnetIds needs private subnets in at least two availability zones`);
  const internal = isPrivateOnly(server.allowedCidrs);
  if (!internal && !(args.publicSubnetIds && args.publicSubnetIds.length >= 2)) {
    throw new Error(`${name}: mcpServer.allowedCidrs includes public networks, so the load balancer must be internet-facing: pass publicSubnetIds (two or more)`);
  }
  return { host, internal };
}

export class McpService extends pulumi.ComponentResource {
  /** Where agents connect: `https://<first hostname>/` (or the load balancer's DNS name). */
  public readonly url: pulumi.Output<string>;
  /** The load balancer's DNS name (point the plan's hostnames at it). */
  public readonly loadBalancerDnsName: pulumi.Output<string>;
  /** Secret holding the API key hashes (`[{client, workflow, sha256}]`), set by operators. */
  public readonly apiKeysSecretArn: pulumi.Output<string>;
  /** The task role: reads its own login secrets and the API key secret, connects as its IAM users. */
  public readonly taskRoleArn: pulumi.Output<string>;

  constructor(name: string, args: McpServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:aws:McpService", name, {}, opts);
    const { host, internal } = checkMcpServiceArgs(name, args);
    const server = args.plan.mcpServer;
    const tags = { "dbwarden:environment": args.plan.environment };

    const apiKeys = new Secret(
      `${name}-api-keys`,
      { name: `dbwarden/${args.plan.environment}/mcp-api-keys`, description: "dbwarden MCP API key hashes: JSON [{client, workflow, sha256}]", recoveryWindowInDays: 7, tags },
      { parent: this },
    );
    const cluster = new Cluster(`${name}-cluster`, { name: `dbwarden-${args.plan.environment}`, settings: [{ name: "containerInsights", value: "enabled" }], tags }, { parent: this });
    const roles = this.roles(name, args, apiKeys, tags);
    // The load balancer's nodes live in its subnets: their CIDRs are the proxies whose
    // X-Forwarded-For the server believes when it checks a client's sourceCidrs.
    const loadBalancerSubnets = internal ? args.subnetIds : args.publicSubnetIds!;
    const taskDefinition = this.taskDefinition(name, args, host, roles, apiKeys, loadBalancerSubnets, tags);
    const front = this.loadBalancer(name, args, host, internal, loadBalancerSubnets, tags);
    new Service(
      `${name}-service`,
      {
        name: `dbwarden-${args.plan.environment}-mcp`,
        cluster: cluster.arn,
        taskDefinition: taskDefinition.arn,
        desiredCount: server.replicas,
        launchType: "FARGATE",
        platformVersion: "LATEST",
        networkConfiguration: { subnets: args.subnetIds, securityGroups: [args.serviceSecurityGroupId], assignPublicIp: false },
        loadBalancers: [{ targetGroupArn: front.targetGroup.arn, containerName: CONTAINER_NAME, containerPort: server.port }],
        healthCheckGracePeriodSeconds: 60,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        enableExecuteCommand: false,
        propagateTags: "SERVICE",
        tags,
      },
      { parent: this, dependsOn: [front.listener, roles.taskPolicy] },
    );

    this.loadBalancerDnsName = front.loadBalancer.dnsName;
    this.url = server.hostnames[0] ? pulumi.output(`https://${server.hostnames[0]}/`) : pulumi.interpolate`https://${front.loadBalancer.dnsName}/`;
    this.apiKeysSecretArn = apiKeys.arn;
    this.taskRoleArn = roles.taskRole.arn;
    this.registerOutputs({ url: this.url, loadBalancerDnsName: this.loadBalancerDnsName, apiKeysSecretArn: this.apiKeysSecretArn });
  }

  /** The execution role (writes the audit log only) and the task role (its own secrets and IAM users only). */
  private roles(name: string, args: McpServiceArgs, apiKeys: Secret, tags: Record<string, string>): ServiceRoles {
    const parent = { parent: this };
    const executionRole = new Role(`${name}-execution`, { assumeRolePolicy: ECS_TASKS_TRUST, description: "dbwarden MCP: pull, log", tags }, parent);
    new RolePolicy(
      `${name}-execution`,
      { role: executionRole.id, policy: pulumi.output(args.auditLogGroup.arn).apply((log) => executionRolePolicy(log)) },
      parent,
    );
    const taskRole = new Role(`${name}-task`, { assumeRolePolicy: ECS_TASKS_TRUST, description: "dbwarden MCP server: its own login secrets and API key hashes only", tags }, parent);
    const taskPolicy = new RolePolicy(
      `${name}-task`,
      {
        role: taskRole.id,
        policy: pulumi
          .all([pulumi.all(args.loginSecretArns), pulumi.all(args.connectArns), apiKeys.arn])
          .apply(([secrets, connects, keys]) => taskRolePolicy(Object.values(secrets), connects, keys)),
      },
      parent,
    );
    return { executionRole, taskRole, taskPolicy };
  }

  /** The Fargate task: the server's container with the plan and its runtime config in env. */
  private taskDefinition(
    name: string,
    args: McpServiceArgs,
    host: HostOf<"aws-ecs">,
    roles: ServiceRoles,
    apiKeys: Secret,
    loadBalancerSubnets: string[],
    tags: Record<string, string>,
  ): TaskDefinition {
    const server = args.plan.mcpServer;
    const trustedProxies = pulumi.all(loadBalancerSubnets.map((id) => getSubnetOutput({ id }, { parent: this }).cidrBlock));
    const runtimeJson = pulumi.all([pulumi.all(args.databases), pulumi.all(args.loginSecretArns), apiKeys.arn, trustedProxies]).apply(([databases, logins, apiKeysSecretArn, proxies]) =>
      JSON.stringify(
        runtimeConfig({
          plan: args.plan,
          databases: Object.fromEntries(Object.entries(databases).map(([k, d]) => [k, { host: d.host, port: d.port, database: d.database, sslmode: "verify-full" as const }])),
          loginSecretArns: logins,
          ...(args.iamLogins ? { iamLogins: args.iamLogins } : {}),
          apiKeysSecretArn,
          trustedProxies: proxies,
        }),
      ),
    );
    const planJson = JSON.stringify(args.plan);
    return new TaskDefinition(
      `${name}-task`,
      {
        family: `dbwarden-${args.plan.environment}-mcp`,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: String(host.cpu),
        memory: String(host.memory),
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
        executionRoleArn: roles.executionRole.arn,
        taskRoleArn: roles.taskRole.arn,
        volumes: [{ name: "tmp" }],
        containerDefinitions: pulumi
          .all([runtimeJson, args.auditLogGroup.name])
          .apply(([runtime, logGroup]) =>
            containerDefinitions({ image: server.image!, port: server.port, planJson, runtimeJson: runtime, logGroupName: logGroup, region: args.region }),
          ),
        tags,
      },
      { parent: this },
    );
  }

  /** The application load balancer (HTTPS only, internal when every allowed CIDR is private), its target group and listener. */
  private loadBalancer(name: string, args: McpServiceArgs, host: HostOf<"aws-ecs">, internal: boolean, subnets: string[], tags: Record<string, string>): ServiceLoadBalancer {
    const parent = { parent: this };
    const loadBalancer = new LoadBalancer(
      `${name}-lb`,
      {
        loadBalancerType: "application",
        internal,
        subnets,
        securityGroups: [args.loadBalancerSecurityGroupId],
        dropInvalidHeaderFields: true,
        enableDeletionProtection: true,
        idleTimeout: 120,
        tags,
      },
      parent,
    );
    const targetGroup = new TargetGroup(
      `${name}-targets`,
      {
        targetType: "ip",
        protocol: "HTTP",
        port: args.plan.mcpServer.port,
        vpcId: args.vpcId,
        deregistrationDelay: 30,
        healthCheck: { path: HEALTH_PATH, protocol: "HTTP", matcher: "200", interval: 15, healthyThreshold: 2, unhealthyThreshold: 3 },
        tags,
      },
      parent,
    );
    const listener = new Listener(
      `${name}-https`,
      {
        loadBalancerArn: loadBalancer.arn,
        port: HTTPS_PORT,
        protocol: "HTTPS",
        sslPolicy: SSL_POLICY,
        certificateArn: host.certificateArn,
        defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
        tags,
      },
      parent,
    );
    return { loadBalancer, targetGroup, listener };
  }
}
