/**
 * `dbwarden:aws:ClientCredentials`: one credential per client login of a target.
 * - `iam`: no password at all; the MCP task role gets `rds-db:connect` for exactly that database
 *   user (see `rdsDbConnectArn`), and the login is a member of `rds_iam`.
 * - `password`: a Secrets Manager secret in the shape AWS's rotation functions read
 *   (`engine, host, port, username, password, dbname, masterarn`), its first value written through
 *   the write-only `secretStringWo` (the initial password itself is held in state by its
 *   `RandomPassword`, encrypted, so it does not change between runs), rotated on the plan's
 *   schedule by AWS's maintained PostgreSQL MULTI-USER rotation function from the Serverless
 *   Application Repository, at a pinned version. Multi-user rotation alternates between
 *   `<login>` and `<login>_clone`; both are created by the Postgres component as members of the
 *   workflow's NOLOGIN group, which holds every privilege. The secret's host is the PRIMARY: the
 *   rotation function changes passwords there; the MCP server reads the replica's address from its
 *   runtime config and only the username/password from the secret.
 */
import * as pulumi from "@pulumi/pulumi";
import { RandomPassword } from "@pulumi/random/randomPassword.js";
import { Secret } from "@pulumi/aws/secretsmanager/secret.js";
import { SecretRotation } from "@pulumi/aws/secretsmanager/secretRotation.js";
import { SecretVersion } from "@pulumi/aws/secretsmanager/secretVersion.js";
import { CloudFormationStack } from "@pulumi/aws/serverlessrepository/cloudFormationStack.js";
import { workflowsOf } from "../../src/plan/index.ts";
import type { AccessPlan, TargetPlan } from "../../src/plan/types.ts";
import { rotationFunctionName, rotationStackName } from "../../src/names/aws.ts";
import { INITIAL_VERSION_IGNORE_CHANGES, INITIAL_VERSION_STAGE } from "../aws/secrets.ts";
import { loginSecretTags, resourceTags } from "../aws/tags.ts";

/** AWS's maintained multi-user (alternating) rotation function for RDS PostgreSQL. */
export const POSTGRES_MULTI_USER_ROTATION_APP = "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationMultiUser";
/**
 * The rotation application's version, pinned so an `up` never changes the function by itself: the
 * `aws` partition version aws-cdk pins for it (aws-cdk-lib/aws-secretsmanager/lib/secret-rotation.ts,
 * POSTGRES_ROTATION_MULTI_USER). Raise it deliberately, after reading the application's changes.
 */
export const POSTGRES_MULTI_USER_ROTATION_VERSION = "1.1.671";

/** Characters left out of generated passwords: they break connection strings and shells. */
export const PASSWORD_EXCLUDED_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\";
/** Special characters generated passwords use (none of the excluded ones). */
export const PASSWORD_SPECIAL_CHARACTERS = "-_=.";

/** `arn:aws:rds-db:<region>:<account>:dbuser:<DbiResourceId>/<user>`: connect as exactly one user. */
export function rdsDbConnectArn(region: string, accountId: string, resourceId: string, dbUser: string): string {
  if (!/^\d{12}$/.test(accountId)) throw new Error(`rds-db:connect: account id "${accountId}" is not 12 digits`);
  if (!resourceId.startsWith("db-")) throw new Error(`rds-db:connect: "${resourceId}" is not a DbiResourceId (db-...)`);
  if (dbUser.includes("*") || dbUser.length === 0) throw new Error(`rds-db:connect: database user "${dbUser}" must be one exact user`);
  return `arn:aws:rds-db:${region}:${accountId}:dbuser:${resourceId}/${dbUser}`;
}

/** Account id from any ARN (`arn:aws:<service>:<region>:<account>:...`). */
export function accountOfArn(arn: string): string {
  const account = arn.split(":")[4] ?? "";
  if (!/^\d{12}$/.test(account)) throw new Error(`no account id in ARN "${arn}"`);
  return account;
}

/** The secret value AWS's PostgreSQL rotation functions expect. */
export function rotationSecretValue(value: { host: string; port: number; username: string; password: string; dbname: string; masterarn: string }): string {
  return JSON.stringify({
    engine: "postgres",
    host: value.host,
    port: value.port,
    username: value.username,
    password: value.password,
    dbname: value.dbname,
    masterarn: value.masterarn,
  });
}

