/**
 * `dbwarden:gcp:CloudSqlRotator`: what really rotates a Cloud SQL target's login passwords. Secret
 * Manager's rotation schedule only PUBLISHES a `SECRET_ROTATE` message to the secret's topics; this
 * component subscribes the rotator to them:
 * - the target's topic, with publish rights for Secret Manager's service agent alone;
 * - the rotator, a Cloud Run service from the MCP server's image (`node dist/rotator.js`,
 *   mcp-server/src/clouds/gcp/rotator.ts), internal ingress, no unauthenticated invocation, egress
 *   through the VPC to the primary; its own service account may read and add versions of exactly
 *   the target's login secrets, read the admin secret, and reach Cloud SQL through the connector;
 * - a push subscription calling the rotator with an OIDC token of a pusher service account that
 *   alone may invoke it; failed deliveries are retried with backoff.
 */
import * as pulumi from "@pulumi/pulumi";
import { Service } from "@pulumi/gcp/cloudrunv2/service.js";
import { ServiceIamMember } from "@pulumi/gcp/cloudrunv2/serviceIamMember.js";
import { IAMMember as ProjectIamMember } from "@pulumi/gcp/projects/iammember.js";
import { ServiceIdentity } from "@pulumi/gcp/projects/serviceIdentity.js";
import { Subscription } from "@pulumi/gcp/pubsub/subscription.js";
import { Topic } from "@pulumi/gcp/pubsub/topic.js";
import { TopicIAMMember } from "@pulumi/gcp/pubsub/topicIAMMember.js";
import { SecretIamMember } from "@pulumi/gcp/secretmanager/secretIamMember.js";
import { Account } from "@pulumi/gcp/serviceaccount/account.js";
import { rotatorServiceAccountId, rotatorServiceName, rotationTopicId, fitName } from "../../src/names/gcp.ts";

/** The rotator's command in the MCP server's image. */
export const ROTATOR_COMMAND = ["node", "dist/rotator.js"];
/** Environment variable naming the target's primary (`<project>:<region>:<instance>`) for the rotator. */
export const ROTATOR_INSTANCE_ENV = "DBWARDEN_ROTATOR_INSTANCE";
/** Environment variable naming the admin secret the rotator connects with. */
export const ROTATOR_ADMIN_SECRET_ENV = "DBWARDEN_ROTATOR_ADMIN_SECRET";
/** Environment variable naming the target's database. */
export const ROTATOR_DATABASE_ENV = "DBWARDEN_ROTATOR_DATABASE";

export interface CloudSqlRotatorArgs {
  environment: string;
  target: string;
  project: string;
  region: string;
  /** The MCP server's image (the rotator is a command of it). */
  image: pulumi.Input<string>;
  /** The primary's connection name: passwords are changed there and reach the replica by replication. */
  primaryConnectionName: pulumi.Input<string>;
  database: string;
  /** The admin secret (`projects/<p>/secrets/<id>`). */
  adminSecret: string;
  /** The login secrets' ids (`secretId`, not resource names) it may read and add versions to. */
  loginSecretIds: string[];
  /** Direct VPC egress. */
  network: string;
  subnetwork: string;
  labels: Record<string, string>;
}

export class CloudSqlRotator extends pulumi.ComponentResource {
  /** The topic the target's login secrets name (`projects/<p>/topics/<id>`): Secret Manager publishes their rotation notices there. */
  public readonly topicId: pulumi.Output<string>;
  /** What must exist before Secret Manager may publish (its publish right). */
  public readonly ready: pulumi.Resource[];

  constructor(name: string, args: CloudSqlRotatorArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:gcp:CloudSqlRotator", name, {}, opts);
    const parent = { parent: this };
    const { project } = args;
    const topic = new Topic(name, { project, name: rotationTopicId(args.environment, args.target), labels: args.labels }, parent);
    this.topicId = pulumi.interpolate`projects/${project}/topics/${topic.name}`;
    const agent = new ServiceIdentity(`${name}-secretmanager-agent`, { project, service: "secretmanager.googleapis.com" }, parent);
    const publisher = new TopicIAMMember(`${name}-publisher`, { project, topic: topic.name, role: "roles/pubsub.publisher", member: agent.member }, parent);

    const account = new Account(
      name,
      { project, accountId: rotatorServiceAccountId(args.environment, args.target), displayName: `dbwarden ${args.environment} ${args.target} rotator` },
      parent,
    );
    const member = pulumi.interpolate`serviceAccount:${account.email}`;
    const grants: pulumi.Resource[] = [
      new ProjectIamMember(`${name}-cloudsql-client`, { project, role: "roles/cloudsql.client", member }, parent),
      new SecretIamMember(`${name}-admin-reader`, { project, secretId: args.adminSecret, role: "roles/secretmanager.secretAccessor", member }, parent),
    ];
    for (const secretId of args.loginSecretIds) {
      for (const role of ["roles/secretmanager.secretAccessor", "roles/secretmanager.secretVersionAdder", "roles/secretmanager.secretVersionManager"]) {
        grants.push(new SecretIamMember(`${name}-${fitName([secretId], 40)}-${role.split(".")[1]}`, { project, secretId, role, member }, parent));
      }
    }
    const service = new Service(
      name,
      {
        project,
        location: args.region,
        name: rotatorServiceName(args.environment, args.target),
        ingress: "INGRESS_TRAFFIC_INTERNAL_ONLY",
        invokerIamDisabled: false,
        deletionProtection: false,
        labels: args.labels,
        template: {
          serviceAccount: account.email,
          maxInstanceRequestConcurrency: 1,
          scaling: { minInstanceCount: 0, maxInstanceCount: 1 },
          vpcAccess: { egress: "PRIVATE_RANGES_ONLY", networkInterfaces: [{ network: args.network, subnetwork: args.subnetwork }] },
          containers: [
            {
              image: args.image,
              commands: ROTATOR_COMMAND,
              envs: [
                { name: ROTATOR_INSTANCE_ENV, value: args.primaryConnectionName },
                { name: ROTATOR_ADMIN_SECRET_ENV, value: args.adminSecret },
                { name: ROTATOR_DATABASE_ENV, value: args.database },
                { name: "NODE_ENV", value: "production" },
              ],
            },
          ],
        },
      },
      { parent: this, dependsOn: grants },
    );
    const pusher = new Account(
      `${name}-pusher`,
      {
        project,
        accountId: fitName(["dbw", args.environment, args.target, "push"], 30, 6),
        displayName: `dbwarden ${args.environment} ${args.target} rotation pusher`,
      },
      parent,
    );
    const invoker = new ServiceIamMember(
      `${name}-invoker`,
      { project, location: args.region, name: service.name, role: "roles/run.invoker", member: pulumi.interpolate`serviceAccount:${pusher.email}` },
      parent,
    );
    new Subscription(
      name,
      {
        project,
        topic: this.topicId,
        labels: args.labels,
        ackDeadlineSeconds: 120,
        // Only rotation notices: Secret Manager publishes other events to the same topic.
        filter: 'attributes.eventType = "SECRET_ROTATE"',
        retryPolicy: { minimumBackoff: "60s", maximumBackoff: "600s" },
        pushConfig: { pushEndpoint: service.uri, oidcToken: { serviceAccountEmail: pusher.email, audience: service.uri } },
      },
      { parent: this, dependsOn: [invoker] },
    );
    this.ready = [publisher];
    this.registerOutputs({ topicId: this.topicId });
  }
}
