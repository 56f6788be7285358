/**
 * The Snowflake stacks under mocks (stacks/environments/snowflake.yaml, and mixed.yaml with RDS):
 * every Snowflake resource with its inputs and options, the preview features of the provider
 * (this test fails when a resource of a preview type appears without its feature enabled), the
 * key secrets, the server's runtime config, nothing secret in plain text, and the committed graph.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import { awsTagProblems, EXAMPLE_ACCOUNT } from "./support/aws.ts";
import { packReports, packResources } from "../support/pack-over-mocks.ts";
import { installMocks, redactSecrets, type Mocks, type RecordedResource } from "../../src/testing/index.ts";
import { ROOT, AS_OF } from "./support/plans.ts";
import { planStack } from "../../src/plan/index.ts";
import { loadCatalog } from "../../components/postgres/catalog.ts";

const mocks: Mocks = await installMocks({ account: EXAMPLE_ACCOUNT, stack: "snowflake" });
const { GovernedAccess } = await import("../../components/aws/index.ts");
const { SNOWFLAKE_PREVIEW_FEATURES, publicKeyProblems, snowflakePlanProblems } = await import("../../components/snowflake/index.ts");
const { parsePlan, parseRuntime } = await import("../../mcp-server/src/config.ts");
const { parseSnowflakeRotationConfig } = await import("../../src/plan/types.ts");

const SNAPSHOT = `${ROOT}test/components/snapshots/snowflake-resource-graph.json`;
const SF = "snowflake:index/";
const JOB = "dbwarden-snowflake-warehouse-key-rotation";
const ADMIN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbwarden/snowflake/deployer-Ab12Cd";

/** Every Snowflake resource whose type is a preview feature must use a provider that enables it. */
function previewProblems(m: Mocks): string[] {
  const problems: string[] = [];
  for (const r of m.resources) {
    const feature = SNOWFLAKE_PREVIEW_FEATURES[r.type];
    if (!feature) continue;
    const provider = r.provider ? m.resources.find((p) => r.provider.startsWith(`${p.urn}::`)) : undefined;
    const enabled = providerList(provider?.inputs.previewFeaturesEnabled);
    if (!enabled.includes(feature)) problems.push(`${r.name} (${r.type}) needs ${feature} in its provider's previewFeaturesEnabled`);
  }
  return problems;
}

/** A provider's list input: providers receive their inputs JSON-encoded. */
function providerList(value: unknown): string[] {
  return typeof value === "string" ? (JSON.parse(value) as string[]) : ((value as string[] | undefined) ?? []);
}

