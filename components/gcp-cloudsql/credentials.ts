/**
 * `dbwarden:gcp:CloudSqlCredentials`: one credential per login of a Cloud SQL target.
 * - `iam`: a service account per login, registered as a Cloud SQL IAM database user on the
 *   primary (`CLOUD_IAM_SERVICE_ACCOUNT`, name `<id>@<project>.iam`) holding nothing but the
 *   planned login role (`databaseRoles`); it may connect to the replica only (an IAM condition on
 *   `cloudsql.client` and `cloudsql.instanceUser`), and the MCP server's own service account may
 *   mint its tokens (`iam.serviceAccountTokenCreator` on that account alone): the server connects as
 *   each client's own database user through the Cloud SQL connector, with no password anywhere.
 * - `password`: a Secret Manager secret per login (JSON `{username, password}`, the initial
 *   password written write-only), readable by the MCP server's service account alone, with a
 *   rotation schedule: Secret Manager then publishes `SECRET_ROTATE` to the target's topic, and the
 *   rotator (./rotator.ts) really changes the password.
 */
import * as pulumi from "@pulumi/pulumi";
import { Account } from "@pulumi/gcp/serviceaccount/account.js";
import { IAMMember as ServiceAccountIamMember } from "@pulumi/gcp/serviceaccount/iammember.js";
import { IAMMember as ProjectIamMember } from "@pulumi/gcp/projects/iammember.js";
import { Secret } from "@pulumi/gcp/secretmanager/secret.js";
import { SecretIamMember } from "@pulumi/gcp/secretmanager/secretIamMember.js";
import { SecretVersion } from "@pulumi/gcp/secretmanager/secretVersion.js";
import { User } from "@pulumi/gcp/sql/user.js";
import { workflowsOf, type AccessPlan, type LoginSource } from "../../src/plan/types.ts";
import { loginLabels } from "../gcp/labels.ts";
import { cloudSqlIamUser, gcpSecretId, loginServiceAccountId, secretResourceName, serviceAccountEmail } from "../../src/names/gcp.ts";
import type { CloudSqlTarget } from "./replica.ts";

/** One login of a target, with what its credential needs to know. */
export interface CloudSqlLogin {
  workflow: string;
  owner: string;
  expires: string | null;
  client: string;
  role: string;
  secretName: string;
}

/** Every login of the target's workflows, in plan order. */
export function cloudSqlLogins(plan: AccessPlan, target: string): CloudSqlLogin[] {
  return workflowsOf(plan, target).flatMap((w) =>
    w.roles.logins.map((l) => ({ workflow: w.name, owner: w.owner, expires: w.expires, client: l.client, role: l.role, secretName: l.secretName })),
  );
}

/** The IAM condition limiting a login's Cloud SQL roles to one instance (the replica). */
export function instanceCondition(project: string, instance: string): { title: string; expression: string } {
  return { title: `only ${instance}`, expression: `resource.name == "projects/${project}/instances/${instance}"` };
}

