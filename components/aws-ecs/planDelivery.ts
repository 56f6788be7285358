/**
 * How the MCP server on ECS is given its access plan and its runtime config, whatever their size
 * (the contract's `PLAN_ENV` and `RUNTIME_ENV`):
 * - in the task definition's environment (`DBWARDEN_PLAN`, `DBWARDEN_RUNTIME`) while the WHOLE task
 *   definition stays within ECS's 64 KiB: the container definition is measured with them in it,
 *   the runtime config at its longest (addresses not known yet at their longest), plus room for
 *   the task definition's other fields;
 * - else the plan (and, when thousands of logins make the runtime config too large as well, the
 *   runtime config) as objects in a private, encrypted, versioned bucket the stack creates
 *   (`ConfigObjects`), named by `DBWARDEN_PLAN_S3=s3://<bucket>/<key>` with `DBWARDEN_PLAN_SHA256`
 *   (and `DBWARDEN_RUNTIME_S3` with `DBWARDEN_RUNTIME_SHA256`); the server refuses an object whose
 *   hash differs. Keys hold the hash, so a new plan is a new object and a task never reads a plan
 *   it was not deployed with; the task role may read exactly those objects.
 * The choice is made when the program runs, from what is known then, so a preview shows it.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { Bucket } from "@pulumi/aws/s3/bucket.js";
import { BucketObjectv2 } from "@pulumi/aws/s3/bucketObjectv2.js";
import { BucketOwnershipControls } from "@pulumi/aws/s3/bucketOwnershipControls.js";
import { BucketPolicy } from "@pulumi/aws/s3/bucketPolicy.js";
import { BucketPublicAccessBlock } from "@pulumi/aws/s3/bucketPublicAccessBlock.js";
import { BucketServerSideEncryptionConfiguration } from "@pulumi/aws/s3/bucketServerSideEncryptionConfiguration.js";
import { BucketVersioning } from "@pulumi/aws/s3/bucketVersioning.js";
import { PLAN_ENV, RUNTIME_ENV } from "../../src/plan/types.ts";
import { planBucketPrefix } from "../../src/names/aws.ts";

/** ECS refuses a task definition over 64 KiB. */
export const MAX_TASK_DEFINITION_BYTES = 64 * 1024;
/**
 * Room kept for the task definition's fields besides the container definitions (family, role
 * ARNs, CPU, memory, volumes, runtime platform, request framing): well above what they take.
 */
export const TASK_DEFINITION_OTHER_FIELDS_BYTES = 4 * 1024;

/** Where each of the server's two documents goes. */
export interface Delivery {
  plan: "environment" | "s3";
  runtime: "environment" | "s3";
}

/** Lower-case hex sha256 of a document's JSON text (what `*_SHA256` holds). */
export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The object key of a document: its kind, environment and hash, so each version is its own object. */
export function objectKey(kind: "plan" | "runtime", environment: string, text: string): string {
  return `${kind}s/${environment}/${sha256Hex(text)}.json`;
}

/** Do container definitions of this many bytes keep the task definition within ECS's limit? */
export function fitsTaskDefinition(containerBytes: number): boolean {
  return containerBytes + TASK_DEFINITION_OTHER_FIELDS_BYTES <= MAX_TASK_DEFINITION_BYTES;
}

/**
 * Both in env when the container definitions with both fit; else the plan in S3 when they fit
 * with the runtime config alone; else both in S3. Sizes are of the whole container definitions.
 */
export function chooseDelivery(containerBytes: { bothInEnvironment: number; runtimeInEnvironment: number }): Delivery {
  if (fitsTaskDefinition(containerBytes.bothInEnvironment)) return { plan: "environment", runtime: "environment" };
  if (fitsTaskDefinition(containerBytes.runtimeInEnvironment)) return { plan: "s3", runtime: "environment" };
  return { plan: "s3", runtime: "s3" };
}

