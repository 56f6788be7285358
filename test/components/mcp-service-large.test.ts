/**
 * The plan reaches the server whatever its size: in the task definition's environment while the
 * whole task definition fits ECS's 64 KiB, else as S3 objects in a private, encrypted, versioned
 * bucket the stack creates, named by DBWARDEN_PLAN_S3 / DBWARDEN_PLAN_SHA256 (and, when thousands of
 * logins make the runtime config too large as well, DBWARDEN_RUNTIME_S3 / DBWARDEN_RUNTIME_SHA256),
 * readable by the task role and nothing else. Shown at 20 and 1,000 workflows.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { before, describe, it } from "node:test";
import { groupRoleName, loginRoleName, secretName } from "../../src/plan/names.ts";
import type { AccessPlan, WorkflowPlan } from "../../src/plan/types.ts";
import { awsTagProblems, EXAMPLE_ACCOUNT } from "./support/aws.ts";
import { installMocks, type Mocks, type RecordedResource } from "../../src/testing/index.ts";
import { examplePlan } from "./support/plans.ts";

const mocks: Mocks = await installMocks({ account: EXAMPLE_ACCOUNT, stack: "prod" });
const { McpService, deliveryFor, chooseDelivery, rdsEndpoint, sharedTags, MAX_TASK_DEFINITION_BYTES } = await import("../../components/aws/index.ts");
const { parsePlan } = await import("../../packages/contract/src/index.ts");

/** The prod plan with `count` workflows (copies of its own, renamed), one api-key client each. */
function planWith(count: number, environment: string): AccessPlan {
  const base = examplePlan("prod");
  const templates = base.workflows;
  const workflows: WorkflowPlan[] = Array.from({ length: count }, (_, i) => {
    const template = templates[i % templates.length]!;
    const name = `wf-${String(i).padStart(4, "0")}`;
    const client = {
      ...template.clients.find((c) => c.auth === "api-key")!,
      name: "agent",
      loginRole: loginRoleName(name, "agent"),
      secretName: secretName(environment, name, "agent"),
    };
    return {
      ...template,
      name,
      clients: [client],
      roles: { group: groupRoleName(name), logins: [{ client: "agent", role: client.loginRole, secretName: client.secretName }] },
    };
  });
  return parsePlan({ ...base, environment, workflows });
}