/** The rotation schedule of a login secret: every `rotationDays`, the first one `rotationDays` after `asOf`. */
export function rotationSchedule(rotationDays: number, asOf: string): { rotationPeriod: string; nextRotationTime: string } {
  const next = new Date(`${asOf}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + rotationDays);
  return { rotationPeriod: `${rotationDays * 86_400}s`, nextRotationTime: next.toISOString() };
}

export interface CloudSqlCredentialsArgs {
  plan: AccessPlan;
  target: CloudSqlTarget;
  /** The project the service accounts and secrets live in (the host's). */
  project: string;
  /** The replica's name: IAM logins may connect to it alone. */
  replicaName: pulumi.Input<string>;
  /** The MCP server's service account email: it reads the secrets, or mints the logins' tokens. */
  serverAccount: pulumi.Input<string>;
  /** Initial password by login role (password credentials), the same the access component sets. */
  initialPasswords: Record<string, pulumi.Input<string>>;
  /** The topic Secret Manager publishes rotation notices to (password credentials). */
  rotationTopic?: pulumi.Input<string>;
  /** What the IAM database users wait for: the login roles they are granted must exist. */
  after: pulumi.Resource[];
}

export class CloudSqlCredentials extends pulumi.ComponentResource {
  /** How each login role authenticates, as the server's runtime config says it. */
  public readonly logins: Record<string, pulumi.Output<LoginSource>> = {};
  /** Secret resource name by login role (password credentials). */
  public readonly secretIds: Record<string, pulumi.Output<string>> = {};
  /** The resources the MCP service waits for. */
  public readonly ready: pulumi.Resource[] = [];

  constructor(name: string, args: CloudSqlCredentialsArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:gcp:CloudSqlCredentials", name, {}, opts);
    const logins = cloudSqlLogins(args.plan, args.target.name);
    for (const login of logins) {
      if (args.target.credentials.mode === "iam") this.iamLogin(name, args, login);
      else this.passwordLogin(name, args, login);
    }
    this.registerOutputs({ secretIds: this.secretIds });
  }

  /** A service account that is the login's Cloud SQL IAM database user, holding only the login role. */
  private iamLogin(name: string, args: CloudSqlCredentialsArgs, login: CloudSqlLogin): void {
    const { project, target } = args;
    const settings = target.platformSettings;
    const accountId = loginServiceAccountId(login.role);
    const base = `${name}-${login.role}`;
    const account = new Account(
      base,
      {
        accountId,
        project,
        displayName: `dbwarden ${args.plan.environment} ${login.workflow}/${login.client}`,
        description: `Cloud SQL IAM login ${login.role} (client ${login.client} of workflow ${login.workflow})`,
      },
      { parent: this },
    );
    const member = pulumi.interpolate`serviceAccount:${account.email}`;
    const condition = pulumi.output(args.replicaName).apply((replica) => instanceCondition(settings.project, replica));
    const grants = ["roles/cloudsql.client", "roles/cloudsql.instanceUser"].map(
      (role) => new ProjectIamMember(`${base}-${role.split(".")[1]}`, { project: settings.project, role, member, condition }, { parent: this }),
    );
    const minter = new ServiceAccountIamMember(
      `${base}-token-creator`,
      { serviceAccountId: account.name, role: "roles/iam.serviceAccountTokenCreator", member: pulumi.interpolate`serviceAccount:${args.serverAccount}` },
      { parent: this },
    );
    const user = new User(
      base,
      {
        project: settings.project,
        instance: settings.primaryInstance,
        type: "CLOUD_IAM_SERVICE_ACCOUNT",
        name: cloudSqlIamUser(accountId, project),
        databaseRoles: [login.role],
      },
      { parent: this, dependsOn: [account, ...args.after] },
    );
    this.ready.push(user, minter, ...grants);
    this.logins[login.role] = pulumi.output({ gcpCloudSqlIam: { user: cloudSqlIamUser(accountId, project) } });
  }

  /** A Secret Manager secret with the login's password, rotated on schedule, readable by the server alone. */
  private passwordLogin(name: string, args: CloudSqlCredentialsArgs, login: CloudSqlLogin): void {
    const { project, target, plan } = args;
    const base = `${name}-${login.role}`;
    const workflow = plan.workflows.find((w) => w.name === login.workflow)!;
    const secret = new Secret(
      base,
      {
        project,
        secretId: gcpSecretId(login.secretName),
        replication: { auto: {} },
        labels: loginLabels(plan.environment, workflow, login, target.name),
        ...(args.rotationTopic ? { topics: [{ name: args.rotationTopic }] } : {}),
        rotation: rotationSchedule(target.credentials.rotationDays ?? 30, plan.asOf),
      },
      // The rotator moves the schedule on; a later `up` must not move it back.
      { parent: this, ignoreChanges: ["rotation.nextRotationTime"] },
    );
    const password = args.initialPasswords[login.role];
    if (password === undefined) throw new Error(`${name}: no initial password for login ${login.role}`);
    const version = new SecretVersion(
      base,
      {
        secret: secret.id,
        // Write-only: the password never enters the state; rotations add versions after it.
        secretDataWo: pulumi.secret(pulumi.output(password).apply((p) => JSON.stringify({ username: login.role, password: p }))),
        secretDataWoVersion: 1,
      },
      { parent: this },
    );
    const reader = new SecretIamMember(
      `${base}-reader`,
      { project, secretId: secret.secretId, role: "roles/secretmanager.secretAccessor", member: pulumi.interpolate`serviceAccount:${args.serverAccount}` },
      { parent: this },
    );
    this.ready.push(version, reader);
    const id = secretResourceName(project, gcpSecretId(login.secretName));
    this.secretIds[login.role] = pulumi.output(id);
    this.logins[login.role] = pulumi.output({ gcpSecret: id });
  }
}

/** The email of a login's service account (IAM credentials). */
export function loginServiceAccountEmail(loginRole: string, project: string): string {
  return serviceAccountEmail(loginServiceAccountId(loginRole), project);
}
