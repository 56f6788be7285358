/**
 * `dbwarden:aws:GovernedAccess` for the prod example, what a real AWS account needs that mocks
 * never check: names within AWS's limits, the API key secret's first value, what the service waits
 * for, the image and the registry, VPC endpoints, initial passwords held in state, pinned rotation,
 * retained audit logs, the shared limits store, tags, and where the plan goes. Inputs AND options.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { AWS_TYPES as T, GENERATED_PASSWORD, IMAGE_DIGEST, awsTagProblems, deployProd, label, EXAMPLE_ACCOUNT } from "./support/aws.ts";
import { installMocks, isSecretValue, type Mocks, type RecordedResource } from "../../src/testing/index.ts";
import { ROOT, examplePlan } from "./support/plans.ts";

const mocks: Mocks = await installMocks({ account: EXAMPLE_ACCOUNT, stack: "prod" });
const { AWS_NAMED_TYPES, physicalNameLength } = await import("../../components/aws-ecs/plannedNames.ts");
const { buildContextTag } = await import("../../components/aws-ecs/image.ts");
const { isTaggableAwsType } = await import("../../policies/rules/ownerAndWorkflowTags.ts");

const plan = examplePlan("prod");

let top: RecordedResource;
/** The prod environment, deployed once under the mocks for every suite of this file. */
const deployed = deployProd(mocks, plan).then((prod) => void (top = prod.top));