function graph(m: Mocks) {
  const label = (r: RecordedResource) => `${r.type}::${r.name}`;
  const name = (urn: string) => (urn ? label(m.byUrn(urn)) : null);
  return m.resources
    .filter((r) => r.type.startsWith("snowflake") || r.type.startsWith("pulumi:providers:snowflake") || r.type.startsWith("dbwarden:snowflake"))
    .map((r) => {
      const inputs = redactSecrets(r.inputs) as Record<string, unknown>;
      if (typeof inputs.rsaPublicKey === "string") inputs.rsaPublicKey = "<generated RSA-2048 public key>";
      return {
        resource: label(r),
        parent: name(r.parent),
        ...(r.provider ? { provider: r.provider.split("::").slice(2, 4).join("::") } : {}),
        ...(r.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
        ...(r.ignoreChanges.length ? { ignoreChanges: r.ignoreChanges } : {}),
        ...(r.dependsOn.length ? { dependsOn: r.dependsOn.map(name) } : {}),
        inputs,
      };
    });
}

/** The key-rotation job of the snowflake stack, every resource with its inputs and options. */
function assertEcsRotationJob(): void {
  const component = mocks.one("dbwarden:snowflake:KeyRotationOnEcs", JOB);
  assert.equal(mocks.byUrn(component.parent).type, "dbwarden:aws:GovernedAccess");
  const children = mocks.resources.filter((r) => r.parent === component.urn);
  assert.deepEqual(children.map((r) => `${r.type}::${r.name}`).sort(), [
    `aws:cloudwatch/logGroup:LogGroup::${JOB}-log`,
    `aws:ec2/securityGroup:SecurityGroup::${JOB}`,
    `aws:ecs/taskDefinition:TaskDefinition::${JOB}`,
    `aws:iam/role:Role::${JOB}-exec`,
    `aws:iam/role:Role::${JOB}-sched`,
    `aws:iam/role:Role::${JOB}-task`,
    `aws:iam/rolePolicy:RolePolicy::${JOB}-exec`,
    `aws:iam/rolePolicy:RolePolicy::${JOB}-sched`,
    `aws:iam/rolePolicy:RolePolicy::${JOB}-task`,
    `aws:scheduler/schedule:Schedule::${JOB}`,
    `aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::${JOB}-out-https`,
  ]);
  // It starts once the service users and their first keys exist.
  const after = component.dependsOn.map((u) => mocks.byUrn(u).name);
  for (const name of [
    "dbwarden-snowflake-warehouse-sales-analytics-claude-revops-user",
    "dbwarden-snowflake-warehouse-dbw_sales_analytics__claude_revops-key",
    "dbwarden-snowflake-warehouse-dbw_sales_analytics__claude_revops-key-first",
  ])
    assert.ok(after.includes(name), name);
  const log = mocks.one("aws:cloudwatch/logGroup:LogGroup", `${JOB}-log`);
  assert.deepEqual([log.inputs.name, log.inputs.retentionInDays, log.retainOnDelete], ["/dbwarden/snowflake/snowflake-key-rotation/warehouse", 365, true]);

  const secretArn = mocks.byType("aws:secretsmanager/secret:Secret").find((s) => s.inputs.name === "dbwarden/snowflake/sales-analytics/claude-revops")!;
  const keyArn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:dbwarden/snowflake/sales-analytics/claude-revops-AbCdEf`;
  assert.ok(secretArn);
  const policy = (suffix: string) => JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy", `${JOB}-${suffix}`).inputs.policy as string);
  assert.deepEqual(policy("task").Statement, [
    {
      Sid: "RotateKeySecrets",
      Effect: "Allow",
      Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"],
      Resource: [keyArn],
    },
    { Sid: "ReadAdminSecret", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [ADMIN] },
  ]);
  assert.deepEqual(
    policy("exec").Statement.map((s: { Sid: string }) => s.Sid),
    ["WriteAuditLog"],
    "the spec's image is pulled from its registry; the execution role writes the job's log only",
  );
  assert.deepEqual(policy("exec").Statement[0].Resource, [
    `arn:aws:logs:us-east-1:123456789012:log-group:/dbwarden/snowflake/snowflake-key-rotation/warehouse:*`,
  ]);
  const definition = mocks.one("aws:ecs/taskDefinition:TaskDefinition", JOB);
  const cluster = `arn:aws:ecs:us-east-1:123456789012:dbwarden-snowflake-mcp-cluster`;
  const roleArn = (suffix: string) => `arn:aws:iam:us-east-1:123456789012:${JOB}-${suffix}`;
  assert.deepEqual(policy("sched").Statement, [
    {
      Sid: "RunRotationTask",
      Effect: "Allow",
      Action: ["ecs:RunTask"],
      Resource: [`arn:aws:ecs:us-east-1:123456789012:${JOB}`],
      Condition: { ArnEquals: { "ecs:cluster": cluster } },
    },
    {
      Sid: "PassRotationRoles",
      Effect: "Allow",
      Action: ["iam:PassRole"],
      Resource: [roleArn("exec"), roleArn("task")],
      Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
    },
  ]);
  const trust = (suffix: string) => JSON.parse(mocks.one("aws:iam/role:Role", `${JOB}-${suffix}`).inputs.assumeRolePolicy as string).Statement[0];
  assert.deepEqual(trust("sched"), {
    Effect: "Allow",
    Principal: { Service: "scheduler.amazonaws.com" },
    Action: "sts:AssumeRole",
    Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
  });
  assert.deepEqual([trust("task").Principal, trust("exec").Principal], [{ Service: "ecs-tasks.amazonaws.com" }, { Service: "ecs-tasks.amazonaws.com" }]);
  assert.deepEqual(
    ["exec", "task", "sched"].map((s) => mocks.one("aws:iam/role:Role", `${JOB}-${s}`).inputs.namePrefix),
    ["dbw-snowflake-warehouse-keys-exec-", "dbw-snowflake-warehouse-keys-task-", "dbw-snowflake-warehouse-keys-sched-"],
  );

  const { containerDefinitions, ...task } = definition.inputs;
  assert.deepEqual(task, {
    family: "dbw-snowflake-warehouse-key-rotation",
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu: "256",
    memory: "512",
    runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
    executionRoleArn: roleArn("exec"),
    taskRoleArn: roleArn("task"),
    volumes: [{ name: "tmp" }],
    tags: definition.inputs.tags,
  });
  const [container] = JSON.parse(containerDefinitions as string);
  assert.deepEqual(container.entryPoint, ["node", "dist/snowflake-rotator.js"]);
  assert.equal(container.command, undefined, "the image's CMD (the server's flags) is not passed to the job");
  assert.equal(container.image, "ghcr.io/dbwarden/mcp-server:0.2.0");
  assert.deepEqual([container.user, container.readonlyRootFilesystem, container.linuxParameters.capabilities], ["10001:10001", true, { drop: ["ALL"] }]);
  const env = Object.fromEntries(container.environment.map((e: { name: string; value: string }) => [e.name, e.value]));
  assert.deepEqual(parseSnowflakeRotationConfig(env.DBWARDEN_SNOWFLAKE_ROTATION), {
    account: "myorg-prod",
    warehouse: "AGENTS_XS",
    database: "ANALYTICS",
    adminSecret: { awsSecretArn: ADMIN },
    logins: [{ secret: { awsSecretArn: keyArn }, role: "DBW_SALES_ANALYTICS" }],
    waitSeconds: 360,
  });
  assert.deepEqual(container.logConfiguration.options, {
    "awslogs-group": "/dbwarden/snowflake/snowflake-key-rotation/warehouse",
    "awslogs-region": "eu-west-1",
    "awslogs-stream-prefix": "rotation",
  });

  const schedule = mocks.one("aws:scheduler/schedule:Schedule", JOB);
  assert.deepEqual(schedule.inputs, {
    name: "dbw-snowflake-warehouse-key-rotation",
    description: "dbwarden snowflake: rotate the Snowflake keys of target warehouse every 30 days",
    scheduleExpression: "rate(30 days)",
    scheduleExpressionTimezone: "UTC",
    flexibleTimeWindow: { mode: "OFF" },
    state: "ENABLED",
    target: {
      arn: cluster,
      roleArn: roleArn("sched"),
      ecsParameters: {
        taskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:${JOB}`,
        launchType: "FARGATE",
        platformVersion: "LATEST",
        taskCount: 1,
        networkConfiguration: {
          subnets: ["subnet-0snow0000000000a1", "subnet-0snow0000000000b2"],
          securityGroups: [`${JOB}-id`],
          assignPublicIp: false,
        },
      },
      retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
    },
  });
  // It exists only once its roles may do what it needs, and its task's group lets HTTPS out.
  const before = schedule.dependsOn.map((u) => `${mocks.byUrn(u).type}::${mocks.byUrn(u).name}`);
  for (const needed of [
    ...["exec", "task", "sched"].map((s) => `aws:iam/rolePolicy:RolePolicy::${JOB}-${s}`),
    `aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule::${JOB}-out-https`,
  ])
    assert.ok(before.includes(needed), needed);
}