/** The environment variables that give the server one document: its text, or its S3 object and hash. */
export function documentEnvironment(
  names: { text: string; s3: string; sha256: string },
  text: string,
  object?: { bucket: string; key: string },
): { name: string; value: string }[] {
  if (!object) return [{ name: names.text, value: text }];
  return [
    { name: names.s3, value: `s3://${object.bucket}/${object.key}` },
    { name: names.sha256, value: sha256Hex(text) },
  ];
}

/** The plan's environment variables (`PLAN_ENV`). */
export const planEnvironment = (planJson: string, object?: { bucket: string; key: string }) => documentEnvironment(PLAN_ENV, planJson, object);
/** The runtime config's environment variables (`RUNTIME_ENV`). */
export const runtimeEnvironment = (runtimeJson: string, object?: { bucket: string; key: string }) => documentEnvironment(RUNTIME_ENV, runtimeJson, object);

/** A bucket policy refusing every request that does not use TLS. */
export function tlsOnlyBucketPolicy(bucketArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "TlsOnly",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  });
}

export interface ConfigObjectsArgs {
  /** Environment name (names the bucket and the keys). */
  environment: string;
  /** The plan's JSON text, when it goes to S3. */
  planJson?: string;
  /** The runtime config's JSON text, when it goes to S3 (known once ARNs and addresses are). */
  runtimeJson?: pulumi.Input<string>;
  /** The environment's shared tags (`sharedTags`), on each taggable resource under its own; GovernedAccess gives them. */
  tags?: Record<string, string>;
}

/** One document in the bucket. */
export interface ConfigObject {
  object: BucketObjectv2;
  /** Its key (`<kind>s/<env>/<sha256>.json`). */
  key: pulumi.Output<string>;
  /** Its ARN: what the task role may read. */
  arn: pulumi.Output<string>;
}

/** `dbwarden:aws:ConfigObjects`: the server's plan (and runtime config) as objects in a private, encrypted, versioned bucket. */
export class ConfigObjects extends pulumi.ComponentResource {
  /** The bucket's name. */
  public readonly bucket: pulumi.Output<string>;
  /** The plan's object, when the plan goes to S3. */
  public readonly plan: ConfigObject | null;
  /** The runtime config's object, when it goes to S3. */
  public readonly runtime: ConfigObject | null;

  constructor(name: string, args: ConfigObjectsArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:aws:ConfigObjects", name, {}, opts);
    if (args.planJson === undefined && args.runtimeJson === undefined)
      throw new Error(`${name}: neither planJson nor runtimeJson: nothing to put in the bucket`);
    const parent = { parent: this };
    // Old versions go with the bucket: `pulumi destroy` empties it.
    const bucket = new Bucket(`${name}-bucket`, { bucketPrefix: planBucketPrefix(args.environment), forceDestroy: true, tags: args.tags }, parent);
    const guards = [
      new BucketPublicAccessBlock(
        `${name}-public-access`,
        { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        parent,
      ),
      new BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, parent),
      new BucketServerSideEncryptionConfiguration(
        `${name}-encryption`,
        { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
        parent,
      ),
      new BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, parent),
      new BucketPolicy(`${name}-tls-only`, { bucket: bucket.id, policy: bucket.arn.apply(tlsOnlyBucketPolicy) }, parent),
    ];
    const document = (kind: "plan" | "runtime", text: pulumi.Input<string>): ConfigObject => {
      const key = pulumi.output(text).apply((t) => objectKey(kind, args.environment, t));
      const object = new BucketObjectv2(
        `${name}-${kind}`,
        { bucket: bucket.id, key, content: text, contentType: "application/json", serverSideEncryption: "AES256", tags: args.tags },
        { parent: this, dependsOn: guards },
      );
      return { object, key, arn: pulumi.interpolate`${bucket.arn}/${key}` };
    };
    this.plan = args.planJson !== undefined ? document("plan", args.planJson) : null;
    this.runtime = args.runtimeJson !== undefined ? document("runtime", args.runtimeJson) : null;
    this.bucket = bucket.bucket;
    this.registerOutputs({ bucket: this.bucket, planKey: this.plan?.key, runtimeKey: this.runtime?.key });
  }
}
