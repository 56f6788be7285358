/**
 * `dbwarden:aws:McpService`: the MCP server on ECS Fargate, the only path agents use.
 * - its image (McpImage): built from `mcp-server/` into the stack's ECR repository, or the spec's
 *   URI; the execution role may pull exactly that repository;
 * - behind an Application Load Balancer: HTTPS only (TLS 1.2+ policy, the plan's certificate),
 *   reachable only from the plan's CIDRs (NetworkBoundary), internal when they are all private;
 *   the load balancer and target group are named by a short prefix (AWS allows 32 characters);
 * - tasks in private subnets, no public IP, read-only root filesystem (a small tmpfs-like
 *   volume at /tmp), non-root user, all Linux capabilities dropped, a container health check;
 * - configuration: the access plan (`DBWARDEN_PLAN`) and the runtime config (`DBWARDEN_RUNTIME`:
 *   endpoints and secret ARNs, never secrets) in plain env while the task definition fits 64 KiB,
 *   else as S3 objects (see planDelivery.ts); the server reads the API key hashes itself from the
 *   `mcp-api-keys` secret (`apiKeysFrom`) at start and every minute, so revoking a key needs no
 *   redeploy; the secret gets a first value (`[]`) that later changes never overwrite; database
 *   passwords are fetched at connect time, so a rotation needs no redeploy;
 * - the service starts only after what it reads at start exists (roles and grants, credentials,
 *   secret values, the plan object, the VPC endpoints, the limits store), and `up` waits for it
 *   to be steady (`waitForSteadyState`): a crash-looping first deployment fails the `up`;
 * - the task role can read only its own login secrets, the API key secret, the limits store's
 *   token and the plan object (and `rds-db:connect` exactly its IAM users); the execution role
 *   only writes the audit log group and pulls the image.
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
import { SecretVersion } from "@pulumi/aws/secretsmanager/secretVersion.js";
import {
  CERTIFICATE_AUTHORITIES,
  buildRuntimeConfig,
  type CertificateAuthorityName,
  type AccessPlan,
  type DatabaseEndpoint,
  type HostOf,
  type LimitsStoreConfig,
  type LoginSource,
  type RuntimeConfig,
} from "../../src/plan/types.ts";
import { INITIAL_VERSION_STAGE } from "../aws/secrets.ts";
import { McpImage } from "./image.ts";
import { limitsStoreConfig } from "./limitsStore.ts";
import { LOAD_BALANCER_NAME_PREFIX, apiKeysSecretName, ecsNames, limitsStoreSecretName, serviceRoleNamePrefix } from "../../src/names/aws.ts";
import { HTTPS_PORT, isPrivateOnly } from "./network.ts";
import {
  ConfigObjects,
  type ConfigObject,
  MAX_TASK_DEFINITION_BYTES,
  TASK_DEFINITION_OTHER_FIELDS_BYTES,
  chooseDelivery,
  objectKey,
  planEnvironment,
  runtimeEnvironment,
  type Delivery,
} from "./planDelivery.ts";
import { ENVIRONMENT_TAG, resourceTags } from "../aws/tags.ts";

/** Name of the server's container in the task (the load balancer forwards to it). */
export const CONTAINER_NAME = "mcp-server";
/** Path the server answers health checks on (load balancer and container). */
export const HEALTH_PATH = "/healthz";
/** Non-root uid:gid the server runs as. */
export const CONTAINER_USER = "10001:10001";
/** TLS 1.3 with 1.2 fallback, no weak ciphers. */
export const SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/** How often the server re-reads the API key secret: the longest a revoked key keeps working. */
export const API_KEY_REFRESH_SECONDS = 60;
/** The MCP endpoint's path on the server (Streamable HTTP). */
export const MCP_PATH = "/mcp";
/** The API key secret's first value: no key. `dbwarden keys issue` adds them. */
export const INITIAL_API_KEYS = "[]";