describe("the snowflake stack", { timeout: 120_000 }, () => {
  const plan = planStack("snowflake", { root: ROOT, now: AS_OF });
  before(async () => {
    mocks.reset();
    new GovernedAccess("dbwarden-snowflake", { plan, catalog: loadCatalog("snowflake", ROOT) });
    await mocks.settle();
  });

  it("passes the Snowflake preflight", () => {
    assert.deepEqual(snowflakePlanProblems(plan, plan.targets[0] as never), []);
  });

  it(
    "a role with USAGE on warehouse, database and dbwarden's schema, SELECT on " +
      "secure views of the readable columns, never on a base table with hidden columns",
    () => {
      assert.deepEqual(mocks.one(`${SF}accountRole:AccountRole`, "dbwarden-snowflake-warehouse-sales-analytics-role").inputs, {
        name: "DBW_SALES_ANALYTICS",
        comment: "dbwarden workflow sales-analytics (owner revenue-ops)",
      });
      const grants = mocks.byType(`${SF}grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole`);
      const on = grants.map((g) => ({ privileges: g.inputs.privileges, on: g.inputs.onAccountObject ?? g.inputs.onSchema ?? g.inputs.onSchemaObject }));
      assert.deepEqual(on, [
        { privileges: ["USAGE"], on: { objectType: "WAREHOUSE", objectName: "AGENTS_XS" } },
        { privileges: ["USAGE"], on: { objectType: "DATABASE", objectName: "ANALYTICS" } },
        { privileges: ["USAGE"], on: { schemaName: '"ANALYTICS"."DBWARDEN"' } },
        { privileges: ["SELECT"], on: { objectType: "VIEW", objectName: '"ANALYTICS"."DBWARDEN"."DBW_SALES_ANALYTICS__SALES__CUSTOMERS"' } },
        // ORDERS names its columns (rule "only"): a view of them too. No grant on SALES or its base tables at all.
        { privileges: ["SELECT"], on: { objectType: "VIEW", objectName: '"ANALYTICS"."DBWARDEN"."DBW_SALES_ANALYTICS__SALES__ORDERS"' } },
      ]);
      assert.ok(grants.every((g) => g.deleteBeforeReplace && g.inputs.accountRoleName === "DBW_SALES_ANALYTICS"));
      const view = mocks.byType(`${SF}view:View`)[0]!;
      assert.deepEqual(
        [view.inputs.isSecure, view.inputs.statement],
        ["true", 'SELECT "ID", "NAME", "REGION", "CREATED_AT" FROM "ANALYTICS"."SALES"."CUSTOMERS"'],
      );
    },
  );

  it(
    "a service user per client: key pair only, secondary roles NONE, its role, " + "the network policy, a timeout and a query tag; keys ignored after creation",
    () => {
      const user = mocks.byType(`${SF}serviceUser:ServiceUser`)[0]!;
      const { rsaPublicKey, ...rest } = user.inputs;
      assert.deepEqual(
        { ...rest, loginName: (rest.loginName as { value: string }).value },
        {
          name: "DBW_SALES_ANALYTICS__CLAUDE_REVOPS",
          loginName: "DBW_SALES_ANALYTICS__CLAUDE_REVOPS",
          comment: "dbwarden: MCP login of workflow sales-analytics",
          defaultRole: "DBW_SALES_ANALYTICS",
          defaultSecondaryRolesOption: "NONE",
          defaultWarehouse: "AGENTS_XS",
          networkPolicy: "DBWARDEN_SNOWFLAKE_WAREHOUSE",
          queryTag: "dbwarden workflow=sales-analytics",
          statementTimeoutInSeconds: 60,
        },
      );
      assert.deepEqual(publicKeyProblems(rsaPublicKey as string, "rsaPublicKey"), []);
      assert.deepEqual(user.ignoreChanges.sort(), ["rsaPublicKey", "rsaPublicKey2"]);
      assert.equal(mocks.byType(`${SF}grantAccountRole:GrantAccountRole`)[0]!.inputs.userName, "DBW_SALES_ANALYTICS__CLAUDE_REVOPS");
      assert.deepEqual(mocks.byType(`${SF}networkRule:NetworkRule`)[0]!.inputs.valueLists, ["198.51.100.10/32", "198.51.100.11/32"]);
      assert.deepEqual(mocks.byType(`${SF}networkPolicy:NetworkPolicy`)[0]!.inputs.allowedNetworkRuleLists, ['"ANALYTICS"."DBWARDEN"."MCP_EGRESS"']);
    },
  );

  it("every Snowflake resource uses the component's provider, which enables exactly the preview features in use", () => {
    const providers = mocks.byType("pulumi:providers:snowflake");
    assert.equal(providers.length, 1);
    assert.deepEqual(providerList(providers[0]!.inputs.previewFeaturesEnabled), ["snowflake_network_rule_resource"]);
    assert.deepEqual([providers[0]!.inputs.organizationName, providers[0]!.inputs.accountName], ["MYORG", "PROD"]);
    assert.ok(mocks.resources.filter((r) => r.type.startsWith(SF)).every((r) => r.provider.startsWith(providers[0]!.urn)));
    assert.deepEqual(previewProblems(mocks), []);
  });

  it("the check itself fails when a preview-type resource's provider lacks the feature", () => {
    const provider = mocks.byType("pulumi:providers:snowflake")[0]!;
    const saved = provider.inputs.previewFeaturesEnabled;
    provider.inputs.previewFeaturesEnabled = "[]";
    try {
      assert.deepEqual(previewProblems(mocks), [
        "dbwarden-snowflake-warehouse-egress-rule (snowflake:index/networkRule:NetworkRule) " +
          "needs snowflake_network_rule_resource in its provider's previewFeaturesEnabled",
      ]);
    } finally {
      provider.inputs.previewFeaturesEnabled = saved;
    }
  });

  it("the private key in a Secrets Manager secret the server reads (never in plain text), the account as its endpoint", () => {
    const secret = mocks.byType("aws:secretsmanager/secret:Secret").find((s) => s.inputs.name === "dbwarden/snowflake/sales-analytics/claude-revops")!;
    assert.ok(secret);
    const version = mocks.byType("aws:secretsmanager/secretVersion:SecretVersion").find((v) => v.name.endsWith("-key-first"))!;
    assert.deepEqual(version.ignoreChanges, ["secretString"]);
    assert.doesNotMatch(JSON.stringify(mocks.resources.map((r) => redactSecrets(r.inputs))), /PRIVATE KEY/);
    const [container] = JSON.parse(mocks.byType("aws:ecs/taskDefinition:TaskDefinition")[0]!.inputs.containerDefinitions as string);
    const env = Object.fromEntries(container.environment.map((e: { name: string; value: string }) => [e.name, e.value]));
    const runtime = parseRuntime(JSON.parse(env.DBWARDEN_RUNTIME), parsePlan(JSON.parse(env.DBWARDEN_PLAN)));
    assert.deepEqual(runtime.databases.warehouse, { snowflakeAccount: { account: "myorg-prod", warehouse: "AGENTS_XS", database: "ANALYTICS" } });
    assert.match(JSON.stringify(runtime.logins.dbw_sales_analytics__claude_revops), /awsSecretArn.*dbwarden\/snowflake\/sales-analytics\/claude-revops/);
  });

  it("tags every taggable AWS resource (the key secrets with their login, the key-rotation job's) with its owner and workflow", () => {
    assert.deepEqual(awsTagProblems(mocks.resources), []);
  });

  it("opens nothing in the VPC towards Snowflake: no database security group, and the rotation job's group lets nothing in", () => {
    const groups = mocks.byType("aws:ec2/securityGroup:SecurityGroup").filter((g) => g.name.includes("warehouse"));
    assert.deepEqual(
      groups.map((g) => g.name),
      [JOB],
    );
    const rules = mocks.resources.filter((r) => r.type.startsWith("aws:vpc/securityGroup") && r.name.startsWith(JOB));
    assert.deepEqual(
      rules.map((r) => [r.type, r.inputs.fromPort, r.inputs.cidrIpv4]),
      [["aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", 443, "0.0.0.0/0"]],
    );
  });

  it("the key-rotation job: a task of the server's image running the job, its own roles, started by EventBridge Scheduler every rotationDays", () =>
    assertEcsRotationJob());

  it("the policy pack reports nothing in the stack, the key-rotation job's resources included", async () => {
    assert.deepEqual(await packReports(plan, await packResources(mocks.resources)), []);
  });

  it("matches the committed resource graph snapshot of its Snowflake resources", () => {
    const text = `${JSON.stringify(graph(mocks), null, 1)}\n`;
    if (process.env.UPDATE_SNAPSHOTS) writeFileSync(SNAPSHOT, text);
    assert.equal(text, readFileSync(SNAPSHOT, "utf8"), "resource graph changed: review, then regenerate with UPDATE_SNAPSHOTS=1");
  });
});

