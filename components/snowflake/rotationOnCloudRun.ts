/**
 * `dbwarden:snowflake:KeyRotationOnCloudRun`: the Snowflake key-rotation job of one target on a
 * Cloud Run host, from the MCP server's image (`node dist/snowflake-rotator.js`,
 * mcp-server/src/snowflake-rotator.ts):
 * - a Cloud Run job (`cloudrunv2.Job`) whose command is the job (the image's entry point and CMD
 *   are replaced), its configuration in its environment (no credential: it names secrets), egress
 *   through the host's NAT (Snowflake admits only its addresses), one task, no retry (a failed run
 *   leaves every key working: the next run rotates it);
 * - its own service account, which may read, add and disable versions of exactly the target's key
 *   secrets and read the admin secret (Secret Manager IAM on each secret, nothing project-wide);
 * - a Cloud Scheduler job calling the Run Admin API's `jobs.run` on the schedule from the spec's
 *   `credentials.rotationDays`, with an OAuth token of a scheduler service account that holds
 *   `roles/run.invoker` on that job alone (Google's role for executing a job: `run.jobs.run`;
 *   its `run.routes.invoke` means nothing on a job).
 */
import * as pulumi from "@pulumi/pulumi";
import { Job as RunJob } from "@pulumi/gcp/cloudrunv2/job.js";
import { JobIamMember } from "@pulumi/gcp/cloudrunv2/jobIamMember.js";
import { Job as SchedulerJob } from "@pulumi/gcp/cloudscheduler/job.js";
import { SecretIamMember } from "@pulumi/gcp/secretmanager/secretIamMember.js";
import { Account } from "@pulumi/gcp/serviceaccount/account.js";
import { SNOWFLAKE_ROTATION_ENV, SNOWFLAKE_ROTATOR_COMMAND, type SnowflakeRotationConfig } from "../../src/plan/types.ts";
import { fitName } from "../../src/names/gcp.ts";
import { gcpRotationCron } from "./rotationJob.ts";

/** Secret Manager roles the job holds on each key secret: read the key, add the next, disable the one it replaced. */
export const KEY_SECRET_ROLES = ["roles/secretmanager.secretAccessor", "roles/secretmanager.secretVersionAdder", "roles/secretmanager.secretVersionManager"];

export interface SnowflakeKeyRotationOnCloudRunArgs {
  environment: string;
  /** The Snowflake target's name. */
  target: string;
  project: string;
  region: string;
  /** The MCP server's image (the job is a command of it). */
  image: pulumi.Input<string>;
  /** The job's configuration (rotationJob.ts `rotationJobConfig`). */
  config: pulumi.Input<SnowflakeRotationConfig>;
  /** The logins' key secrets' ids (`secretId`, in `project`). */
  keySecretIds: pulumi.Input<string>[];
  /** The deployer's key-pair login (`projects/<p>/secrets/<id>`): the job reads it. */
  adminSecret: string;
  /** `credentials.rotationDays`. */
  rotationDays: number;
  /** The host's direct VPC egress: all traffic, through the NAT whose addresses Snowflake admits. */
  network: string;
  subnetwork: string;
  labels: Record<string, string>;
}

/** Names of the job's resources: the Cloud Run job, the scheduler job, the two service accounts (ids of at most 30 characters). */
export function keyRotationNames(environment: string, target: string): { job: string; jobAccount: string; schedulerAccount: string } {
  return {
    job: fitName(["dbw", environment, target, "key-rotation"], 49),
    jobAccount: fitName(["dbw", environment, target, "keys"], 30, 6),
    schedulerAccount: fitName(["dbw", environment, target, "keys-sched"], 30, 6),
  };
}

export class SnowflakeKeyRotationOnCloudRun extends pulumi.ComponentResource {
  /** The Cloud Run job (run it by hand: `gcloud run jobs execute`). */
  public readonly jobName: pulumi.Output<string>;

  constructor(name: string, args: SnowflakeKeyRotationOnCloudRunArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:snowflake:KeyRotationOnCloudRun", name, {}, opts);
    const parent = { parent: this };
    const { project, region, environment, target } = args;
    const names = keyRotationNames(environment, target);
    const account = new Account(
      name,
      { project, accountId: names.jobAccount, displayName: `dbwarden ${environment} ${target} Snowflake key rotation` },
      parent,
    );
    const member = pulumi.interpolate`serviceAccount:${account.email}`;
    const grants = [
      new SecretIamMember(`${name}-admin-reader`, { project, secretId: args.adminSecret, role: "roles/secretmanager.secretAccessor", member }, parent),
      ...args.keySecretIds.flatMap((secretId, i) =>
        KEY_SECRET_ROLES.map((role) => new SecretIamMember(`${name}-key-${i + 1}-${role.split(".")[1]}`, { project, secretId, role, member }, parent)),
      ),
    ];
    const job = new RunJob(
      name,
      {
        project,
        location: region,
        name: names.job,
        deletionProtection: false,
        labels: args.labels,
        template: {
          taskCount: 1,
          parallelism: 1,
          labels: args.labels,
          template: {
            serviceAccount: account.email,
            maxRetries: 0,
            // The job waits past the servers' 5-minute secret cache before the old key is taken out.
            timeout: "1800s",
            vpcAccess: { egress: "ALL_TRAFFIC", networkInterfaces: [{ network: args.network, subnetwork: args.subnetwork }] },
            containers: [
              {
                image: args.image,
                commands: [...SNOWFLAKE_ROTATOR_COMMAND],
                envs: [
                  { name: SNOWFLAKE_ROTATION_ENV, value: pulumi.output(args.config).apply((c) => JSON.stringify(c)) },
                  { name: "NODE_ENV", value: "production" },
                ],
                resources: { limits: { cpu: "1", memory: "512Mi" } },
              },
            ],
          },
        },
      },
      { parent: this, dependsOn: grants },
    );
    const scheduler = new Account(
      `${name}-scheduler`,
      { project, accountId: names.schedulerAccount, displayName: `dbwarden ${environment} ${target} Snowflake key rotation schedule` },
      parent,
    );
    const invoker = new JobIamMember(
      `${name}-invoker`,
      { project, location: region, name: job.name, role: "roles/run.invoker", member: pulumi.interpolate`serviceAccount:${scheduler.email}` },
      parent,
    );
    new SchedulerJob(
      name,
      {
        project,
        region,
        name: names.job,
        description: `dbwarden ${environment}: rotate the Snowflake keys of target ${target} at least every ${args.rotationDays} days`,
        schedule: gcpRotationCron(args.rotationDays),
        timeZone: "Etc/UTC",
        attemptDeadline: "60s",
        retryConfig: { retryCount: 3, minBackoffDuration: "60s", maxBackoffDuration: "600s" },
        httpTarget: {
          httpMethod: "POST",
          uri: pulumi.interpolate`https://run.googleapis.com/v2/projects/${project}/locations/${region}/jobs/${job.name}:run`,
          oauthToken: { serviceAccountEmail: scheduler.email, scope: "https://www.googleapis.com/auth/cloud-platform" },
        },
      },
      { parent: this, dependsOn: [invoker] },
    );
    this.jobName = job.name;
    this.registerOutputs({ jobName: this.jobName });
  }
}
