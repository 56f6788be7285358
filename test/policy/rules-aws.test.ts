/**
 * The AWS rules through their real handlers: for each, a compliant resource (where there is one,
 * what dbwarden's own components produce) passes and the same resource with one field changed is
 * reported.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { UnknownValueError } from "@pulumi/policy";
import { LogGroup } from "@pulumi/aws/cloudwatch/logGroup.js";
import { SecurityGroup } from "@pulumi/aws/ec2/securityGroup.js";
import { SecurityGroupRule } from "@pulumi/aws/ec2/securityGroupRule.js";
import { Service } from "@pulumi/aws/ecs/service.js";
import { TaskDefinition } from "@pulumi/aws/ecs/taskDefinition.js";
import { LoadBalancer } from "@pulumi/aws/lb/loadBalancer.js";
import { Instance } from "@pulumi/aws/rds/instance.js";
import { ParameterGroup } from "@pulumi/aws/rds/parameterGroup.js";
import { Secret } from "@pulumi/aws/secretsmanager/secret.js";
import { SecretRotation } from "@pulumi/aws/secretsmanager/secretRotation.js";
import { SecurityGroupIngressRule } from "@pulumi/aws/vpc/securityGroupIngressRule.js";
import { Role } from "@pulumi/postgresql/role.js";
import { containerDefinitions } from "../../components/aws-ecs/mcpService.ts";
import { replicaParameters } from "../../components/aws-rds/replica.ts";
import { agentsThroughReplica } from "../../policies/rules/agentsThroughReplica.ts";
import { logRetention } from "../../policies/rules/logRetention.ts";
import { mcpContainerHardened } from "../../policies/rules/mcpContainerHardened.ts";
import { mcpImageAllowed } from "../../policies/rules/mcpImageAllowed.ts";
import { imageAllowed, imageRepository } from "../../policies/lib/images.ts";
import { mcpLoadBalancerInternal } from "../../policies/rules/mcpLoadBalancerInternal.ts";
import { mcpSecretsByReference } from "../../policies/rules/mcpSecretsByReference.ts";
import { noOpenIngress } from "../../policies/rules/noOpenIngress.ts";
import { notPubliclyAccessible } from "../../policies/rules/notPubliclyAccessible.ts";
import { ownerAndWorkflowTags } from "../../policies/rules/ownerAndWorkflowTags.ts";
import { longestRotationGapDays, passwordRotation } from "../../policies/rules/passwordRotation.ts";
import { queryLogging } from "../../policies/rules/queryLogging.ts";
import { UNKNOWN } from "../../src/policy/standins.ts";
import { UNTAGGABLE_AWS_TYPES, isTaggableAwsType } from "../../src/tags.ts";
import { examplePlan } from "../components/support/plans.ts";
import { inputResource, resourceViolations, stackViolations, typeOf, type TestResource } from "./support/run.ts";

const ingress = (fields: Record<string, unknown> = {}): TestResource => ({
  type: SecurityGroupIngressRule,
  props: { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "10.0.0.0/16", ...fields },
});

describe("no-open-ingress", () => {
  const judge = (resource: TestResource) => resourceViolations(noOpenIngress, resource, { protectedPorts: [443, 5432, 8080] });

  it("passes rules from named networks, and open rules to unprotected ports", async () => {
    assert.deepEqual(await judge(ingress()), []);
    assert.deepEqual(await judge(ingress({ cidrIpv4: "0.0.0.0/0", fromPort: 80, toPort: 80 })), []);
    assert.deepEqual(
      await judge({
        type: SecurityGroupRule,
        props: { type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], securityGroupId: "sg-1" },
      }),
      [],
    );
  });

  it("reports the whole internet on a protected port, a range covering one, or every protocol", async () => {
    assert.deepEqual(await judge(ingress({ cidrIpv4: "0.0.0.0/0" })), ["ingress rule admits 0.0.0.0/0 to port 443: anyone on the internet can reach it"]);
    assert.match((await judge(ingress({ cidrIpv4: undefined, cidrIpv6: "::/0", fromPort: 5000, toPort: 6000 })))[0]!, /admits ::\/0 to port 5432/);
    assert.match((await judge(ingress({ cidrIpv4: "0.0.0.0/0", ipProtocol: "-1" })))[0]!, /on every protocol and port/);
    assert.match(
      (
        await judge({
          type: SecurityGroupRule,
          props: { type: "ingress", protocol: "tcp", fromPort: 8080, toPort: 8080, cidrBlocks: ["10.0.0.0/8", "0.0.0.0/0"], securityGroupId: "sg-1" },
        })
      )[0]!,
      /admits 0\.0\.0\.0\/0 to port 8080/,
    );
    const inline = await judge({
      type: SecurityGroup,
      props: { vpcId: "vpc-1", ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["0.0.0.0/0"] }] },
    });
    assert.match(inline[0]!, /inline ingress\[0\] admits 0\.0\.0\.0\/0 to port 5432/);
  });
});

describe("not-publicly-accessible and mcp-load-balancer-internal", () => {
  it("passes private instances and services, reports public ones", async () => {
    const replica = { identifier: "dbwarden-prod-app", replicateSourceDb: "arn:aws:rds:us-east-1:123456789012:db:app-prod", publiclyAccessible: false };
    assert.deepEqual(await resourceViolations(notPubliclyAccessible, { type: Instance, props: replica }), []);
    assert.deepEqual(await resourceViolations(notPubliclyAccessible, { type: Instance, props: { ...replica, publiclyAccessible: true } }), [
      "read replica dbwarden-prod-app is publicly accessible: it gets an address reachable from the internet",
    ]);
    assert.match(
      (await resourceViolations(notPubliclyAccessible, { type: Instance, props: { ...replica, identifier: UNKNOWN, publiclyAccessible: true } }))[0]!,
      /read replica \(known after deployment\) is publicly accessible/,
      "a name unknown at preview does not hide the violation",
    );
    const service = { name: "dbwarden-prod-mcp", networkConfiguration: { subnets: ["subnet-a"], assignPublicIp: false } };
    assert.deepEqual(await resourceViolations(notPubliclyAccessible, { type: Service, props: service }), []);
    assert.match(
      (
        await resourceViolations(notPubliclyAccessible, {
          type: Service,
          props: { ...service, networkConfiguration: { subnets: ["subnet-a"], assignPublicIp: true } },
        })
      )[0]!,
      /assigns public IPs/,
    );
  });

  it("advises against an internet-facing load balancer", async () => {
    assert.deepEqual(await resourceViolations(mcpLoadBalancerInternal, { type: LoadBalancer, props: { internal: true, securityGroups: ["sg-1"] } }), []);
    assert.match(
      (await resourceViolations(mcpLoadBalancerInternal, { type: LoadBalancer, props: { name: "mcp", internal: false, securityGroups: ["sg-1"] } }))[0]!,
      /load balancer mcp is internet-facing$/,
    );
    assert.match((await resourceViolations(mcpLoadBalancerInternal, { type: LoadBalancer, props: { name: "mcp" } }))[0]!, /no security group of its own/);
  });
});

/** dbwarden's own container definition for the MCP server, with a runtime config. */
function mcpTask(runtime: object, container: Record<string, unknown> = {}): TestResource {
  const [definition] = JSON.parse(
    containerDefinitions({
      image: "ghcr.io/dbwarden/mcp-server:0.1.0",
      port: 8080,
      planJson: JSON.stringify({ workflows: [] }),
      runtimeJson: JSON.stringify(runtime),
      logGroupName: "/dbwarden/prod/mcp-audit",
      region: "us-east-1",
    }),
  );
  return {
    type: TaskDefinition,
    name: "mcp-task",
    props: { family: "dbwarden-prod-mcp", containerDefinitions: JSON.stringify([{ ...definition, ...container }]) },
  };
}
const runtime = {
  databases: { app: { host: "dbwarden-prod-app.abc123.us-east-1.rds.amazonaws.com", port: 5432, database: "app", sslmode: "verify-full" } },
  logins: { dbw_finance_weekly__bot: { awsSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x" } },
};
const replicaInstance: TestResource = {
  type: Instance,
  name: "replica",
  props: { identifier: "dbwarden-prod-app", replicateSourceDb: "arn:aws:rds:us-east-1:123456789012:db:app-prod" },
};

describe("agents-through-replica", () => {
  it("passes an MCP server reading a replica of the stack, or a listed replica", async () => {
    assert.deepEqual(await stackViolations(agentsThroughReplica, [replicaInstance, mcpTask(runtime)]), []);
    const existing = { ...runtime, databases: { app: { ...runtime.databases.app, host: "app-dev-replica.xyz.eu-west-1.rds.amazonaws.com" } } };
    assert.deepEqual(await stackViolations(agentsThroughReplica, [mcpTask(existing)], { replicaIdentifiers: ["app-dev-replica"] }), []);
  });

  it("reports an MCP server reading the primary", async () => {
    const primary = { ...runtime, databases: { app: { ...runtime.databases.app, host: "app-prod.abc123.us-east-1.rds.amazonaws.com" } } };
    const violations = await stackViolations(agentsThroughReplica, [replicaInstance, mcpTask(primary)]);
    assert.deepEqual(
      violations.map((v) => v.message),
      [
        "the MCP server (container mcp-server) reads target app at app-prod.abc123.us-east-1.rds.amazonaws.com, " +
          "which is not a read replica of this stack nor a listed replica (dbwarden-prod-app)",
      ],
    );
    assert.equal(violations[0]!.urn, inputResource(mcpTask(primary)).urn.replace("resource-0", "mcp-task"));
    const { replicateSourceDb: _, ...notAReplica } = replicaInstance.props;
    assert.equal(
      (await stackViolations(agentsThroughReplica, [{ ...replicaInstance, props: notAReplica }, mcpTask(runtime)])).length,
      1,
      "the same instance without replicateSourceDb",
    );
  });
});

describe("password-rotation", () => {
  const secret: TestResource = {
    type: Secret,
    name: "secret",
    props: { name: "dbwarden/prod/finance/bot", tags: { "dbwarden:workflow": "finance-weekly", "dbwarden:client": "bot" } },
  };
  const rotation = (rules: Record<string, unknown>, extra: Record<string, unknown> = {}): TestResource => ({
    type: SecretRotation,
    name: "rotation",
    props: { secretId: "secret-id", rotationLambdaArn: "arn:aws:lambda:us-east-1:123456789012:function:r", rotationRules: rules, ...extra },
    propertyDependencies: { secretId: [inputResource(secret).urn.replace("resource-0", "secret")] },
  });
  const login: TestResource = { type: Role, name: "login", props: { name: "dbw_finance_weekly__bot", login: true, passwordWo: "x", passwordWoVersion: "1" } };
  const config = {
    workflows: [
      {
        name: "finance-weekly",
        owner: "finance",
        expires: null,
        database: "app",
        group: "dbw_finance_weekly",
        logins: [{ role: "dbw_finance_weekly__bot", client: "bot" }],
        justifiedColumns: [],
      },
    ],
    maxRotationDays: 90,
  };
  const judge = (resources: TestResource[]) => stackViolations(passwordRotation, resources, config).then((vs) => vs.map((v) => v.message));

  it("passes a password login whose secret rotates in time, and an IAM login with no password", async () => {
    assert.deepEqual(await judge([secret, rotation({ automaticallyAfterDays: 30 }), login]), []);
    assert.deepEqual(await judge([{ ...login, props: { name: "dbw_finance_weekly__bot", login: true, roles: ["dbw_finance_weekly", "rds_iam"] } }]), []);
    assert.deepEqual(
      await judge([
        { ...secret, props: { name: "s", tags: { "dbwarden:login": "dbw_finance_weekly__bot" } } },
        rotation({ scheduleExpression: "rate(7 days)" }),
        login,
      ]),
      [],
      "found by the dbwarden:login tag",
    );
  });

  it("reports a rotation too slow, disabled or of unknown period, and a password nothing rotates", async () => {
    assert.deepEqual(await judge([secret, rotation({ automaticallyAfterDays: 180 }), login]), [
      "secret rotation rotation rotates every 180 days, more than 90",
    ]);
    assert.deepEqual(await judge([secret, rotation({ automaticallyAfterDays: 30 }, { rotationEnabled: false }), login]), [
      "secret rotation rotation is disabled",
      "agent login dbw_finance_weekly__bot has a password, and no rotated secret in this stack holds " +
        "it (tag `dbwarden:login: dbw_finance_weekly__bot`, or dbwarden:workflow + dbwarden:client)",
    ]);
    assert.match((await judge([secret, rotation({ scheduleExpression: "cron(0 12 1 1/3 ? *)" }), login]))[0]!, /longest gap cannot be told/);
    assert.deepEqual(await judge([login]), [
      "agent login dbw_finance_weekly__bot has a password, and no rotated secret in this stack holds " +
        "it (tag `dbwarden:login: dbw_finance_weekly__bot`, or dbwarden:workflow + dbwarden:client)",
    ]);
  });

  it("reads schedules", () => {
    assert.equal(longestRotationGapDays({ automaticallyAfterDays: 30 }), 30);
    assert.equal(longestRotationGapDays({ scheduleExpression: "rate(12 hours)" }), 0.5);
    assert.equal(longestRotationGapDays({ scheduleExpression: "cron(0 16 ? * * *)" }), 1);
    assert.equal(longestRotationGapDays({ scheduleExpression: "cron(0 16 ? * MON *)" }), 7);
    assert.equal(longestRotationGapDays({ scheduleExpression: "cron(0 16 1,15 * ? *)" }), 31);
    assert.equal(longestRotationGapDays({ scheduleExpression: "cron(0 16 1 6 ? *)" }), null);
  });
});

describe("query-logging and log-retention", () => {
  const plan = examplePlan("prod");
  const parameters = (statements: "pgaudit" | "log-statement") => replicaParameters({ statements, retentionDays: 365 }, plan.workflows, "targets.app");
  const group = (params: unknown): TestResource => ({
    type: ParameterGroup,
    name: "params",
    props: { name: "dbwarden-prod-app", family: "postgres16", parameters: params },
  });
  const instance = (fields: Record<string, unknown> = {}): TestResource => ({
    type: Instance,
    name: "replica",
    props: {
      identifier: "dbwarden-prod-app",
      replicateSourceDb: "arn",
      parameterGroupName: "dbwarden-prod-app",
      enabledCloudwatchLogsExports: ["postgresql"],
      ...fields,
    },
  });
  const judge = (resources: TestResource[]) => stackViolations(queryLogging, resources).then((vs) => vs.map((v) => v.message));

  it("passes dbwarden's replica parameters (pgaudit and log-statement) with the log export, and its MCP task", async () => {
    assert.deepEqual(await judge([group(parameters("pgaudit")), instance(), mcpTask(runtime)]), []);
    assert.deepEqual(await judge([group(parameters("log-statement")), instance()]), []);
    assert.deepEqual(
      await judge([instance({ replicateSourceDb: undefined, parameterGroupName: undefined })]),
      [],
      "an instance agents do not read (no replica, no dbwarden:target tag)",
    );
  });

  it("reports a replica that exports or logs nothing, and an MCP container without a log driver", async () => {
    assert.match((await judge([group(parameters("pgaudit")), instance({ enabledCloudwatchLogsExports: [] })]))[0]!, /does not export its postgresql log/);
    assert.match((await judge([group([{ name: "log_statement", value: "ddl" }]), instance()]))[0]!, /its parameter group params logs no statements/);
    assert.match(
      (await judge([group(parameters("pgaudit").filter((p) => p.name !== "shared_preload_libraries")), instance()]))[0]!,
      /logs no statements/,
      "pgaudit configured but not loaded",
    );
    assert.match((await judge([instance({ parameterGroupName: undefined })]))[0]!, /uses the default parameter group/);
    assert.match((await judge([instance({ parameterGroupName: "somewhere-else" })]))[0]!, /parameter group somewhere-else, which is not in this stack/);
    assert.match((await judge([mcpTask(runtime, { logConfiguration: undefined })]))[0]!, /container mcp-server has no logConfiguration/);
  });

  it("log-retention: passes long enough or unlimited retention, reports short retention of query logs only", async () => {
    const judgeGroup = (props: Record<string, unknown>) => resourceViolations(logRetention, { type: LogGroup, props }, { minRetentionDays: 365 });
    assert.deepEqual(await judgeGroup({ name: "/aws/rds/instance/dbwarden-prod-app/postgresql", retentionInDays: 365 }), []);
    assert.deepEqual(await judgeGroup({ name: "/dbwarden/prod/mcp-audit" }), [], "never expires");
    assert.deepEqual(await judgeGroup({ name: "/app/web", retentionInDays: 7 }), [], "not a query log");
    assert.deepEqual(await judgeGroup({ name: "/dbwarden/prod/mcp-audit", retentionInDays: 90 }), [
      "log group /dbwarden/prod/mcp-audit keeps logs 90 days, less than 365",
    ]);
    assert.match((await judgeGroup({ name: "custom", retentionInDays: 30, tags: { "dbwarden:target": "app" } }))[0]!, /keeps logs 30 days/);
  });
});

describe("mcp-image-allowed", () => {
  const judge = (resource: TestResource, config: object = {}) => resourceViolations(mcpImageAllowed, resource, config);

  it("passes dbwarden's released image by any tag or digest, and a listed repository", async () => {
    assert.deepEqual(await judge(mcpTask(runtime)), []);
    assert.deepEqual(await judge(mcpTask(runtime, { image: `ghcr.io/dbwarden/mcp-server@sha256:${"b".repeat(64)}` })), []);
    const built = `123456789012.dkr.ecr.us-east-1.amazonaws.com/dbwarden/prod/mcp-server@sha256:${"c".repeat(64)}`;
    assert.deepEqual(await judge(mcpTask(runtime, { image: built }), { allowedImages: ["*.dkr.ecr.us-east-1.amazonaws.com/dbwarden/prod/mcp-server"] }), []);
  });

  it("reports an image from another registry or repository, naming it and the allow-list", async () => {
    assert.deepEqual(await judge(mcpTask(runtime, { image: "registry.example.net/mcp-server:0.1.0" })), [
      "container mcp-server runs image registry.example.net/mcp-server:0.1.0, which is not on the allow-list (ghcr.io/dbwarden/mcp-server)",
    ]);
    assert.equal((await judge(mcpTask(runtime, { image: "ghcr.io/dbwarden/mcp-server-fork:0.1.0" }))).length, 1, "a lookalike repository");
    assert.equal((await judge(mcpTask(runtime, { image: "ghcr.io/dbwarden/mcp-server/../evil:1" }))).length, 1);
    const elsewhere = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbwarden/prod/mcp-server:1";
    assert.equal(
      (await judge(mcpTask(runtime, { image: elsewhere }), { allowedImages: ["*.dkr.ecr.us-east-1.amazonaws.com/dbwarden/prod/mcp-server"] })).length,
      1,
      "* never spans a /",
    );
    assert.deepEqual(await judge(mcpTask(runtime, { image: undefined })), [
      "container mcp-server runs image (none), which is not on the allow-list (ghcr.io/dbwarden/mcp-server)",
    ]);
    assert.deepEqual(await judge({ type: TaskDefinition, props: { containerDefinitions: "not json" } }), [
      "containerDefinitions is not a JSON list of containers",
    ]);
  });

  it("reads an image's repository without its tag and digest (a registry's port is not a tag)", () => {
    assert.equal(imageRepository("ghcr.io/dbwarden/mcp-server:0.2.0"), "ghcr.io/dbwarden/mcp-server");
    assert.equal(imageRepository(`ghcr.io/dbwarden/mcp-server:0.2.0@sha256:${"d".repeat(64)}`), "ghcr.io/dbwarden/mcp-server");
    assert.equal(imageRepository("localhost:5000/mcp-server"), "localhost:5000/mcp-server");
    assert.ok(!imageAllowed("localhost:5000/mcp-server:1", ["localhost"]));
  });
});

describe("mcp-container-hardened and mcp-secrets-by-reference", () => {
  const hardened = (resource: TestResource) => resourceViolations(mcpContainerHardened, resource);
  const secrets = (resource: TestResource) => resourceViolations(mcpSecretsByReference, resource);

  it("passes dbwarden's own container definition", async () => {
    assert.deepEqual(await hardened(mcpTask(runtime)), []);
    assert.deepEqual(await secrets(mcpTask(runtime)), []);
    assert.deepEqual(
      await secrets(mcpTask(runtime, { secrets: [{ name: "DB_PASSWORD", valueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x" }] })),
      [],
      "secrets by reference",
    );
  });

  it("reports root, a writable root filesystem, privileged mode and added capabilities", async () => {
    assert.deepEqual(await hardened(mcpTask(runtime, { user: "0:0" })), ['container mcp-server runs as "0:0": root']);
    assert.deepEqual(await hardened(mcpTask(runtime, { user: undefined })), ["container mcp-server runs as the image's default user (no `user`): root"]);
    assert.deepEqual(await hardened(mcpTask(runtime, { readonlyRootFilesystem: false })), [
      "container mcp-server has a writable root filesystem (readonlyRootFilesystem is not true)",
    ]);
    assert.match((await hardened(mcpTask(runtime, { privileged: true })))[0]!, /is privileged/);
    assert.match((await hardened(mcpTask(runtime, { linuxParameters: { capabilities: { add: ["NET_ADMIN"] } } })))[0]!, /adds Linux capabilities NET_ADMIN/);
    assert.deepEqual(await hardened({ type: TaskDefinition, props: { containerDefinitions: "not json" } }), [
      "containerDefinitions is not a JSON list of containers",
    ]);
  });

  it("reports secrets in plain environment and inline database passwords, naming them but never their values", async () => {
    const plain = await secrets(mcpTask(runtime, { environment: [{ name: "DATABASE_PASSWORD", value: "hunter2" }] }));
    assert.deepEqual(plain, ["container mcp-server sets DATABASE_PASSWORD in plain environment: a secret written into the task definition"]);
    const inline = await secrets(mcpTask({ ...runtime, logins: { dbw_finance_weekly__bot: { password: "hunter2" } } }));
    assert.deepEqual(inline, ["container mcp-server: DBWARDEN_RUNTIME holds the password of login dbw_finance_weekly__bot inline"]);
    assert.doesNotMatch([...plain, ...inline].join("\n"), /hunter2/);
  });

  it("stops when the container definitions are unknown at preview", async () => {
    await assert.rejects(hardened({ type: TaskDefinition, props: { containerDefinitions: UNKNOWN } }), UnknownValueError);
  });
});

describe("owner-and-workflow-tags", () => {
  const judge = (resource: TestResource, config: object = {}) => resourceViolations(ownerAndWorkflowTags, resource, config);
  const tags = { "dbwarden:owner": "finance", "dbwarden:workflow": "finance-weekly" };

  it("passes a tagged resource, shared resources, and resources that take no tags", async () => {
    assert.deepEqual(await judge({ type: Secret, props: { tags } }), []);
    assert.deepEqual(
      await judge({ type: Secret, props: { tags: { ...tags, "dbwarden:workflow": "shared" } } }, { workflows: [{ name: "finance-weekly" }] }),
      [],
    );
    assert.deepEqual(await judge({ type: SecretRotation, props: { secretId: "x" } }), []);
    assert.deepEqual(await judge({ type: Role, props: { name: "dbw_x" } }), [], "not an AWS resource");
  });

  it("reports missing tags and a workflow tag naming no workflow (mandatory: dbwarden's components tag everything)", async () => {
    assert.equal(ownerAndWorkflowTags.enforcementLevel, "mandatory");
    assert.deepEqual(await judge({ type: Secret, props: { tags: { "dbwarden:workflow": "finance-weekly" } } }), ["lacks tag dbwarden:owner"]);
    assert.deepEqual(await judge({ type: Secret, props: {} }), ["lacks tags dbwarden:owner, dbwarden:workflow"]);
    assert.deepEqual(await judge({ type: Secret, props: { tags: { ...tags, "dbwarden:workflow": "finance" } } }, { workflows: [{ name: "finance-weekly" }] }), [
      'tagged dbwarden:workflow: finance, which is no workflow of this environment (or "shared")',
    ]);
  });

  it("knows which AWS types take no tags, as the provider's schema says", () => {
    const types = [
      "aws:secretsmanager/secret:Secret",
      "aws:rds/instance:Instance",
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      "aws:ecs/taskDefinition:TaskDefinition",
      ...UNTAGGABLE_AWS_TYPES,
    ];
    for (const type of types) {
      const [, module, name] = /^aws:([a-z0-9]+)\/([a-zA-Z0-9]+):/.exec(type)!;
      const declaration = readFileSync(new URL(`../../node_modules/@pulumi/aws/${module}/${name}.d.ts`, import.meta.url), "utf8");
      const args = declaration.slice(declaration.indexOf(`export interface ${name![0]!.toUpperCase()}${name!.slice(1)}Args`));
      assert.equal(isTaggableAwsType(type), /\n {4}tags\?:/.test(args), type);
    }
    assert.equal(typeOf(Secret), "aws:secretsmanager/secret:Secret");
  });
});
