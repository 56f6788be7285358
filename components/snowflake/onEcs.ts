/**
 * A Snowflake target read by an MCP server on ECS (its row of `ECS_TARGETS`,
 * components/aws-ecs/targets.ts). Snowflake is reached over HTTPS on the internet, so the target
 * opens nothing in the VPC (the service's HTTPS egress through NAT reaches it), and its network
 * policy admits only the service's egress addresses (the target's `network.allowedCidrs`). Per
 * login: a first key pair, its private key in a Secrets Manager secret (`client.secretName`) the
 * server reads with its task role, and the public key on the service user. The rotation job
 * (components/snowflake/rotation.ts) swaps keys after; the secret's value and the user's keys
 * ignore those changes.
 */
import * as pulumi from "@pulumi/pulumi";
import { Secret } from "@pulumi/aws/secretsmanager/secret.js";
import { SecretVersion } from "@pulumi/aws/secretsmanager/secretVersion.js";
import { snowflakeRoleName, workflowsOf, type AccessPlan, type DatabaseEndpoint } from "../../src/plan/types.ts";
import { plannedNames, type PlannedName } from "../../src/names/aws.ts";
import { loginSecretTags, resourceTags } from "../aws/tags.ts";
import type { AwsHost, EcsDeployment, EcsTargetAccess, EcsTargetComponents, EcsTargetDeployment } from "../aws-ecs/targetTypes.ts";
import { accessComponentOf } from "../targets.ts";
import type { SnowflakeTarget } from "./children.ts";
import { keySecretValue, newKeyPair } from "./keys.ts";
import { snowflakePlanProblems } from "./preflight.ts";

/** What a Snowflake target needs from an ECS host beyond its capabilities; every message names the field. */
export function checkSnowflakeOnEcs(target: SnowflakeTarget, host: AwsHost): SnowflakeTarget {
  if (host.egress !== "nat") {
    throw new Error(
      `targets.${target.name}: Snowflake is reached over the internet, and mcpServer.host.egress is "${host.egress}" (VPC endpoints only); route ` +
        `the private subnets out through NAT (egress: nat) and list the NAT gateways' public IPs in targets.${target.name}.network.allowedCidrs`,
    );
  }
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

/** Every AWS name a Snowflake target's components give: one secret per login. */
export function snowflakePlannedNames(plan: AccessPlan, target: SnowflakeTarget): PlannedName[] {
  const names: PlannedName[] = [];
  const { explicit } = plannedNames(names);
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
              `${login.client}); swapped by the rotation job every ${target.credentials.rotationDays ?? 90} days`,
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
    const component = accessComponentOf(target);
    const access = component.create(`${name}-${target.name}`, component.argsFor(args, target, { publicKeys }), { parent, dependsOn: secrets });
    return {
      ready: [access, ...secrets],
      endpoint: pulumi.output(snowflakeEndpoint(target)),
      address: pulumi.output(`${target.platformSettings.account}.snowflakecomputing.com`),
      secretArns,
      connectArns: [],
      iamLogins: {},
    };
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
