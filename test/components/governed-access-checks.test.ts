/**
 * The checks `dbwarden:aws:GovernedAccess` runs before any resource exists (`checkAwsPlan`): the
 * capability checks every host runs on each target (`checkTargetOnHost`, from the contract's
 * capability table) and what RDS and ECS need. Happy paths and each refusal, each naming its field.
 * Pure functions: no mocks.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TARGET_PLATFORMS, type AccessPlan, type TargetOf, type TargetPlan } from "../../src/plan/types.ts";
import { checkAwsPlan, checkMcpServiceArgs, replicaParameters, roleNamesOf } from "../../components/aws/index.ts";
import { ACCESS_COMPONENTS, accessComponentOf, checkTargetOnHost } from "../../components/targets.ts";
import { exampleCatalog, examplePlan } from "./support/plans.ts";

const prod = examplePlan("prod");
const dev = examplePlan("dev");
const local = examplePlan("local");

/** The prod plan with one change. */
function prodWith(change: (plan: AccessPlan, target: TargetPlan) => void): AccessPlan {
  const plan = structuredClone(prod);
  change(plan, plan.targets[0]!);
  return plan;
}

/** The prod plan with a change to its aws-ecs host. */
function prodHostWith(change: (host: Extract<AccessPlan["mcpServer"]["host"], { platform: "aws-ecs" }>) => void): AccessPlan {
  return prodWith((plan) => {
    assert.equal(plan.mcpServer.host.platform, "aws-ecs");
    if (plan.mcpServer.host.platform === "aws-ecs") change(plan.mcpServer.host);
  });
}

const awsSettings = (target: TargetPlan) => {
  assert.equal(target.platformSettings.platform, "aws-rds");
  return target.platformSettings as TargetOf<"aws-rds">["platformSettings"];
};

describe("checkTargetOnHost (capability table)", () => {
  it("accepts each example target on its own host", () => {
    for (const plan of [prod, dev, local]) {
      for (const target of plan.targets) checkTargetOnHost(plan.mcpServer.host.platform, target);
    }
  });

  it("refuses a target the host cannot read, naming targets.<name>.platform and what the host reads", () => {
    assert.throws(
      () => checkTargetOnHost("aws-ecs", local.targets[0]!),
      /^Error: targets\.app\.platform: "postgres" cannot be read by an MCP server on AWS ECS Fargate \(mcpServer\.host\.platform "aws-ecs" reads: aws-rds, snowflake\)$/,
    );
    assert.throws(
      () => checkTargetOnHost("local", prod.targets[0]!),
      /^Error: targets\.app\.platform: "aws-rds" cannot be read by an MCP server on this machine \(dbwarden up\) \(mcpServer\.host\.platform "local" reads: postgres\)$/,
    );
  });

  it("refuses a target without the replica its platform requires", () => {
    const target: TargetPlan = { ...prod.targets[0]!, replica: { mode: "none" } };
    assert.throws(
      () => checkTargetOnHost("aws-ecs", target),
      /^Error: targets\.app\.replica: Amazon RDS for PostgreSQL targets need a replica \(create or existing\), so agents never query the primary$/,
    );
  });

  it("refuses a credential mode the platform lacks, listing the modes the table gives", () => {
    const target: TargetPlan = { ...prod.targets[0]!, credentials: { mode: "keypair", rotationDays: 30 } };
    const modes = TARGET_PLATFORMS["aws-rds"].credentialModes.join(" or ");
    assert.equal(modes, "iam or password");
    assert.throws(
      () => checkTargetOnHost("aws-ecs", target),
      new RegExp(`^Error: targets\\.app\\.credentials\\.mode: "keypair" is not available on Amazon RDS for PostgreSQL; use ${modes}$`),
    );
  });

  it("refuses a statement logging mode the platform lacks", () => {
    const target: TargetPlan = { ...prod.targets[0]!, logging: { statements: "query-history", retentionDays: 30 } };
    assert.throws(
      () => checkTargetOnHost("aws-ecs", target),
      /^Error: targets\.app\.logging\.statements: "query-history" is not available on Amazon RDS for PostgreSQL; use pgaudit or log-statement$/,
    );
  });
});