/**
 * The server's runtime config on ECS, through the one `buildRuntimeConfig`: listen on all
 * interfaces of the task (the load balancer reaches it), accept the plan's hostnames plus loopback
 * (container health check) as Host headers, refuse browser origins, one endpoint per target as its
 * platform gives it (RDS: the replica, `verify-full` against Amazon RDS's CAs), a secret ARN per password login or
 * `awsRdsIam` (the server generates a token at connect time) per IAM login, the shared limits
 * store when there is one, audit to stdout (shipped to the audit log group). API key hashes are
 * NOT here: the server reads them from the API key secret (`apiKeysFrom`), refreshed every
 * `API_KEY_REFRESH_SECONDS`.
 */
export function runtimeConfig(args: {
  /** The access plan the server is given (port, hostnames, workflows). */
  plan: AccessPlan;
  /** The endpoint per target, as its platform gives it (RDS: `rdsEndpoint`). */
  databases: Record<string, DatabaseEndpoint>;
  /** Secret ARN by login role, for logins with password credentials. */
  loginSecretArns: Record<string, string>;
  /** Region by login role, for logins using RDS IAM database authentication. */
  iamLogins?: Record<string, string>;
  /** The secret holding the API key hashes (`[{client, workflow, sha256}]`). */
  apiKeysSecretArn: string;
  /** CIDRs of the load balancer's subnets: only it is believed about X-Forwarded-For (client `sourceCidrs`). */
  trustedProxies?: string[];
  /** The store the server's replicas share for per-client limits. */
  limitsStore?: LimitsStoreConfig;
}): RuntimeConfig {
  const port = args.plan.mcpServer.port;
  const logins: Record<string, LoginSource> = {};
  const iamLogins = args.iamLogins ?? {};
  for (const login of [...Object.keys(args.loginSecretArns), ...Object.keys(iamLogins)]) {
    if (args.loginSecretArns[login] !== undefined && iamLogins[login] !== undefined)
      throw new Error(`runtime config: login "${login}" has both a password secret and IAM authentication`);
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
      apiKeys: { from: { awsSecretArn: args.apiKeysSecretArn }, refreshSeconds: API_KEY_REFRESH_SECONDS },
      ...(args.limitsStore ? { limitsStore: args.limitsStore } : {}),
      audit: { stream: "stdout" },
    });
  } catch (error) {
    throw new Error(`runtime config: ${(error as Error).message}`, { cause: error });
  }
}