function serviceArgs(plan: AccessPlan) {
  const logins = plan.workflows.flatMap((w) => w.roles.logins);
  return {
    plan,
    region: "us-east-1",
    databases: { app: rdsEndpoint({ host: "replica.abc123.us-east-1.rds.amazonaws.com", port: 5432, database: "app" }) },
    loginSecretArns: Object.fromEntries(logins.map((l) => [l.role, `arn:aws:secretsmanager:us-east-1:123456789012:secret:${l.secretName}-AbCdEf`])),
    connectArns: [],
    vpcId: "vpc-0a1b2c3d4e5f60001",
    subnetIds: ["subnet-0aaa1111bbbb22223", "subnet-0ccc3333dddd44445"],
    loadBalancerSecurityGroupId: "sg-lb",
    serviceSecurityGroupId: "sg-service",
    auditLogGroup: {
      name: `/dbwarden/${plan.environment}/mcp-audit`,
      arn: `arn:aws:logs:us-east-1:123456789012:log-group:/dbwarden/${plan.environment}/mcp-audit`,
    },
  };
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
const environmentOf = (task: RecordedResource) => {
  const [container] = JSON.parse(task.inputs.containerDefinitions as string);
  return Object.fromEntries(container.environment.map((e: { name: string; value: string }) => [e.name, e.value])) as Record<string, string>;
};
const under = (component: RecordedResource) => mocks.resources.filter((r) => r.parent === component.urn);

describe("plan delivery", { timeout: 120_000 }, () => {
  const medium = planWith(20, "medium");
  const large = planWith(1000, "large");

  before(async () => {
    new McpService("medium-mcp", serviceArgs(medium));
    new McpService("large-mcp", { ...serviceArgs(large), tags: sharedTags(large) });
    await mocks.settle();
  });

  it("decides on the whole container definition: both in env, plan in S3, or both in S3", () => {
    assert.deepEqual(deliveryFor(serviceArgs(examplePlan("prod")), JSON.stringify(examplePlan("prod")), 2), { plan: "environment", runtime: "environment" });
    assert.deepEqual(deliveryFor(serviceArgs(medium), JSON.stringify(medium), 2), { plan: "s3", runtime: "environment" });
    assert.deepEqual(deliveryFor(serviceArgs(large), JSON.stringify(large), 2), { plan: "s3", runtime: "s3" });
    // 60 KiB of container definitions fit (with 4 KiB for the rest of the task definition); one byte more does not.
    const limit = MAX_TASK_DEFINITION_BYTES - 4 * 1024;
    assert.deepEqual(chooseDelivery({ bothInEnvironment: limit, runtimeInEnvironment: 0 }), { plan: "environment", runtime: "environment" });
    assert.deepEqual(chooseDelivery({ bothInEnvironment: limit + 1, runtimeInEnvironment: limit }), { plan: "s3", runtime: "environment" });
    assert.deepEqual(chooseDelivery({ bothInEnvironment: limit + 1, runtimeInEnvironment: limit + 1 }), { plan: "s3", runtime: "s3" });
  });

  it("at 1,000 workflows: the plan and the runtime config as S3 objects named by their hash, and a task definition within 64 KiB", () => {
    const planJson = JSON.stringify(large);
    assert.ok(Buffer.byteLength(planJson) > 3_000_000, `${Buffer.byteLength(planJson)} bytes of plan`);
    const task = mocks.one("aws:ecs/taskDefinition:TaskDefinition", "large-mcp-task");
    assert.ok(Buffer.byteLength(task.inputs.containerDefinitions as string) + 4096 <= 64 * 1024);
    const env = environmentOf(task);
    assert.deepEqual(Object.keys(env).sort(), ["DBWARDEN_PLAN_S3", "DBWARDEN_PLAN_SHA256", "DBWARDEN_RUNTIME_S3", "DBWARDEN_RUNTIME_SHA256", "NODE_ENV"]);
    const bucket = mocks.one("aws:s3/bucket:Bucket", "large-mcp-config-bucket");
    const bucketName = "dbw-large-plan-20260115120000000000000001";
    assert.deepEqual([bucket.inputs.bucketPrefix, bucket.inputs.forceDestroy], ["dbw-large-plan-", true]);
    const planObject = mocks.one("aws:s3/bucketObjectv2:BucketObjectv2", "large-mcp-config-plan");
    assert.equal(planObject.inputs.content, planJson);
    assert.equal(planObject.inputs.key, `plans/large/${sha256(planJson)}.json`);
    assert.equal(env.DBWARDEN_PLAN_S3, `s3://${bucketName}/plans/large/${sha256(planJson)}.json`);
    assert.equal(env.DBWARDEN_PLAN_SHA256, sha256(planJson));
    const runtimeObject = mocks.one("aws:s3/bucketObjectv2:BucketObjectv2", "large-mcp-config-runtime");
    const runtimeJson = runtimeObject.inputs.content as string;
    assert.equal(Object.keys(JSON.parse(runtimeJson).logins).length, 1000);
    assert.equal(env.DBWARDEN_RUNTIME_S3, `s3://${bucketName}/runtimes/large/${sha256(runtimeJson)}.json`);
    assert.equal(env.DBWARDEN_RUNTIME_SHA256, sha256(runtimeJson));
    for (const object of [planObject, runtimeObject]) {
      assert.equal(object.inputs.serverSideEncryption, "AES256");
      assert.equal(object.inputs.contentType, "application/json");
    }
  });

  it("tags the bucket, its objects and the image repository with the shared tags it is given, as every taggable resource", () => {
    const large = mocks.resources.filter((r) => r.name.startsWith("large-mcp-"));
    assert.deepEqual(mocks.one("aws:s3/bucket:Bucket", "large-mcp-config-bucket").inputs.tags, sharedTags(planWith(1, "large")));
    assert.deepEqual(awsTagProblems(large), []);
  });

  it("keeps the bucket private, encrypted, versioned and TLS-only; the objects are written after those guards", () => {
    const config = mocks.one("dbwarden:aws:ConfigObjects", "large-mcp-config");
    const byType = Object.fromEntries(under(config).map((r) => [r.type.split(":").pop(), r]));
    assert.deepEqual(byType.BucketPublicAccessBlock!.inputs, {
      bucket: "large-mcp-config-bucket-id",
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    assert.deepEqual(byType.BucketOwnershipControls!.inputs.rule, { objectOwnership: "BucketOwnerEnforced" });
    assert.deepEqual(byType.BucketServerSideEncryptionConfiguration!.inputs.rules, [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]);
    assert.deepEqual(byType.BucketVersioning!.inputs.versioningConfiguration, { status: "Enabled" });
    const policy = JSON.parse(byType.BucketPolicy!.inputs.policy as string);
    assert.deepEqual(policy.Statement[0].Condition, { Bool: { "aws:SecureTransport": "false" } });
    assert.equal(policy.Statement[0].Effect, "Deny");
    const guards = ["BucketPublicAccessBlock", "BucketOwnershipControls", "BucketServerSideEncryptionConfiguration", "BucketVersioning", "BucketPolicy"].map(
      (t) => byType[t]!.urn,
    );
    for (const name of ["large-mcp-config-plan", "large-mcp-config-runtime"]) {
      const object = mocks.one("aws:s3/bucketObjectv2:BucketObjectv2", name);
      for (const guard of guards) assert.ok(object.dependsOn.includes(guard), `${name} waits for ${guard}`);
    }
  });

  it("lets the task role read exactly those two objects, and starts the service after they are written", () => {
    const policy = JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy", "large-mcp-task").inputs.policy as string);
    const read = policy.Statement.find((s: { Sid: string }) => s.Sid === "ReadConfigObjects");
    const bucketArn = "arn:aws:s3:::dbw-large-plan-20260115120000000000000001";
    const runtimeJson = mocks.one("aws:s3/bucketObjectv2:BucketObjectv2", "large-mcp-config-runtime").inputs.content as string;
    assert.deepEqual(read, {
      Sid: "ReadConfigObjects",
      Effect: "Allow",
      Action: ["s3:GetObject"],
      Resource: [`${bucketArn}/plans/large/${sha256(JSON.stringify(large))}.json`, `${bucketArn}/runtimes/large/${sha256(runtimeJson)}.json`],
    });
    const service = mocks.one("aws:ecs/service:Service", "large-mcp-service");
    for (const name of ["large-mcp-config-plan", "large-mcp-config-runtime"])
      assert.ok(service.dependsOn.includes(mocks.one("aws:s3/bucketObjectv2:BucketObjectv2", name).urn));
  });

  it("at 20 workflows: only the plan goes to S3, the runtime config stays in env", () => {
    const env = environmentOf(mocks.one("aws:ecs/taskDefinition:TaskDefinition", "medium-mcp-task"));
    assert.deepEqual(Object.keys(env).sort(), ["DBWARDEN_PLAN_S3", "DBWARDEN_PLAN_SHA256", "DBWARDEN_RUNTIME", "NODE_ENV"]);
    assert.equal(
      mocks
        .byType("aws:s3/bucketObjectv2:BucketObjectv2")
        .filter((o) => o.name.startsWith("medium-"))
        .map((o) => o.name)
        .join(),
      "medium-mcp-config-plan",
    );
    const policy = JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy", "medium-mcp-task").inputs.policy as string);
    assert.equal(policy.Statement.find((s: { Sid: string }) => s.Sid === "ReadConfigObjects").Resource.length, 1);
  });
});
