/**
 * How the MCP server on ECS is given its access plan, whatever its size (the contract's `PLAN_ENV`):
 * - in the task definition's environment (`DBWARDEN_PLAN`) while the WHOLE task definition stays
 *   within ECS's 64 KiB: the container definition is measured with the plan in it, the runtime
 *   config at its longest (`runtimeSizeBound`) and room for the task definition's other fields;
 * - else as an object in a private, encrypted, versioned bucket the stack creates (`PlanObject`),
 *   named by `DBWARDEN_PLAN_S3=s3://<bucket>/<key>` with `DBWARDEN_PLAN_SHA256` (the server refuses
 *   an object whose hash differs). The key holds the hash, so a new plan is a new object and a
 *   task never reads a plan it was not deployed with; the task role may read exactly that object.
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
import { PLAN_ENV } from "../../src/plan/types.ts";
import { planBucketPrefix } from "./names.ts";

/** ECS refuses a task definition over 64 KiB. */
export const MAX_TASK_DEFINITION_BYTES = 64 * 1024;
/**
 * Room kept for the task definition's fields besides the container definitions (family, role
 * ARNs, CPU, memory, volumes, runtime platform, request framing): well above what they take.
 */
export const TASK_DEFINITION_OTHER_FIELDS_BYTES = 4 * 1024;

/** Lower-case hex sha256 of the plan's JSON text (what `DBWARDEN_PLAN_SHA256` holds). */
export function planSha256(planJson: string): string {
  return createHash("sha256").update(planJson, "utf8").digest("hex");
}

/** The object key of a plan: its hash, so each plan is its own object. */
export function planObjectKey(environment: string, planJson: string): string {
  return `plans/${environment}/${planSha256(planJson)}.json`;
}

/** How the plan reaches the server. */
export type PlanDelivery = { via: "environment"; planJson: string } | { via: "s3"; planJson: string; key: string; sha256: string };

/**
 * Environment while the container definitions WITH the plan in them (`containerBytesWithPlan`,
 * measured with the runtime config at its longest) plus the task definition's other fields fit
 * 64 KiB; else S3.
 */
export function choosePlanDelivery(environment: string, planJson: string, containerBytesWithPlan: number): PlanDelivery {
  if (containerBytesWithPlan + TASK_DEFINITION_OTHER_FIELDS_BYTES <= MAX_TASK_DEFINITION_BYTES) return { via: "environment", planJson };
  return { via: "s3", planJson, key: planObjectKey(environment, planJson), sha256: planSha256(planJson) };
}

/** The environment variables that give the server its plan. */
export function planEnvironment(delivery: PlanDelivery, bucket?: string): { name: string; value: string }[] {
  if (delivery.via === "environment") return [{ name: PLAN_ENV.text, value: delivery.planJson }];
  if (!bucket) throw new Error("plan delivery through S3 needs the bucket's name");
  return [
    { name: PLAN_ENV.s3, value: `s3://${bucket}/${delivery.key}` },
    { name: PLAN_ENV.sha256, value: delivery.sha256 },
  ];
}

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

export interface PlanObjectArgs {
  /** Environment name (names the bucket and the key). */
  environment: string;
  /** The plan's JSON text, as the server is given it. */
  planJson: string;
}

/** `dbwarden:aws:PlanObject`: the plan as an object in a private, encrypted, versioned bucket. */
export class PlanObject extends pulumi.ComponentResource {
  /** The bucket's name. */
  public readonly bucket: pulumi.Output<string>;
  /** The object's key (`plans/<env>/<sha256>.json`). */
  public readonly key: string;
  /** The object's ARN: the only thing the task role may read from the bucket. */
  public readonly objectArn: pulumi.Output<string>;
  /** The object: the service starts after it is written. */
  public readonly object: BucketObjectv2;

  constructor(name: string, args: PlanObjectArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:aws:PlanObject", name, {}, opts);
    const parent = { parent: this };
    // Old plans go with the bucket: `pulumi destroy` empties it.
    const bucket = new Bucket(`${name}-bucket`, { bucketPrefix: planBucketPrefix(args.environment), forceDestroy: true }, parent);
    const guards = [
      new BucketPublicAccessBlock(`${name}-public-access`, { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, parent),
      new BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, parent),
      new BucketServerSideEncryptionConfiguration(`${name}-encryption`, { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, parent),
      new BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, parent),
      new BucketPolicy(`${name}-tls-only`, { bucket: bucket.id, policy: bucket.arn.apply(tlsOnlyBucketPolicy) }, parent),
    ];
    this.key = planObjectKey(args.environment, args.planJson);
    this.object = new BucketObjectv2(
      `${name}-plan`,
      { bucket: bucket.id, key: this.key, content: args.planJson, contentType: "application/json", serverSideEncryption: "AES256" },
      { parent: this, dependsOn: guards },
    );
    this.bucket = bucket.bucket;
    this.objectArn = pulumi.interpolate`${bucket.arn}/${this.key}`;
    this.registerOutputs({ bucket: this.bucket, key: this.key, objectArn: this.objectArn });
  }
}
