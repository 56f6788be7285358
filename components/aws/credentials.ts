/**
 * `dbwarden:aws:ClientCredentials`: one credential per client login of a target.
 * - `iam`: no password at all; the MCP task role gets `rds-db:connect` for exactly that database
 *   user (see `rdsDbConnectArn`), and the login is a member of `rds_iam`.
 * - `password`: a Secrets Manager secret in the shape AWS's rotation functions read
 *   (`engine, host, port, username, password, dbname, masterarn`), written write-only (never in
 *   state), rotated on the plan's schedule by AWS's maintained PostgreSQL MULTI-USER rotation
 *   function from the Serverless Application Repository. Multi-user rotation alternates between
 *   `<login>` and `<login>_clone`; both are created by the Postgres component as members of the
 *   workflow's NOLOGIN group, which holds every privilege. The secret's host is the PRIMARY: the
 *   rotation function changes passwords there; the MCP server reads the replica's address from its
 *   runtime config and only the username/password from the secret.
 */
import * as pulumi from "@pulumi/pulumi";
import { getRandomPasswordOutput } from "@pulumi/aws/secretsmanager/getRandomPassword.js";
import { Secret } from "@pulumi/aws/secretsmanager/secret.js";
import { SecretRotation } from "@pulumi/aws/secretsmanager/secretRotation.js";
import { SecretVersion } from "@pulumi/aws/secretsmanager/secretVersion.js";
import { CloudFormationStack } from "@pulumi/aws/serverlessrepository/cloudFormationStack.js";
import { workflowsOf } from "../../src/plan/index.ts";
import type { AccessPlan, TargetPlan } from "../../src/plan/types.ts";

/** AWS's maintained multi-user (alternating) rotation function for RDS PostgreSQL. */
export const POSTGRES_MULTI_USER_ROTATION_APP = "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationMultiUser";

/** Characters left out of generated passwords: they break connection strings and shells. */
export const PASSWORD_EXCLUDED_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\";

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
  return JSON.stringify({ engine: "postgres", host: value.host, port: value.port, username: value.username, password: value.password, dbname: value.dbname, masterarn: value.masterarn });
}

/** One client login of a target, with its secret name, as planned. */
export interface TargetLogin {
  /** The workflow whose group the login is a member of. */
  workflow: string;
  /** The client (agent) the login is for. */
  client: string;
  /** The login role's name in the database. */
  role: string;
  /** Name of its secret in Secrets Manager (password credentials). */
  secretName: string;
}

/** The logins of a target with their secret names, as planned. */
export function targetLogins(plan: AccessPlan, target: string): TargetLogin[] {
  return workflowsOf(plan, target).flatMap((w) => w.roles.logins.map((l) => ({ workflow: w.name, client: l.client, role: l.role, secretName: l.secretName })));
}

/**
 * An initial password for a login, from Secrets Manager's generator (no provider plugin beyond
 * AWS's). Secret from the start; it is written write-only to the role and to the secret, and the
 * first rotation replaces it.
 */
export function initialPassword(opts: pulumi.InvokeOutputOptions): pulumi.Output<string> {
  const generated = getRandomPasswordOutput({ passwordLength: 40, excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS, requireEachIncludedType: true }, opts);
  return pulumi.secret(generated.randomPassword as pulumi.Output<string>);
}

export type ClientCredentialsArgs = {
  /** The target (plan) these logins connect to. */
  target: TargetPlan;
  /** The target's logins (from `targetLogins`): one credential each. */
  logins: TargetLogin[];
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
      /** Resources that must exist before the first rotation (the login roles). */
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
        this.connectArns.push(pulumi.all([args.accountId, args.replicaResourceId]).apply(([account, resourceId]) => rdsDbConnectArn(args.region, account, resourceId, login.role)));
      }
    } else {
      const rotationDays = args.target.credentials.rotationDays;
      if (!rotationDays || rotationDays < 1 || rotationDays > 1000) {
        throw new Error(`${name}: targets.${args.target.name}.credentials.rotationDays must be 1-1000 days for password credentials`);
      }
      if (!args.masterSecretArn?.startsWith("arn:aws:secretsmanager:")) {
        throw new Error(`${name}: masterSecretArn (targets.${args.target.name}.primary.adminSecretArn) must be a Secrets Manager ARN: multi-user rotation needs the admin secret`);
      }
      if (args.subnetIds.length === 0) throw new Error(`${name}: subnetIds (targets.${args.target.name}.network.subnetIds) are needed for the rotation function`);
      for (const login of logins) {
        if (args.initialPasswords[login.role] === undefined) throw new Error(`${name}: initialPasswords.${login.role} is missing`);
      }

      const rotator = new CloudFormationStack(
        `${name}-rotation`,
        {
          name: `${name}-rotation`,
          applicationId: POSTGRES_MULTI_USER_ROTATION_APP,
          capabilities: ["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"],
          parameters: {
            endpoint: `https://secretsmanager.${args.region}.amazonaws.com`,
            functionName: `${name}-rotation`,
            masterSecretArn: args.masterSecretArn,
            vpcSubnetIds: args.subnetIds.join(","),
            vpcSecurityGroupIds: args.rotationSecurityGroupId,
            excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS,
          },
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
            tags: { "dbwarden:workflow": login.workflow, "dbwarden:client": login.client, "dbwarden:target": args.target.name },
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
          { secretId: secret.id, secretStringWo: pulumi.secret(value), secretStringWoVersion: 1 },
          parent,
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