describe("checkAwsPlan", () => {
  it("returns the RDS targets and the ECS host of the prod and dev plans", () => {
    const checked = checkAwsPlan(prod);
    assert.deepEqual(
      checked.targets.map((t) => t.name),
      ["app"],
    );
    assert.equal(checked.host, prod.mcpServer.host);
    assert.equal(checked.region, "us-east-1");
    assert.equal(checked.vpcId, "vpc-0a1b2c3d4e5f60001");
    assert.deepEqual(checked.subnetIds, ["subnet-0aaa1111bbbb22223", "subnet-0ccc3333dddd44445"]);
    assert.equal(checkAwsPlan(dev).region, "eu-west-1");
  });

  const refusals: [string, AccessPlan, RegExp][] = [
    ["no targets", prodWith((plan) => (plan.targets = [])), /^Error: plan "prod": no targets$/],
    ["a local host", local, /^Error: mcpServer\.host\.platform: "local" is not deployed by dbwarden:aws:GovernedAccess, which deploys aws-ecs hosts/],
    ["no image", prodWith((plan) => (plan.mcpServer.image = null)), /^Error: mcpServer\.image is required/],
    [
      "no ACM certificate",
      prodHostWith((host) => (host.certificateArn = "arn:aws:iam::123456789012:server-certificate/x")),
      /^Error: mcpServer\.host\.certificateArn must be an ACM certificate ARN/,
    ],
    [
      "one host subnet",
      prodHostWith((host) => (host.subnetIds = ["subnet-a"])),
      /^Error: mcpServer\.host\.subnetIds: list private subnets in at least two availability zones$/,
    ],
    [
      "an open MCP endpoint",
      prodWith((plan) => (plan.mcpServer.allowedCidrs = ["0.0.0.0/0"])),
      /^Error: mcpServer\.allowedCidrs: "0\.0\.0\.0\/0" opens the MCP service/,
    ],
    [
      "a target the host cannot read",
      prodWith((_, target) => (target.platform = "gcp-cloudsql")),
      /^Error: targets\.app\.platform: "gcp-cloudsql" cannot be read by an MCP server on AWS ECS Fargate/,
    ],
    ["no replica", prodWith((_, target) => (target.replica = { mode: "none" })), /^Error: targets\.app\.replica: /],
    ["keypair credentials", prodWith((_, target) => (target.credentials = { mode: "keypair", rotationDays: 30 })), /^Error: targets\.app\.credentials\.mode: /],
    ["query-history logging", prodWith((_, target) => (target.logging.statements = "query-history")), /^Error: targets\.app\.logging\.statements: /],
    ["no target VPC", prodWith((_, target) => (target.network.vpcId = null)), /^Error: targets\.app\.network\.vpcId is required on aws-rds$/],
    [
      "one target subnet",
      prodWith((_, target) => (target.network.subnetIds = ["subnet-a"])),
      /^Error: targets\.app\.network\.subnetIds: list private subnets in at least two availability zones$/,
    ],
    [
      "passwords without an admin secret",
      prodWith((_, target) => (awsSettings(target).adminSecretArn = null)),
      /^Error: targets\.app\.primary\.adminSecretArn is required with password credentials/,
    ],
    [
      "an admin secret and masterUserIamAuth both",
      prodWith((_, target) => (awsSettings(target).masterUserIamAuth = true)),
      /^Error: targets\.app\.primary: give adminSecretArn or masterUserIamAuth, not both \(with an admin secret, Pulumi connects with its password\)$/,
    ],
    [
      "IAM credentials without an admin secret, the master user not said to be in rds_iam",
      ((plan) => ((awsSettings(plan.targets[0]!).masterUserIamAuth = false), plan))(structuredClone(dev)),
      /^Error: targets\.app\.primary\.adminSecretArn is absent, so Pulumi would connect to the primary as its master user with an RDS IAM token, which works only once that user is a member of rds_iam/,
    ],
    [
      "another region",
      prodWith((_, target) => (awsSettings(target).region = "eu-west-1")),
      /^Error: targets\.app\.region: "eu-west-1" differs from mcpServer\.host\.region "us-east-1"/,
    ],
    [
      "another VPC",
      prodWith((_, target) => (target.network.vpcId = "vpc-other")),
      /^Error: targets\.app\.network\.vpcId: the MCP service reaches every target from its own VPC \(mcpServer\.host\.vpcId "vpc-0a1b2c3d4e5f60001"\)$/,
    ],
  ];
  for (const [what, plan, message] of refusals) {
    it(`refuses ${what}, naming the field`, () => assert.throws(() => checkAwsPlan(plan), message));
  }
});

describe("replicaParameters", () => {
  it("refuses a logging mode RDS lacks, naming the target's field and the modes from the capability table", () => {
    assert.throws(
      () => replicaParameters({ statements: "query-history", retentionDays: 30 }, prod.workflows, "targets.app"),
      /^Error: targets\.app\.logging\.statements: "query-history" is not available on Amazon RDS for PostgreSQL; use pgaudit or log-statement$/,
    );
  });
});