/** One client login of a target, with its secret name, as planned. */
export interface TargetLogin {
  /** The workflow whose group the login is a member of. */
  workflow: string;
  /** The team owning that workflow (the secret's `dbwarden:owner`). */
  owner: string;
  /** The workflow's last day, or null (the secret's `dbwarden:expires`). */
  expires: string | null;
  /** The client (agent) the login is for. */
  client: string;
  /** The login role's name in the database. */
  role: string;
  /** Name of its secret in Secrets Manager (password credentials). */
  secretName: string;
}

/** The logins of a target with their secret names, as planned. */
export function targetLogins(plan: AccessPlan, target: string): TargetLogin[] {
  return workflowsOf(plan, target).flatMap((w) =>
    w.roles.logins.map((l) => ({ workflow: w.name, owner: w.owner, expires: w.expires, client: l.client, role: l.role, secretName: l.secretName })),
  );
}

/**
 * An initial password for a login: a `RandomPassword` generated once and held in state (encrypted),
 * so a second `up` sees the same value and changes nothing (an invoke would roll a new one on every
 * run). It is written to the role and to the secret through write-only inputs; rotations replace it.
 */
export function initialPassword(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
  const generated = new RandomPassword(
    name,
    { length: 40, special: true, overrideSpecial: PASSWORD_SPECIAL_CHARACTERS, minLower: 1, minUpper: 1, minNumeric: 1, minSpecial: 1 },
    opts,
  );
  return pulumi.secret(generated.result);
}

export type ClientCredentialsArgs = {
  /** Environment name (names the rotation function, tags the secrets). */
  environment: string;
  /** The target (plan) these logins connect to. */
  target: TargetPlan;
  /** The target's logins (from `targetLogins`): one credential each. */
  logins: TargetLogin[];
  /** The environment's shared tags (`sharedTags`), on each taggable resource under its own; GovernedAccess gives them. */
  tags?: Record<string, string>;
} & (
  | {
      /** RDS IAM database authentication: no password, `rds-db:connect` per login. */
      mode: "iam";
      /** Region of the replica. */
      region: string;
      /** Account of the replica. */
      accountId: pulumi.Input<string>;
      /** DbiResourceId of the replica agents connect to. */
      replicaResourceId: pulumi.Input<string>;
    }
  | {
      /** A rotated password per login, in Secrets Manager. */
      mode: "password";
      /** Region of the rotation function's Secrets Manager endpoint. */
      region: string;
      /** Address of the PRIMARY (where the rotation function changes passwords). */
      primaryHost: pulumi.Input<string>;
      /** Port of the primary. */
      primaryPort: pulumi.Input<number>;
      /** Secret holding the admin credentials the multi-user rotation uses (`masterarn`). */
      masterSecretArn: string;
      /** Initial password by login role (from `initialPassword`), the same the role was created with. */
      initialPasswords: Record<string, pulumi.Input<string>>;
      /** Private subnets the rotation function runs in. */
      subnetIds: string[];
      /** Security group of the rotation function (reaches the primary and Secrets Manager). */
      rotationSecurityGroupId: pulumi.Input<string>;
      /** Resources that must exist before the first rotation (the login roles, the VPC endpoints). */
      rotateAfter: pulumi.Input<pulumi.Resource>[];
      /** KMS key for the secrets; default the account's `aws/secretsmanager` key. */
      kmsKeyId?: pulumi.Input<string>;
    }
);

export class ClientCredentials extends pulumi.ComponentResource {
  /** Secret ARN by login role (password mode). */
  public readonly secretArns: Record<string, pulumi.Output<string>>;
  /** `rds-db:connect` resource ARNs (iam mode). */
  public readonly connectArns: pulumi.Output<string>[];

