/**
 * A Snowflake target read by an MCP server on ECS (its row of `ECS_TARGETS`,
 * components/aws-ecs/targets.ts). Snowflake is reached over HTTPS on the internet, so the target
 * opens nothing in the VPC (the service's HTTPS egress through NAT reaches it), and its network
 * policy admits only the service's egress addresses (the target's `network.allowedCidrs`). Per
 * login: a first key pair, its private key in a Secrets Manager secret (`client.secretName`) the
 * server reads with its task role, and the public key on the service user. The rotation job
 * (mcp-server/src/snowflake-rotator.ts, scheduled by ./rotationJob.ts) swaps keys after; the secret's value and the user's keys
 * ignore those changes.
 */
import * as pulumi from "@pulumi/pulumi";
import { Secret } from "@pulumi/aws/secretsmanager/secret.js";
import { SecretVersion } from "@pulumi/aws/secretsmanager/secretVersion.js";
import { snowflakeRoleName, workflowsOf, type AccessPlan, type DatabaseEndpoint } from "../../src/plan/types.ts";
import { keyRotationJobName, keyRotationRoleNamePrefix, plannedNames, type PlannedName } from "../../src/names/aws.ts";
import { loginSecretTags, resourceTags } from "../aws/tags.ts";
import type { McpService } from "../aws-ecs/mcpService.ts";
import type { AwsHost, EcsDeployment, EcsTargetAccess, EcsTargetComponents, EcsTargetDeployment } from "../aws-ecs/targetTypes.ts";
import { accessComponentOf } from "../targets.ts";
import type { SnowflakeTarget } from "./children.ts";
import { keySecretValue, newKeyPair } from "@dbwarden/contract";
import { snowflakePlanProblems } from "./preflight.ts";
import { adminSecretRef, rotationDaysOf, rotationJobConfig } from "./rotationJob.ts";
import { SnowflakeKeyRotationOnEcs } from "./rotationOnEcs.ts";

/** What a Snowflake target needs from an ECS host beyond its capabilities; every message names the field. */
export function checkSnowflakeOnEcs(target: SnowflakeTarget, host: AwsHost): SnowflakeTarget {
  if (host.egress !== "nat") {
    throw new Error(
      `targets.${target.name}: Snowflake is reached over the internet, and mcpServer.host.egress is "${host.egress}" (VPC endpoints only); route ` +
        `the private subnets out through NAT (egress: nat) and list the NAT gateways' public IPs in targets.${target.name}.network.allowedCidrs`,
    );
  }
  adminSecretRef(target, "aws");
  if (target.network.allowedCidrs.length === 0) {
    throw new Error(
      `targets.${target.name}.network.allowedCidrs: list the MCP service's egress addresses ` +
        `(its NAT gateways' public IPs); the service users' network policy admits only them`,
    );
  }
  return target;
}

/** The endpoint the server reads a Snowflake target through. */
export function snowflakeEndpoint(target: SnowflakeTarget): DatabaseEndpoint {
  return { snowflakeAccount: { account: target.platformSettings.account, warehouse: target.platformSettings.warehouse, database: target.database } };
}

/** Every AWS name a Snowflake target's components give: one secret per login, and the key-rotation job's (its task family, schedule and roles). */
export function snowflakePlannedNames(plan: AccessPlan, target: SnowflakeTarget): PlannedName[] {
  const names: PlannedName[] = [];
  const { explicit, prefixed } = plannedNames(names);
  const job = keyRotationJobName(plan.environment, target.name);
  const field = `targets.${target.name} (its name)`;
  explicit("aws:ecs/taskDefinition:TaskDefinition", `the key-rotation task of ${target.name}`, field, job);
  explicit("aws:scheduler/schedule:Schedule", `the key-rotation schedule of ${target.name}`, field, job);
  for (const role of ["exec", "task", "sched"] as const)
    prefixed(
      "aws:iam/role:Role",
      `the key-rotation job's ${role} role of ${target.name}`,
      field,
      keyRotationRoleNamePrefix(plan.environment, target.name, role),
    );
  for (const workflow of workflowsOf(plan, target.name)) {
    for (const client of workflow.clients) {
      explicit(
        "aws:secretsmanager/secret:Secret",
        `the key secret of client ${client.name}`,
        `workflows.${workflow.name}.clients.${client.name}`,
        client.secretName,
      );
    }
  }
  return names;
}