describe("the Postgres access component's argsFor (ACCESS_COMPONENTS.postgres)", () => {
  const connection = { host: "app-prod.example", username: "admin", password: "not-a-real-password", superuser: false };

  it("gives the access component the plan, the target, its initial passwords (version 1) and pgaudit when the target audits with it", () => {
    const target = checkAwsPlan(prod).targets[0] as TargetOf<"aws-rds">;
    const args = accessComponentOf(target).argsFor({ plan: prod, catalog: exampleCatalog("prod"), catalogSource: "stacks/catalog/prod.json" }, target, {
      connection,
      passwords: { login_a: "pw-a" },
    });
    assert.equal(args.plan, prod);
    assert.equal(args.target, "app");
    assert.equal(args.connection, connection);
    assert.equal(args.catalogSource, "stacks/catalog/prod.json");
    assert.deepEqual(args.passwords, { login_a: { value: "pw-a", version: "1" } });
    assert.deepEqual(args.extensions, ["pgaudit"]);
  });

  it("leaves catalogSource to the component's default and creates no extension with log-statement", () => {
    const target = { ...checkAwsPlan(prod).targets[0]!, logging: { statements: "log-statement" as const, retentionDays: 30 } };
    const args = ACCESS_COMPONENTS.postgres.argsFor({ plan: prod, catalog: exampleCatalog("prod") }, target, { connection, passwords: {} });
    assert.equal("catalogSource" in args, false);
    assert.deepEqual(args.extensions, []);
    assert.deepEqual(args.passwords, {});
  });
});

describe("roleNamesOf", () => {
  it("names the group and logins of every workflow reading the targets", () => {
    const names = roleNamesOf(prod, prod.targets);
    assert.deepEqual(Object.keys(names).sort(), prod.workflows.map((w) => w.name).sort());
    assert.deepEqual(names["cs-usage-drop"], { group: "dbw_cs_usage_drop", logins: ["dbw_cs_usage_drop__claude_cs", "dbw_cs_usage_drop__n8n_cs_digest"] });
    assert.deepEqual(roleNamesOf(prod, []), {});
  });
});

describe("checkMcpServiceArgs", () => {
  const serviceArgs = (plan: AccessPlan, publicSubnetIds?: string[]) => ({
    plan,
    region: "us-east-1",
    databases: {},
    loginSecretArns: {},
    connectArns: [],
    vpcId: "vpc-0a1b2c3d4e5f60001",
    subnetIds: ["subnet-a", "subnet-b"],
    ...(publicSubnetIds ? { publicSubnetIds } : {}),
    loadBalancerSecurityGroupId: "sg-lb",
    serviceSecurityGroupId: "sg-service",
    auditLogGroup: { name: "/dbwarden/prod/mcp-audit", arn: "arn:aws:logs:us-east-1:123456789012:log-group:/dbwarden/prod/mcp-audit" },
  });

  it("makes the load balancer internal when every allowed CIDR is private", () => {
    const checked = checkMcpServiceArgs("mcp", serviceArgs(prod));
    assert.equal(checked.internal, true);
    assert.equal(checked.host, prod.mcpServer.host);
  });

  it("needs two public subnets for an internet-facing load balancer, naming mcpServer.allowedCidrs and publicSubnetIds", () => {
    const open = prodWith((plan) => (plan.mcpServer.allowedCidrs = ["203.0.113.0/24"]));
    assert.throws(
      () => checkMcpServiceArgs("mcp", serviceArgs(open)),
      /^Error: mcp: mcpServer\.allowedCidrs includes public networks, so the load balancer must be internet-facing: pass publicSubnetIds \(two or more\)$/,
    );
    assert.equal(checkMcpServiceArgs("mcp", serviceArgs(open, ["subnet-p1", "subnet-p2"])).internal, false);
  });

  it("refuses a host other than aws-ecs, a missing image, a non-ACM certificate and one subnet, naming the field", () => {
    assert.throws(() => checkMcpServiceArgs("mcp", serviceArgs(local)), /^Error: mcp: mcpServer\.host\.platform must be aws-ecs, got "local"$/);
    assert.throws(
      () => checkMcpServiceArgs("mcp", serviceArgs(prodWith((plan) => (plan.mcpServer.image = null)))),
      /^Error: mcp: mcpServer\.image is required/,
    );
    assert.throws(
      () => checkMcpServiceArgs("mcp", serviceArgs(prodHostWith((host) => (host.certificateArn = "self-signed")))),
      /^Error: mcp: mcpServer\.host\.certificateArn must be an ACM certificate ARN/,
    );
    assert.throws(
      () => checkMcpServiceArgs("mcp", { ...serviceArgs(prod), subnetIds: ["subnet-a"] }),
      /^Error: mcp: subnetIds needs private subnets in at least two availability zones$/,
    );
  });
});