  constructor(name: string, args: ClientCredentialsArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:aws:ClientCredentials", name, {}, opts);
    if (!args.target) throw new Error(`${name}: target is required`);
    if (args.target.credentials.mode !== args.mode) {
      throw new Error(`${name}: mode "${args.mode}" differs from the plan's targets.${args.target.name}.credentials.mode "${args.target.credentials.mode}"`);
    }
    const logins = args.logins;
    const parent = { parent: this };
    this.secretArns = {};
    this.connectArns = [];

    if (args.mode === "iam") {
      for (const login of logins) {
        this.connectArns.push(
          pulumi.all([args.accountId, args.replicaResourceId]).apply(([account, resourceId]) => rdsDbConnectArn(args.region, account, resourceId, login.role)),
        );
      }
    } else {
      const rotationDays = args.target.credentials.rotationDays;
      if (!rotationDays || rotationDays < 1 || rotationDays > 1000) {
        throw new Error(`${name}: targets.${args.target.name}.credentials.rotationDays must be 1-1000 days for password credentials`);
      }
      if (!args.masterSecretArn?.startsWith("arn:aws:secretsmanager:")) {
        throw new Error(
          `${name}: masterSecretArn (targets.${args.target.name}.primary.adminSecretArn) ` +
            `must be a Secrets Manager ARN: multi-user rotation needs the admin secret`,
        );
      }
      if (args.subnetIds.length === 0)
        throw new Error(`${name}: subnetIds (targets.${args.target.name}.network.subnetIds) are needed for the rotation function`);
      for (const login of logins) {
        if (args.initialPasswords[login.role] === undefined) throw new Error(`${name}: initialPasswords.${login.role} is missing`);
      }

      const rotator = new CloudFormationStack(
        `${name}-rotation`,
        {
          name: rotationStackName(args.environment, args.target.name),
          applicationId: POSTGRES_MULTI_USER_ROTATION_APP,
          semanticVersion: POSTGRES_MULTI_USER_ROTATION_VERSION,
          capabilities: ["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"],
          parameters: {
            endpoint: `https://secretsmanager.${args.region}.amazonaws.com`,
            functionName: rotationFunctionName(args.environment, args.target.name),
            masterSecretArn: args.masterSecretArn,
            vpcSubnetIds: args.subnetIds.join(","),
            vpcSecurityGroupIds: args.rotationSecurityGroupId,
            excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS,
          },
          tags: args.tags,
        },
        parent,
      );
      const rotationLambdaArn = rotator.outputs.apply((outputs) => {
        const arn = outputs?.RotationLambdaARN;
        if (!arn) throw new Error(`${name}: the rotation application did not output RotationLambdaARN`);
        return arn;
      });

      for (const login of logins) {
        const secret = new Secret(
          `${name}-${login.role}`,
          {
            name: login.secretName,
            description: `dbwarden login ${login.role} (workflow ${login.workflow}, client ${login.client}); rotated every ${rotationDays} days`,
            recoveryWindowInDays: 7,
            ...(args.kmsKeyId ? { kmsKeyId: args.kmsKeyId } : {}),
            tags: resourceTags(
              args.tags,
              loginSecretTags(args.environment, { name: login.workflow, owner: login.owner, expires: login.expires }, login, args.target.name),
            ),
          },
          parent,
        );
        const value = pulumi
          .all([args.primaryHost, args.primaryPort, args.initialPasswords[login.role]!])
          .apply(([host, port, password]) =>
            rotationSecretValue({ host, port, username: login.role, password, dbname: args.target.database, masterarn: args.masterSecretArn }),
          );
        const version = new SecretVersion(
          `${name}-${login.role}-initial`,
          { secretId: secret.id, secretStringWo: pulumi.secret(value), secretStringWoVersion: 1, versionStages: ["AWSCURRENT", INITIAL_VERSION_STAGE] },
          { parent: this, ignoreChanges: INITIAL_VERSION_IGNORE_CHANGES },
        );
        new SecretRotation(
          `${name}-${login.role}-rotation`,
          { secretId: secret.id, rotationLambdaArn, rotateImmediately: true, rotationRules: { automaticallyAfterDays: rotationDays } },
          { parent: this, dependsOn: [version, ...args.rotateAfter] },
        );
        this.secretArns[login.role] = secret.arn;
      }
    }
    this.registerOutputs({ secretArns: this.secretArns });
  }
}