describe("the mixed stack (RDS and Snowflake on one ECS host)", { timeout: 120_000 }, () => {
  it("deploys both targets' access: Postgres roles on RDS, Snowflake roles in the account, one MCP service reading both", async () => {
    mocks.reset();
    const plan = planStack("mixed", { root: ROOT, now: AS_OF });
    new GovernedAccess("dbwarden-mixed", { plan, catalog: loadCatalog("mixed", ROOT) });
    await mocks.settle();
    assert.equal(mocks.byType("dbwarden:postgres:ReadOnlyAccess").length, 1);
    assert.equal(mocks.byType("dbwarden:snowflake:ReadOnlyAccess").length, 1);
    assert.equal(mocks.byType(`${SF}serviceUser:ServiceUser`).length, 1);
    const [container] = JSON.parse(mocks.byType("aws:ecs/taskDefinition:TaskDefinition")[0]!.inputs.containerDefinitions as string);
    const runtime = JSON.parse(container.environment.find((e: { name: string }) => e.name === "DBWARDEN_RUNTIME").value);
    assert.deepEqual(Object.keys(runtime.databases).sort(), ["app", "warehouse"]);
    assert.deepEqual(previewProblems(mocks), []);
    assert.deepEqual(awsTagProblems(mocks.resources), []);
  });
});