/** The container definition list (JSON) of the task. */
export function containerDefinitions(args: {
  /** The server's container image. */
  image: string;
  /** Port the server listens on (plan `mcpServer.port`). */
  port: number;
  /** The access plan as JSON, in env (`DBWARDEN_PLAN`) unless `configEnvironment` is given. */
  planJson?: string;
  /** The runtime config as JSON, in env (`DBWARDEN_RUNTIME`) unless `configEnvironment` is given. */
  runtimeJson?: string;
  /** How the plan and runtime config reach the server, as environment variables (planDelivery.ts). */
  configEnvironment?: { name: string; value: string }[];
  /** The audit log group the container's stdout is shipped to. */
  logGroupName: string;
  /** Region of the log group. */
  region: string;
}): string {
  const healthUrl = `http://127.0.0.1:${args.port}${HEALTH_PATH}`;
  const config = args.configEnvironment ?? [...planEnvironment(args.planJson ?? "{}"), ...runtimeEnvironment(args.runtimeJson ?? "{}")];
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
      environment: [...config, { name: "NODE_ENV", value: "production" }],
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

/** Throws when container definitions would make the task definition larger than ECS allows. */
export function checkTaskDefinitionSize(containerJson: string, what: string): void {
  const bytes = Buffer.byteLength(containerJson) + TASK_DEFINITION_OTHER_FIELDS_BYTES;
  if (bytes > MAX_TASK_DEFINITION_BYTES) {
    throw new Error(
      `${what}: the task definition would be ${bytes} bytes, over ECS's ${MAX_TASK_DEFINITION_BYTES}; ` +
        `this is a dbwarden bug (the plan and runtime config should have gone to S3), please report it`,
    );
  }
}

/** What the task role may read besides its login secrets and the API key secret. */
export interface TaskRoleExtras {
  /** The limits store's AUTH token secret. */
  limitsStoreSecretArn?: string;
  /** The plan and runtime config objects (S3 delivery): exactly those objects. */
  configObjectArns?: string[];
}

/**
 * Task role: read exactly its own login secrets, the API key secret, the limits store token and its config objects; connect as exactly its IAM
 * database users.
 */
export function taskRolePolicy(secretArns: readonly string[], connectArns: readonly string[], apiKeysSecretArn: string, extras: TaskRoleExtras = {}): string {
  const statements: object[] = [];
  if (secretArns.length > 0)
    statements.push({
      Sid: "ReadOwnLoginSecrets",
      Effect: "Allow",
      Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
      Resource: [...secretArns].sort(),
    });
  statements.push({ Sid: "ReadApiKeyHashes", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [apiKeysSecretArn] });
  if (extras.limitsStoreSecretArn)
    statements.push({ Sid: "ReadLimitsStoreToken", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [extras.limitsStoreSecretArn] });
  if (extras.configObjectArns && extras.configObjectArns.length > 0)
    statements.push({ Sid: "ReadConfigObjects", Effect: "Allow", Action: ["s3:GetObject"], Resource: [...extras.configObjectArns].sort() });
  if (connectArns.length > 0)
    statements.push({ Sid: "ConnectAsOwnDatabaseUsers", Effect: "Allow", Action: ["rds-db:connect"], Resource: [...connectArns].sort() });
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/**
 * Execution role: write the audit log group; pull the image from its ECR repository when it is in
 * ECR (`ecr:GetAuthorizationToken` has no resource: `*`). No secret is injected into the task's env.
 */
export function executionRolePolicy(logGroupArn: string, imageRepositoryArn: string | null = null): string {
  const statements: object[] = [
    { Sid: "WriteAuditLog", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${logGroupArn.replace(/:\*$/, "")}:*`] },
  ];
  if (imageRepositoryArn) {
    statements.push(
      {
        Sid: "PullImage",
        Effect: "Allow",
        Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        Resource: [imageRepositoryArn],
      },
      { Sid: "RegistryLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
    );
  }
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

const ECS_TASKS_TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

/** The shared limits store (LimitsStore), when the plan runs more than one replica. */
export interface ServiceLimitsStore {
  /** Address of its primary node. */
  host: pulumi.Input<string>;
  /** Its port. */
  port: number;
  /** The secret holding its AUTH token. */
  authSecretArn: pulumi.Input<string>;
}

export interface McpServiceArgs {
  /** The access plan (given to the server; also gives port, size, hostnames, image). */
  plan: AccessPlan;
  /** Region of the service. */
  region: string;
  /** The endpoint the server connects to, per target, as its platform gives it (RDS: the replica, `rdsEndpoint`). */
  databases: Record<string, pulumi.Input<DatabaseEndpoint>>;
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
  /** The shared limits store, when the plan runs more than one replica. */
  limitsStore?: ServiceLimitsStore;
  /**
   * What must exist before the first task starts: the roles and grants it logs in with, the
   * credentials it reads, the VPC endpoints it pulls and reads through, the limits store.
   */
  startAfter?: pulumi.Input<pulumi.Resource>[];
  /** The environment's shared tags (`sharedTags`), on each taggable resource under its own; GovernedAccess gives them. */
  tags?: Record<string, string>;
}

/** The MCP service's IAM roles: the execution role (pull, write the audit log) and the task role (its own secrets). */
interface ServiceRoles {
  executionRole: Role;
  taskRole: Role;
  /** The roles' policies: the service waits for them, so tasks start able to pull and read. */
  policies: RolePolicy[];
}

/** The load balancer in front of the service, its target group and HTTPS listener. */
interface ServiceLoadBalancer {
  loadBalancer: LoadBalancer;
  targetGroup: TargetGroup;
  listener: Listener;
}

/** The API key secret and its first value. */
interface ApiKeySecret {
  secret: Secret;
  initial: SecretVersion;
}

/**
 * Checks the MCP service's arguments before any resource exists; returns its ECS host and whether
 * the load balancer is internal (every allowed CIDR private).
 */
export function checkMcpServiceArgs(name: string, args: McpServiceArgs): { host: HostOf<"aws-ecs">; internal: boolean } {
  const server = args.plan.mcpServer;
  const host = server.host;
  if (host.platform !== "aws-ecs") throw new Error(`${name}: mcpServer.host.platform must be aws-ecs, got "${host.platform}"`);
  if (!server.image) throw new Error(`${name}: mcpServer.image is required: an image URI, or { build: true } to build mcp-server/ into the stack's registry`);
  if (!host.certificateArn.startsWith("arn:aws:acm:")) {
    throw new Error(`${name}: mcpServer.host.certificateArn must be an ACM certificate ARN: the load balancer serves HTTPS only`);
  }
  if (args.subnetIds.length < 2) throw new Error(`${name}: subnetIds needs private subnets in at least two availability zones`);
  const internal = isPrivateOnly(server.allowedCidrs);
  if (!internal && !(args.publicSubnetIds && args.publicSubnetIds.length >= 2)) {
    throw new Error(
      `${name}: mcpServer.allowedCidrs includes public networks, so the load balancer must be internet-facing: pass publicSubnetIds (two or more)`,
    );
  }
  return { host, internal };
}

/** The MCP URL of a host name: `https://<host>/mcp`. */
export function mcpUrlOf(host: string): string {
  return `https://${host}${MCP_PATH}`;
}

/** Longest host name DNS allows: what the size bound assumes for an address not known yet. */
const LONGEST_HOST = "h".repeat(253);
/** The longest name an endpoint's `ca` can give. */
const LONGEST_CERTIFICATE_AUTHORITY = (Object.keys(CERTIFICATE_AUTHORITIES) as CertificateAuthorityName[]).reduce((a, b) => (b.length > a.length ? b : a));

/**
 * The runtime config at its longest for these arguments (addresses not known yet at their longest,
 * ARNs at their real length in the longest partition), as JSON: what the plan delivery is decided on.
 */
export function runtimeJsonBound(args: McpServiceArgs, loadBalancerSubnets: number): string {
  const arn = (name: string) => `arn:aws-us-gov:secretsmanager:${args.region}:000000000000:secret:${name}-XXXXXX`;
  const secretNames = new Map(args.plan.workflows.flatMap((w) => w.clients.map((c) => [c.loginRole, c.secretName] as const)));
  const databaseOf = new Map(args.plan.targets.map((t) => [t.name, t.database]));
  return JSON.stringify(
    runtimeConfig({
      plan: args.plan,
      databases: Object.fromEntries(
        Object.keys(args.databases).map((t) => [
          t,
          { host: LONGEST_HOST, port: 65535, database: databaseOf.get(t) ?? t, sslmode: "verify-full", ca: LONGEST_CERTIFICATE_AUTHORITY },
        ]),
      ),
      loginSecretArns: Object.fromEntries(Object.keys(args.loginSecretArns).map((role) => [role, arn(secretNames.get(role) ?? role)])),
      ...(args.iamLogins ? { iamLogins: args.iamLogins } : {}),
      apiKeysSecretArn: arn(apiKeysSecretName(args.plan.environment)),
      // The longest CIDR text (18 characters), distinct per subnet.
      trustedProxies: Array.from({ length: loadBalancerSubnets }, (_, i) => `${100 + (i % 156)}.${100 + Math.floor(i / 156)}.255.255/32`),
      ...(args.limitsStore
        ? {
            limitsStore: limitsStoreConfig(
              { host: LONGEST_HOST, port: 65535, authSecretArn: arn(limitsStoreSecretName(args.plan.environment)) },
              args.plan.environment,
            ),
          }
        : {}),
    }),
  );
}

/** An image URI at its longest for the plan: an ECR digest reference, or the spec's URI. */
export function imageUriBound(plan: AccessPlan, region: string): string {
  const image = plan.mcpServer.image;
  if (image?.source === "registry") return image.uri;
  return `000000000000.dkr.ecr.${region}.amazonaws.com.cn/dbwarden/${plan.environment}/mcp-server@sha256:${"0".repeat(64)}`;
}

/** The bucket an S3 delivery's size bound assumes: the longest bucket name. */
const LONGEST_BUCKET = "b".repeat(63);

/**
 * Where the plan and the runtime config go, decided from the container definitions' size with the
 * runtime config at its longest (see planDelivery.ts).
 */
export function deliveryFor(args: McpServiceArgs, planJson: string, loadBalancerSubnets: number): Delivery {
  const runtimeBound = runtimeJsonBound(args, loadBalancerSubnets);
  const measure = (config: { name: string; value: string }[]) =>
    Buffer.byteLength(
      containerDefinitions({
        image: imageUriBound(args.plan, args.region),
        port: args.plan.mcpServer.port,
        configEnvironment: config,
        logGroupName: "x".repeat(512),
        region: args.region,
      }),
    );
  const planInS3 = planEnvironment(planJson, { bucket: LONGEST_BUCKET, key: objectKey("plan", args.plan.environment, planJson) });
  return chooseDelivery({
    bothInEnvironment: measure([...planEnvironment(planJson), ...runtimeEnvironment(runtimeBound)]),
    runtimeInEnvironment: measure([...planInS3, ...runtimeEnvironment(runtimeBound)]),
  });
}

/** What the task reads its configuration from: the documents, and their objects when they go to S3. */
interface ServiceConfig {
  planJson: string;
  runtimeJson: pulumi.Output<string>;
  delivery: Delivery;
  objects: ConfigObjects | null;
}

export class McpService extends pulumi.ComponentResource {
  /** Where agents connect: `https://<first hostname>/mcp` (or the load balancer's DNS name). */
  public readonly url: pulumi.Output<string>;
  /** The load balancer's DNS name (point the plan's hostnames at it). */
  public readonly loadBalancerDnsName: pulumi.Output<string>;
  /** Secret holding the API key hashes (`[{client, workflow, sha256}]`), written by `dbwarden keys`. */
  public readonly apiKeysSecretArn: pulumi.Output<string>;
  /** The task role: reads its own login secrets and the API key secret, connects as its IAM users. */
  public readonly taskRoleArn: pulumi.Output<string>;
  /** Where the plan and the runtime config reach the server (environment or S3). */
  public readonly delivery: Delivery;
  /** The image the tasks run. */
  public readonly imageUri: pulumi.Output<string>;
  /** Its ECR repository when the stack built it (null: the spec's image, pulled from its registry). */
  public readonly imageRepositoryArn: pulumi.Output<string | null>;
  /** The service's cluster (its targets' jobs run there too: Snowflake's key rotation). */
  public readonly clusterArn: pulumi.Output<string>;

  constructor(name: string, args: McpServiceArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:aws:McpService", name, {}, opts);
    const { host, internal } = checkMcpServiceArgs(name, args);
    const server = args.plan.mcpServer;
    const environment = args.plan.environment;
    const tags = resourceTags(args.tags, { [ENVIRONMENT_TAG]: environment });
    const parent = { parent: this };

    const image = new McpImage(`${name}-image`, { image: server.image!, environment, tags: args.tags }, parent);
    const apiKeys = this.apiKeySecret(name, environment, tags);
    const names = ecsNames(environment);
    const cluster = new Cluster(`${name}-cluster`, { name: names.cluster, settings: [{ name: "containerInsights", value: "enabled" }], tags }, parent);
    // The load balancer's nodes live in its subnets: their CIDRs are the proxies whose
    // X-Forwarded-For the server believes when it checks a client's sourceCidrs.
    const loadBalancerSubnets = internal ? args.subnetIds : args.publicSubnetIds!;
    const config = this.serviceConfig(name, args, apiKeys.secret, loadBalancerSubnets);
    const roles = this.roles(name, args, apiKeys.secret, image, config.objects, tags);
    const taskDefinition = this.taskDefinition(name, args, host, roles, image, config, tags);
    const front = this.loadBalancer(name, args, host, internal, loadBalancerSubnets, tags);
    const configObjects = [config.objects?.plan?.object, config.objects?.runtime?.object].filter((o) => o !== undefined);
    new Service(
      `${name}-service`,
      {
        name: names.service,
        cluster: cluster.arn,
        taskDefinition: taskDefinition.arn,
        desiredCount: server.replicas,
        launchType: "FARGATE",
        platformVersion: "LATEST",
        networkConfiguration: { subnets: args.subnetIds, securityGroups: [args.serviceSecurityGroupId], assignPublicIp: false },
        loadBalancers: [{ targetGroupArn: front.targetGroup.arn, containerName: CONTAINER_NAME, containerPort: server.port }],
        healthCheckGracePeriodSeconds: 60,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        waitForSteadyState: true,
        enableExecuteCommand: false,
        propagateTags: "SERVICE",
        tags,
      },
      {
        parent: this,
        dependsOn: [front.listener, ...roles.policies, apiKeys.initial, ...(image.built ? [image.built] : []), ...configObjects, ...(args.startAfter ?? [])],
      },
    );

    this.loadBalancerDnsName = front.loadBalancer.dnsName;
    this.url = server.hostnames[0] ? pulumi.output(mcpUrlOf(server.hostnames[0])) : front.loadBalancer.dnsName.apply(mcpUrlOf);
    this.apiKeysSecretArn = apiKeys.secret.arn;
    this.taskRoleArn = roles.taskRole.arn;
    this.delivery = config.delivery;
    this.imageUri = image.imageUri;
    this.imageRepositoryArn = image.repositoryArn;
    this.clusterArn = cluster.arn;
    this.registerOutputs({ url: this.url, loadBalancerDnsName: this.loadBalancerDnsName, apiKeysSecretArn: this.apiKeysSecretArn, imageUri: this.imageUri });
  }

  /**
   * The API key secret and its first value `[]` (no key yet): the server refuses to start on a
   * secret without a value. Operators' keys (`dbwarden keys issue`) are later versions; the first
   * one keeps its own label and its stages are never set again (see INITIAL_VERSION_STAGE), so
   * neither a refresh nor a second `up` puts `[]` back as the current value.
   */
  private apiKeySecret(name: string, environment: string, tags: Record<string, string>): ApiKeySecret {
    const secret = new Secret(
      `${name}-api-keys`,
      {
        name: apiKeysSecretName(environment),
        description: "dbwarden MCP API key hashes: JSON [{client, workflow, sha256}] (dbwarden keys issue/revoke)",
        recoveryWindowInDays: 7,
        tags,
      },
      { parent: this },
    );
    const initial = new SecretVersion(
      `${name}-api-keys-initial`,
      { secretId: secret.id, secretString: INITIAL_API_KEYS, versionStages: ["AWSCURRENT", INITIAL_VERSION_STAGE] },
      { parent: this, ignoreChanges: ["secretString", "versionStages"] },
    );
    return { secret, initial };
  }

  /** The runtime config (known once ARNs and addresses are), where it and the plan go, and their bucket when they go to S3. */
  private serviceConfig(name: string, args: McpServiceArgs, apiKeys: Secret, loadBalancerSubnets: string[]): ServiceConfig {
    const trustedProxies = pulumi.all(loadBalancerSubnets.map((id) => getSubnetOutput({ id }, { parent: this }).cidrBlock));
    const limitsStore = args.limitsStore ? pulumi.all([args.limitsStore.host, args.limitsStore.authSecretArn]) : pulumi.output(undefined);
    const runtimeJson = pulumi
      .all([pulumi.all(args.databases), pulumi.all(args.loginSecretArns), apiKeys.arn, trustedProxies, limitsStore])
      .apply(([databases, logins, apiKeysSecretArn, proxies, store]) =>
        JSON.stringify(
          runtimeConfig({
            plan: args.plan,
            databases,
            loginSecretArns: logins,
            ...(args.iamLogins ? { iamLogins: args.iamLogins } : {}),
            apiKeysSecretArn,
            trustedProxies: proxies,
            ...(store
              ? { limitsStore: limitsStoreConfig({ host: store[0], port: args.limitsStore!.port, authSecretArn: store[1] }, args.plan.environment) }
              : {}),
          }),
        ),
      );
    const planJson = JSON.stringify(args.plan);
    const delivery = deliveryFor(args, planJson, loadBalancerSubnets.length);
    const objects =
      delivery.plan === "s3" || delivery.runtime === "s3"
        ? new ConfigObjects(
            `${name}-config`,
            {
              environment: args.plan.environment,
              ...(delivery.plan === "s3" ? { planJson } : {}),
              ...(delivery.runtime === "s3" ? { runtimeJson } : {}),
              tags: args.tags,
            },
            { parent: this },
          )
        : null;
    return { planJson, runtimeJson, delivery, objects };
  }

  /** The execution role (writes the audit log, pulls the image) and the task role (its own secrets and IAM users only). */
  private roles(
    name: string,
    args: McpServiceArgs,
    apiKeys: Secret,
    image: McpImage,
    objects: ConfigObjects | null,
    tags: Record<string, string>,
  ): ServiceRoles {
    const parent = { parent: this };
    /** A role ECS tasks assume, with its one inline policy. */
    const serviceRole = (suffix: "execution" | "task", prefix: "exec" | "task", description: string, policy: pulumi.Input<string>) => {
      const namePrefix = serviceRoleNamePrefix(args.plan.environment, prefix);
      const role = new Role(`${name}-${suffix}`, { namePrefix, assumeRolePolicy: ECS_TASKS_TRUST, description, tags }, parent);
      return { role, policy: new RolePolicy(`${name}-${suffix}`, { role: role.id, policy }, parent) };
    };
    const execution = serviceRole(
      "execution",
      "exec",
      "dbwarden MCP: pull the image, write the audit log",
      pulumi.all([args.auditLogGroup.arn, image.repositoryArn]).apply(([log, repository]) => executionRolePolicy(log, repository)),
    );
    const objectArns = pulumi.all([objects?.plan?.arn, objects?.runtime?.arn]).apply((arns) => arns.filter((a): a is string => a !== undefined));
    const task = serviceRole(
      "task",
      "task",
      "dbwarden MCP server: its own login secrets, API key hashes, limits store token and config only",
      pulumi
        .all([pulumi.all(args.loginSecretArns), pulumi.all(args.connectArns), apiKeys.arn, args.limitsStore?.authSecretArn, objectArns])
        .apply(([secrets, connects, keys, limitsStoreSecretArn, configObjectArns]) =>
          taskRolePolicy(Object.values(secrets), connects, keys, { ...(limitsStoreSecretArn ? { limitsStoreSecretArn } : {}), configObjectArns }),
        ),
    );
    return { executionRole: execution.role, taskRole: task.role, policies: [execution.policy, task.policy] };
  }

  /** The Fargate task: the server's container with its plan and runtime config in env, or named there by their S3 objects. */
  private taskDefinition(
    name: string,
    args: McpServiceArgs,
    host: HostOf<"aws-ecs">,
    roles: ServiceRoles,
    image: McpImage,
    config: ServiceConfig,
    tags: Record<string, string>,
  ): TaskDefinition {
    const server = args.plan.mcpServer;
    const objects = config.objects;
    const location = (object: ConfigObject | null | undefined) =>
      object && objects ? pulumi.all([objects.bucket, object.key]).apply(([bucket, key]) => ({ bucket, key })) : pulumi.output(undefined);
    const configEnvironment = pulumi
      .all([config.runtimeJson, location(objects?.plan), location(objects?.runtime)])
      .apply(([runtime, planObject, runtimeObject]) => [...planEnvironment(config.planJson, planObject), ...runtimeEnvironment(runtime, runtimeObject)]);
    return new TaskDefinition(
      `${name}-task`,
      {
        family: ecsNames(args.plan.environment).family,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: String(host.cpu),
        memory: String(host.memory),
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
        executionRoleArn: roles.executionRole.arn,
        taskRoleArn: roles.taskRole.arn,
        volumes: [{ name: "tmp" }],
        containerDefinitions: pulumi.all([configEnvironment, args.auditLogGroup.name, image.imageUri]).apply(([environment, logGroup, uri]) => {
          const json = containerDefinitions({ image: uri, port: server.port, configEnvironment: environment, logGroupName: logGroup, region: args.region });
          checkTaskDefinitionSize(json, `${name}: mcpServer`);
          return json;
        }),
        tags,
      },
      { parent: this },
    );
  }

  /** The application load balancer (HTTPS only, internal when every allowed CIDR is private), its target group and listener. */
  private loadBalancer(
    name: string,
    args: McpServiceArgs,
    host: HostOf<"aws-ecs">,
    internal: boolean,
    subnets: string[],
    tags: Record<string, string>,
  ): ServiceLoadBalancer {
    const parent = { parent: this };
    // Named by a prefix: AWS allows 32 characters, and a replacement gets a fresh name.
    const loadBalancer = new LoadBalancer(
      `${name}-lb`,
      {
        namePrefix: LOAD_BALANCER_NAME_PREFIX,
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
        namePrefix: LOAD_BALANCER_NAME_PREFIX,
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