/** One Snowflake target under the ECS host's top-level component. */
class SnowflakeDeployment implements EcsTargetDeployment {
  readonly network = null;
  readonly logGroups = [];
  /** The logins' key secrets (createAccess), which the rotation job rotates. */
  private secretArns: Record<string, pulumi.Output<string>> = {};
  /** The service users and their first keys: the job starts after them. */
  private ready: pulumi.Resource[] = [];

  constructor(
    private readonly deployment: EcsDeployment,
    private readonly target: SnowflakeTarget,
  ) {}

  /** Snowflake's query history is its own log: no database resource on AWS. */
  createDatabase(): void {}

  /** A key pair and secret per login, then the roles, views, users and network policy. */
  createAccess(): EcsTargetAccess {
    const { target } = this;
    const { name, args, parent } = this.deployment;
    const plan = args.plan;
    const publicKeys: Record<string, string> = {};
    const secretArns: Record<string, pulumi.Output<string>> = {};
    const secrets: pulumi.Resource[] = [];
    for (const workflow of workflowsOf(plan, target.name)) {
      for (const login of workflow.roles.logins) {
        const keys = newKeyPair();
        publicKeys[login.role] = keys.publicKey;
        const secret = new Secret(
          `${name}-${target.name}-${login.role}-key`,
          {
            name: login.secretName,
            description:
              `dbwarden Snowflake key of ${snowflakeRoleName(login.role)} (workflow ${workflow.name}, client ` +
              `${login.client}); swapped by the rotation job every ${rotationDaysOf(target)} days`,
            recoveryWindowInDays: 7,
            tags: resourceTags(this.deployment.tags, loginSecretTags(plan.environment, workflow, login, target.name)),
          },
          { parent },
        );
        const version = new SecretVersion(
          `${name}-${target.name}-${login.role}-key-first`,
          { secretId: secret.id, secretString: pulumi.secret(keySecretValue(snowflakeRoleName(login.role), keys.privateKey, 1)) },
          { parent, ignoreChanges: ["secretString"] },
        );
        secretArns[login.role] = secret.arn;
        secrets.push(secret, version);
      }
    }
    this.secretArns = secretArns;
    const component = accessComponentOf(target);
    const access = component.create(`${name}-${target.name}`, component.argsFor(args, target, { publicKeys }), { parent, dependsOn: secrets });
    this.ready = [access, ...secrets];
    return {
      ready: this.ready,
      endpoint: pulumi.output(snowflakeEndpoint(target)),
      address: pulumi.output(`${target.platformSettings.account}.snowflakecomputing.com`),
      secretArns,
      connectArns: [],
      iamLogins: {},
    };
  }

  /** The key-rotation job: a task of the server's image on its cluster, started by EventBridge Scheduler every `rotationDays`. */
  createJobs(service: McpService): void {
    const { target } = this;
    const { name, plan, host, parent } = this.deployment;
    const adminSecret = adminSecretRef(target, "aws");
    const keySecrets = pulumi.all(this.secretArns);
    new SnowflakeKeyRotationOnEcs(
      `${name}-${target.name}-key-rotation`,
      {
        environment: plan.environment,
        target: target.name,
        region: host.region,
        vpcId: host.vpcId,
        subnetIds: host.subnetIds,
        clusterArn: service.clusterArn,
        image: service.imageUri,
        imageRepositoryArn: service.imageRepositoryArn,
        config: keySecrets.apply((arns) =>
          rotationJobConfig(plan, target, adminSecret, Object.fromEntries(Object.entries(arns).map(([role, arn]) => [role, { awsSecretArn: arn }]))),
        ),
        keySecretArns: Object.values(this.secretArns),
        adminSecretArn: (adminSecret as { awsSecretArn: string }).awsSecretArn,
        rotationDays: rotationDaysOf(target),
        logRetentionDays: target.logging.retentionDays,
        tags: this.deployment.tags,
      },
      { parent, dependsOn: this.ready },
    );
  }
}

/** Snowflake on an ECS host. */
export const SNOWFLAKE_ON_ECS: EcsTargetComponents<"snowflake"> = {
  check: checkSnowflakeOnEcs,
  plannedNames: snowflakePlannedNames,
  preflight: {
    planProblems: snowflakePlanProblems,
    lookUp: async () => ({ report: () => ({ problems: [], warnings: [] }) }),
  },
  deploy: (deployment, target) => new SnowflakeDeployment(deployment, target),
};
