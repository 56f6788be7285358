/** `dbwarden:aws:GovernedAccess` for the dev example: existing replica, IAM database authentication. */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { awsTagProblems, instanceLookup, subnetCidr, EXAMPLE_ACCOUNT } from "./support/aws.ts";
import { installMocks, type Mocks } from "../../src/testing/index.ts";
import { exampleCatalog, examplePlan } from "./support/plans.ts";

const mocks: Mocks = await installMocks({ account: EXAMPLE_ACCOUNT, stack: "dev" });
const { GovernedAccess } = await import("../../components/aws/index.ts");
const { parsePlan, parseRuntime } = await import("../../mcp-server/src/config.ts");

const devPlan = examplePlan("dev");

describe("GovernedAccess (dev: existing replica, IAM auth)", { timeout: 60_000 }, () => {
  it("refuses a plan without a TLS certificate, naming the field, before creating anything", async () => {
    const withoutCertificate = structuredClone(devPlan);
    if (withoutCertificate.mcpServer.host.platform === "aws-ecs") withoutCertificate.mcpServer.host.certificateArn = "";
    assert.throws(
      () => new GovernedAccess("no-cert", { plan: withoutCertificate, catalog: exampleCatalog("dev") }),
      /mcpServer\.host\.certificateArn must be an ACM certificate ARN/,
    );
    await mocks.settle();
    assert.deepEqual(
      mocks.resources.map((r) => r.type),
      ["dbwarden:aws:GovernedAccess"],
    );
  });

  describe("with a certificate", () => {
    const plan = structuredClone(devPlan);
    if (plan.mcpServer.host.platform === "aws-ecs") plan.mcpServer.host.certificateArn = "arn:aws:acm:eu-west-1:123456789012:certificate/dev";
    before(async () => {
      mocks.reset();
      new GovernedAccess("dbwarden-dev", { plan, catalog: exampleCatalog("dev") });
      await mocks.settle();
    });

    it("creates no replica, no secrets and no rotation: it looks the replica up", () => {
      assert.equal(mocks.byType("aws:rds/instance:Instance").length, 0);
      assert.equal(mocks.byType("aws:secretsmanager/secretRotation:SecretRotation").length, 0);
      assert.deepEqual(
        mocks.byType("aws:secretsmanager/secret:Secret").map((s) => s.inputs.name),
        ["dbwarden/dev/mcp-api-keys"],
      );
      const looked = mocks.invokes.filter((i) => i.token === "aws:rds/getInstance:getInstance").map((i) => i.inputs.dbInstanceIdentifier);
      assert.deepEqual([...new Set(looked)].sort(), ["app-dev", "app-dev-replica"]);
    });

    it("tags every taggable AWS resource with its owner and workflow", () => {
      assert.deepEqual(awsTagProblems(mocks.resources), []);
    });

    it("egress through NAT and an image from ghcr.io: no VPC endpoints, no registry, no image build, no ECR permission", () => {
      assert.equal(mocks.byType("aws:ec2/vpcEndpoint:VpcEndpoint").length, 0);
      assert.equal(mocks.byType("aws:ec2/securityGroup:SecurityGroup").filter((g) => g.name.endsWith("-endpoints")).length, 0);
      assert.equal(mocks.byType("aws:ecr/repository:Repository").length, 0);
      assert.equal(mocks.byType("docker-build:index:Image").length, 0);
      assert.equal(mocks.byType("aws:elasticache/replicationGroup:ReplicationGroup").length, 0);
      assert.deepEqual([...new Set(mocks.invokes.map((i) => i.token))].sort(), ["aws:ec2/getSubnet:getSubnet", "aws:rds/getInstance:getInstance"]);
      const [container] = JSON.parse(mocks.byType("aws:ecs/taskDefinition:TaskDefinition")[0]!.inputs.containerDefinitions as string);
      assert.equal(container.image, "ghcr.io/dbwarden/mcp-server:0.2.0");
      const execution = JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy", "dbwarden-dev-mcp-execution").inputs.policy as string);
      assert.deepEqual(
        execution.Statement.map((st: { Sid: string }) => st.Sid),
        ["WriteAuditLog"],
      );
    });

    it("opens the existing replica's port to the MCP service only", () => {
      const rule = mocks.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "dbwarden-dev-network-app-replica-in");
      assert.equal(rule.inputs.securityGroupId, "sg-app-dev-replica");
      assert.equal(rule.inputs.referencedSecurityGroupId, "dbwarden-dev-network-service-id");
      assert.equal(rule.inputs.cidrIpv4, undefined);
    });

    it("makes logins members of rds_iam and lets the task role connect as exactly those users", () => {
      const logins = plan.workflows.flatMap((w) => w.roles.logins.map((l) => l.role));
      for (const login of logins) {
        const role = mocks.one("postgresql:index/role:Role", login);
        assert.equal(role.inputs.passwordWo, undefined);
        assert.deepEqual((role.inputs.roles as string[]).slice(1), ["rds_iam"]);
      }
      const provider = mocks.byType("pulumi:providers:postgresql")[0]!;
      assert.equal(provider.inputs.scheme, "awspostgres");
      assert.equal(provider.inputs.username, "postgres_admin");
      assert.equal(provider.inputs.password, undefined);
      const policy = JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy", "dbwarden-dev-mcp-task").inputs.policy as string);
      const resourceId = instanceLookup("app-dev-replica").resourceId;
      assert.deepEqual(policy.Statement, [
        {
          Sid: "ReadApiKeyHashes",
          Effect: "Allow",
          Action: ["secretsmanager:GetSecretValue"],
          Resource: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:dbwarden/dev/mcp-api-keys-AbCdEf"],
        },
        {
          Sid: "ConnectAsOwnDatabaseUsers",
          Effect: "Allow",
          Action: ["rds-db:connect"],
          Resource: logins.map((l) => `arn:aws:rds-db:eu-west-1:123456789012:dbuser:${resourceId}/${l}`).sort(),
        },
      ]);
    });

    it("gives the server a runtime config it accepts: an RDS IAM login per client, over verify-full TLS", () => {
      const task = mocks.byType("aws:ecs/taskDefinition:TaskDefinition")[0]!;
      const [container] = JSON.parse(task.inputs.containerDefinitions as string);
      const env = Object.fromEntries(container.environment.map((e: { name: string; value: string }) => [e.name, e.value]));
      const runtime = parseRuntime(JSON.parse(env.DBWARDEN_RUNTIME), parsePlan(JSON.parse(env.DBWARDEN_PLAN)));
      const logins = plan.workflows.flatMap((w) => w.roles.logins.map((l) => l.role)).sort();
      assert.deepEqual(runtime.logins, Object.fromEntries(logins.map((l) => [l, { awsRdsIam: { region: "eu-west-1" } }])));
      const app = runtime.databases.app as { host: string; sslmode: string; ca?: string };
      assert.equal(app.sslmode, "verify-full");
      assert.equal(app.ca, "aws-rds", "the replica's certificate is checked against Amazon RDS's CAs");
      assert.equal(runtime.limitsStore, undefined, "one replica: no shared limits store");
      assert.equal(app.host, instanceLookup("app-dev-replica").address);
      assert.deepEqual(runtime.apiKeysFrom, {
        awsSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:dbwarden/dev/mcp-api-keys-AbCdEf",
        refreshSeconds: 60,
      });
      assert.deepEqual(runtime.apiKeys, []);
      assert.deepEqual(runtime.listen.trustedProxies, plan.targets[0]!.network.subnetIds.map(subnetCidr).sort());
      assert.equal(container.secrets, undefined, "nothing is injected into env at task start");
    });
  });
});