describe("GovernedAccess (prod): names, the API key secret, start order, image, endpoints", { timeout: 60_000 }, () => {
  before(() => deployed);

  it("names every AWS resource within AWS's limits: prefixes for the load balancer, target group and roles", () => {
    for (const resource of mocks.resources) {
      const length = physicalNameLength(resource.type, resource.name, resource.inputs);
      if (length === null) continue;
      assert.ok(length <= AWS_NAMED_TYPES[resource.type]!.limit, `${label(resource)}: ${length} characters`);
    }
    for (const type of ["aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup"]) {
      const [resource] = mocks.byType(type);
      assert.equal(resource!.inputs.namePrefix, "dbw-");
      assert.equal(resource!.inputs.name, undefined);
    }
    assert.equal(physicalNameLength("aws:lb/targetGroup:TargetGroup", "dbwarden-prod-mcp-targets", {}), 33, "what the auto-name was: one over AWS's 32");
    assert.deepEqual(
      mocks
        .byType("aws:iam/role:Role")
        .map((r) => r.inputs.namePrefix)
        .sort(),
      ["dbw-prod-mcp-exec-", "dbw-prod-mcp-task-"],
    );
  });

  it("gives the API key secret a first value ([]) that neither a refresh nor a second up puts back", () => {
    const secret = mocks.one(T.secret, "dbwarden-prod-mcp-api-keys");
    const initial = mocks.one(T.secretVersion, "dbwarden-prod-mcp-api-keys-initial");
    assert.equal(initial.inputs.secretId, `${secret.name}-id`);
    assert.ok(isSecretValue(initial.inputs.secretString), "the provider keeps a secret's value secret");
    assert.equal((initial.inputs.secretString as { value: string }).value, "[]");
    assert.deepEqual(initial.inputs.versionStages, ["AWSCURRENT", "dbwarden-initial"], "its own label: AWS never deletes it, so a refresh never drops it");
    assert.deepEqual(initial.ignoreChanges.sort(), ["secretString", "versionStages"], "keys added later move AWSCURRENT: an up never moves it back");
    assert.equal(initial.parent, mocks.one("dbwarden:aws:McpService", "dbwarden-prod-mcp").urn);
  });

  it("starts the service only after what it reads at start, and waits for it to be steady", () => {
    const service = mocks.byType(T.service)[0]!;
    assert.equal(service.inputs.waitForSteadyState, true);
    const waitsFor = (type: string, name: string) => assert.ok(service.dependsOn.includes(mocks.one(type, name).urn), `the service waits for ${type} ${name}`);
    waitsFor(T.secretVersion, "dbwarden-prod-mcp-api-keys-initial");
    waitsFor("aws:iam/rolePolicy:RolePolicy", "dbwarden-prod-mcp-task");
    waitsFor("aws:iam/rolePolicy:RolePolicy", "dbwarden-prod-mcp-execution");
    waitsFor("docker-build:index:Image", "dbwarden-prod-mcp-image-build");
    waitsFor("aws:elasticache/replicationGroup:ReplicationGroup", "dbwarden-prod-limits-store");
    waitsFor(T.secretVersion, "dbwarden-prod-limits-auth-value");
    for (const endpoint of mocks.byType("aws:ec2/vpcEndpoint:VpcEndpoint")) waitsFor(endpoint.type, endpoint.name);
    const access = mocks.one("dbwarden:postgres:ReadOnlyAccess", "dbwarden-prod-app");
    const credentials = mocks.one("dbwarden:aws:ClientCredentials", "dbwarden-prod-app-credentials");
    for (const child of mocks.resources.filter((r) => r.custom && (r.parent === access.urn || r.parent === credentials.urn))) waitsFor(child.type, child.name);
    assert.ok(
      mocks.byType(T.role).every((role) => service.dependsOn.includes(role.urn)),
      "every role and grant exists before a task logs in",
    );
    assert.ok(mocks.byType(T.grant).every((grant) => service.dependsOn.includes(grant.urn)));
  });

  it("builds the image from mcp-server/ into an immutable, scanned ECR repository the execution role alone may pull from", () => {
    const repository = mocks.one("aws:ecr/repository:Repository", "dbwarden-prod-mcp-image-repository");
    assert.equal(repository.inputs.name, "dbwarden/prod/mcp-server");
    assert.equal(repository.inputs.imageTagMutability, "IMMUTABLE");
    assert.deepEqual(repository.inputs.imageScanningConfiguration, { scanOnPush: true });
    const build = mocks.one("docker-build:index:Image", "dbwarden-prod-mcp-image-build");
    // The repository root: the image installs exactly the root lockfile's versions and packages/contract.
    assert.deepEqual(build.inputs.context, { location: "." });
    assert.deepEqual(build.inputs.dockerfile, { location: "mcp-server/Dockerfile" });
    assert.deepEqual(build.inputs.platforms, ["linux/amd64"]);
    assert.equal(build.inputs.push, true);
    const url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/dbwarden/prod/mcp-server";
    assert.deepEqual(build.inputs.tags, [`${url}:${buildContextTag(ROOT)}`]);
    const [registry] = build.inputs.registries as { address: string; username: string; password: unknown }[];
    assert.equal(registry!.address, url);
    assert.equal(registry!.username, "AWS");
    assert.ok(isSecretValue(registry!.password), "the registry token stays secret");
    assert.deepEqual(
      mocks.invokes.filter((i) => i.token === "aws:ecr/getAuthorizationToken:getAuthorizationToken").map((i) => i.inputs.registryId),
      ["123456789012"],
    );
    const [container] = JSON.parse(mocks.byType(T.taskDefinition)[0]!.inputs.containerDefinitions as string);
    assert.equal(container.image, `${url}@${IMAGE_DIGEST}`, "tasks run exactly the pushed image, by digest");
    const executionPolicy = JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy", "dbwarden-prod-mcp-execution").inputs.policy as string);
    assert.deepEqual(executionPolicy.Statement.slice(1), [
      {
        Sid: "PullImage",
        Effect: "Allow",
        Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        Resource: ["arn:aws:ecr:us-east-1:123456789012:repository/dbwarden/prod/mcp-server"],
      },
      { Sid: "RegistryLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: ["*"] },
    ]);
  });

  it("gives the private subnets interface endpoints (ECR, Secrets Manager, Logs) and the S3 gateway on their route tables", () => {
    const endpoints = mocks.byType("aws:ec2/vpcEndpoint:VpcEndpoint");
    const group = mocks.one(T.sg, "dbwarden-prod-network-endpoints");
    const host = plan.mcpServer.host.platform === "aws-ecs" ? plan.mcpServer.host : null;
    const interfaces = endpoints.filter((e) => e.inputs.vpcEndpointType === "Interface");
    assert.deepEqual(interfaces.map((e) => e.inputs.serviceName).sort(), [
      "com.amazonaws.us-east-1.ecr.api",
      "com.amazonaws.us-east-1.ecr.dkr",
      "com.amazonaws.us-east-1.logs",
      "com.amazonaws.us-east-1.secretsmanager",
    ]);
    for (const endpoint of interfaces) {
      assert.equal(endpoint.inputs.privateDnsEnabled, true);
      assert.deepEqual(endpoint.inputs.subnetIds, host!.subnetIds);
      assert.deepEqual(endpoint.inputs.securityGroupIds, [`${group.name}-id`]);
      assert.equal(endpoint.inputs.vpcId, host!.vpcId);
    }
    const gateway = mocks.one("aws:ec2/vpcEndpoint:VpcEndpoint", "dbwarden-prod-endpoints-s3");
    assert.equal(gateway.inputs.serviceName, "com.amazonaws.us-east-1.s3");
    assert.equal(gateway.inputs.vpcEndpointType, "Gateway");
    // The first subnet has its own route table; the second uses the VPC's main table.
    assert.deepEqual(gateway.inputs.routeTableIds, ["rtb-main-vpc-0a1b2c3d4e5f60001", "rtb-subnet-0aaa1111bbbb22223"]);
    const lookedUp = mocks.invokes
      .filter((i) => i.token === "aws:ec2/getRouteTables:getRouteTables")
      .map((i) => (i.inputs.filters as { values: string[] }[])[0]!.values[0]);
    assert.deepEqual(lookedUp.sort(), host!.subnetIds);
    for (const rotation of mocks.byType(T.rotation)) {
      for (const endpoint of endpoints)
        assert.ok(rotation.dependsOn.includes(endpoint.urn), "the first rotation runs during up: the function needs its route to Secrets Manager");
    }
  });
});

describe("GovernedAccess (prod): passwords, rotation, logs, limits store, tags, plan delivery", { timeout: 60_000 }, () => {
  before(() => deployed);

  it("generates each login's initial password once (RandomPassword, in state) and keeps the first secret version from coming back", () => {
    assert.equal(mocks.invokes.filter((i) => i.token.includes("getRandomPassword")).length, 0, "no invoke that rolls a new password every run");
    const access = mocks.one("dbwarden:postgres:ReadOnlyAccess", "dbwarden-prod-app");
    for (const login of plan.workflows.flatMap((w) => w.roles.logins)) {
      const password = mocks.one("random:index/randomPassword:RandomPassword", `dbwarden-prod-app-${login.role}-password`);
      assert.equal(password.parent, top.urn);
      assert.equal(password.inputs.length, 40);
      assert.equal(password.inputs.overrideSpecial, "-_=.");
      const role = mocks.one(T.role, login.role);
      assert.equal(role.parent, access.urn);
      assert.ok(role.dependsOn.includes(password.urn), "the role's password is the generated one");
      const version = mocks.one(T.secretVersion, `dbwarden-prod-app-credentials-${login.role}-initial`);
      assert.ok(version.dependsOn.includes(password.urn));
      assert.deepEqual(version.inputs.versionStages, ["AWSCURRENT", "dbwarden-initial"]);
      assert.deepEqual(version.ignoreChanges, ["versionStages"]);
    }
  });

  it("pins the rotation application, names its stack and function within limits, and keeps the audit log groups after the stack", () => {
    const rotator = mocks.byType("aws:serverlessrepository/cloudFormationStack:CloudFormationStack")[0]!;
    assert.equal(rotator.inputs.semanticVersion, "1.1.671");
    assert.equal(rotator.inputs.name, "dbw-prod-app-rotation");
    assert.equal((rotator.inputs.parameters as Record<string, string>).functionName, "dbw-prod-app-rotation");
    for (const group of mocks.byType(T.logGroup)) assert.equal(group.retainOnDelete, true, `${group.name} outlives the stack`);
    const replica = mocks.byType(T.instance)[0]!;
    assert.deepEqual(replica.customTimeouts, { create: "4h", update: "2h", delete: "1h" });
    for (const group of [...mocks.byType(T.parameterGroup), ...mocks.byType("aws:rds/subnetGroup:SubnetGroup")])
      assert.equal(group.inputs.name, undefined, `${group.name} is auto-named`);
  });

  it("shares a TLS, encrypted, AUTH-protected Valkey store between the two replicas, reachable from the service only", async () => {
    const store = mocks.one("aws:elasticache/replicationGroup:ReplicationGroup", "dbwarden-prod-limits-store");
    assert.equal(store.inputs.engine, "valkey");
    assert.equal(store.inputs.transitEncryptionEnabled, true);
    assert.equal(store.inputs.atRestEncryptionEnabled, true);
    assert.equal(store.inputs.replicationGroupId, "dbw-prod-limits");
    assert.equal(store.deleteBeforeReplace, true, "a fixed id: the old store goes first");
    assert.ok(isSecretValue(store.inputs.authTokenWo));
    assert.deepEqual(store.inputs.securityGroupIds, ["dbwarden-prod-network-limits-store-id"]);
    const token = mocks.one("random:index/randomPassword:RandomPassword", "dbwarden-prod-limits-auth-token");
    assert.deepEqual([token.inputs.length, token.inputs.special], [64, false]);
    const value = mocks.one(T.secretVersion, "dbwarden-prod-limits-auth-value");
    assert.ok(isSecretValue(value.inputs.secretStringWo));
    assert.deepEqual(JSON.parse((value.inputs.secretStringWo as { value: string }).value), { password: GENERATED_PASSWORD });
    const [container] = JSON.parse(mocks.byType(T.taskDefinition)[0]!.inputs.containerDefinitions as string);
    const runtime = JSON.parse(container.environment.find((e: { name: string }) => e.name === "DBWARDEN_RUNTIME").value);
    assert.deepEqual(runtime.limitsStore, {
      host: "master.dbw-prod-limits.abc123.use1.cache.amazonaws.com",
      port: 6379,
      tls: true,
      auth: { awsSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:dbwarden/prod/limits-store-auth-AbCdEf" },
      keyPrefix: "dbwarden:prod:",
    });
    const egress = mocks.one(T.egress, "dbwarden-prod-network-service-out-limits-store");
    assert.deepEqual([egress.inputs.fromPort, egress.inputs.referencedSecurityGroupId], [6379, "dbwarden-prod-network-limits-store-id"]);
  });

  it("tags every taggable AWS resource with its owner and workflow, and each login secret with its login and expiry", () => {
    const taggable = mocks.resources.filter((r) => r.custom && isTaggableAwsType(r.type)).length;
    assert.ok(taggable > 40, `${taggable} taggable resources`);
    assert.deepEqual(awsTagProblems(mocks.resources), []);
    assert.deepEqual(mocks.one(T.service, "dbwarden-prod-mcp-service").inputs.tags, {
      "dbwarden:environment": "prod",
      "dbwarden:owner": "data-platform",
      "dbwarden:workflow": "shared",
    });
    const incident = plan.workflows.find((w) => w.name === "eng-incident-investigation")!;
    const secret = mocks.one(T.secret, "dbwarden-prod-app-credentials-dbw_eng_incident_investigation__cursor_oncall");
    assert.deepEqual(secret.inputs.tags, {
      "dbwarden:environment": "prod",
      "dbwarden:owner": incident.owner,
      "dbwarden:workflow": "eng-incident-investigation",
      "dbwarden:client": "cursor-oncall",
      "dbwarden:login": "dbw_eng_incident_investigation__cursor_oncall",
      "dbwarden:target": "app",
      "dbwarden:expires": "2027-03-31",
    });
  });

  it("gives the plan in the task's environment while the whole task definition fits 64 KiB", () => {
    const [container] = JSON.parse(mocks.byType(T.taskDefinition)[0]!.inputs.containerDefinitions as string);
    assert.deepEqual(
      container.environment.map((e: { name: string }) => e.name),
      ["DBWARDEN_PLAN", "DBWARDEN_RUNTIME", "NODE_ENV"],
    );
    assert.ok(Buffer.byteLength(mocks.byType(T.taskDefinition)[0]!.inputs.containerDefinitions as string) < 60 * 1024);
    assert.equal(mocks.byType("aws:s3/bucket:Bucket").length, 0, "no plan bucket for a plan that fits");
  });
});
