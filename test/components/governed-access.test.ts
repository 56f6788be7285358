/**
 * `dbwarden:aws:GovernedAccess` for the prod example under recording mocks: every resource, its
 * inputs and options, the secrets, and the committed snapshot of the whole resource graph
 * (regenerate with UPDATE_SNAPSHOTS=1 and review the diff).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import type { GovernedAccess } from "../../components/aws/index.ts";
import {
  ADMIN_PASSWORD,
  AWS_TYPES as T,
  ECR_TOKEN,
  GENERATED_PASSWORD,
  awsInvokes,
  awsOutputs,
  deployProd,
  instanceLookup,
  label,
  subnetCidr,
} from "./support/aws.ts";
import { installMocks, isSecretValue, redactSecrets, type Mocks, type RecordedResource } from "./support/mocks.ts";
import { ROOT, examplePlan } from "./support/plans.ts";

const mocks: Mocks = await installMocks({ invokes: awsInvokes, outputs: awsOutputs, stack: "prod" });
const pulumi = await import("@pulumi/pulumi");
const { accessComponentOf } = await import("../../components/targets.ts");
const { parsePlan, parseRuntime } = await import("../../mcp-server/src/config.ts");

const plan = examplePlan("prod");
const SNAPSHOT = `${ROOT}test/components/snapshots/prod-resource-graph.json`;
const resolve = <T>(output: { apply: (f: (v: T) => void) => unknown }) => new Promise<T>((done) => output.apply(done));

let access: GovernedAccess;
let top: RecordedResource;
/** The prod environment, deployed once under the mocks for every suite of this file. */
const deployed = deployProd(mocks, plan).then((prod) => {
  access = prod.access;
  top = prod.top;
});

describe("GovernedAccess (prod): components, replica, network, credentials", { timeout: 60_000 }, () => {
  before(() => deployed);

  it("parents every resource under the top-level component, through dbwarden components only", () => {
    for (const resource of mocks.resources) {
      if (resource === top) continue;
      assert.ok(resource.parent, `${label(resource)} has a parent`);
      let parent = mocks.byUrn(resource.parent);
      assert.ok(parent.type.startsWith("dbwarden:"), `${label(resource)} parent ${parent.type}`);
      while (parent !== top) parent = mocks.byUrn(parent.parent);
    }
    const tokens = new Set(mocks.resources.filter((r) => !r.custom).map((r) => r.type));
    assert.deepEqual([...tokens].sort(), [
      "dbwarden:aws:ClientCredentials",
      "dbwarden:aws:GovernedAccess",
      "dbwarden:aws:LimitsStore",
      "dbwarden:aws:McpImage",
      "dbwarden:aws:McpService",
      "dbwarden:aws:NetworkBoundary",
      "dbwarden:aws:PrivateEndpoints",
      "dbwarden:aws:QueryLogging",
      "dbwarden:aws:ReadReplica",
      "dbwarden:postgres:ReadOnlyAccess",
    ]);
  });

  it("renders each target's roles and grants with the access component of its platform's engine, connected to that target", () => {
    for (const target of plan.targets) {
      const access = mocks.one(accessComponentOf(target).type, `dbwarden-prod-${target.name}`);
      assert.equal(access.parent, top.urn);
    }
    assert.equal(mocks.byType("dbwarden:postgres:ReadOnlyAccess").length, plan.targets.length);
  });

  it("only calls the invokes it declares", () => {
    assert.deepEqual([...new Set(mocks.invokes.map((i) => i.token))].sort(), Object.keys(awsInvokes).sort());
  });

  it("creates a private, encrypted, IAM-enabled replica of the primary with its own parameter group and pre-created log group", () => {
    const [replica] = mocks.byType(T.instance);
    assert.ok(replica);
    assert.equal(mocks.byType(T.instance).length, 1);
    const i = replica.inputs;
    assert.equal(i.identifier, "dbwarden-prod-app");
    assert.equal(i.replicateSourceDb, instanceLookup("app-prod").dbInstanceArn);
    assert.equal(i.instanceClass, "db.r6g.large");
    assert.equal(i.publiclyAccessible, false);
    assert.equal(i.storageEncrypted, true);
    assert.equal(i.iamDatabaseAuthenticationEnabled, true);
    assert.deepEqual(i.enabledCloudwatchLogsExports, ["postgresql"]);
    assert.equal(i.username, undefined);
    assert.equal(i.password, undefined);
    const parameters = mocks.byType(T.parameterGroup)[0]!;
    assert.equal(parameters.inputs.name, undefined, "auto-named: a new family replaces it, and a fixed name would collide with the old group");
    assert.equal(i.parameterGroupName, "dbwarden-prod-app-replica-parameters-a1b2c3d");
    assert.ok(replica.dependsOn.includes(parameters.urn));
    assert.equal(parameters.inputs.family, "postgres16");
    const byName = Object.fromEntries((parameters.inputs.parameters as { name: string; value: string; applyMethod: string }[]).map((p) => [p.name, p]));
    assert.deepEqual(byName.shared_preload_libraries, { name: "shared_preload_libraries", value: "pg_stat_statements,pgaudit", applyMethod: "pending-reboot" });
    assert.equal(byName["pgaudit.log"]!.value, "read,function");
    assert.equal(byName.max_standby_streaming_delay!.value, String(30_000 + 30_000));
    const logGroup = mocks.byType(T.logGroup).find((g) => g.inputs.name === "/aws/rds/instance/dbwarden-prod-app/postgresql")!;
    assert.equal(logGroup.inputs.retentionInDays, 365);
    assert.ok(replica.dependsOn.includes(logGroup.urn), "the log group exists before RDS exports to it");
    const audit = mocks.byType(T.logGroup).find((g) => g.inputs.name === "/dbwarden/prod/mcp-audit")!;
    assert.equal(audit.inputs.retentionInDays, 365);
  });

  it("lets only the allowed CIDRs reach the load balancer, only it reach the service, only the service reach the replica", () => {
    const sgs = Object.fromEntries(mocks.byType(T.sg).map((g) => [`${g.name}-id`, g.name]));
    const ingress = mocks.byType(T.ingress).map((r) => ({
      to: sgs[r.inputs.securityGroupId as string] ?? r.inputs.securityGroupId,
      from: (r.inputs.cidrIpv4 as string) ?? sgs[r.inputs.referencedSecurityGroupId as string],
      port: r.inputs.fromPort,
    }));
    assert.deepEqual(
      ingress.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [
        { to: "dbwarden-prod-network-app-replica", from: "dbwarden-prod-network-service", port: 5432 },
        { to: "dbwarden-prod-network-lb", from: "10.0.0.0/16", port: 443 },
        { to: "dbwarden-prod-network-lb", from: "192.168.50.0/24", port: 443 },
        { to: "dbwarden-prod-network-service", from: "dbwarden-prod-network-lb", port: 8080 },
        { to: "sg-app-prod", from: "dbwarden-prod-network-app-rotation", port: 5432 },
        // The VPC endpoints: HTTPS from the service and the rotation function only.
        { to: "dbwarden-prod-network-endpoints", from: "dbwarden-prod-network-service", port: 443 },
        { to: "dbwarden-prod-network-endpoints", from: "dbwarden-prod-network-app-rotation", port: 443 },
        // The limits store (two replicas): from the service only.
        { to: "dbwarden-prod-network-limits-store", from: "dbwarden-prod-network-service", port: 6379 },
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    for (const rule of mocks.byType(T.sg)) assert.equal(rule.inputs.ingress, undefined, "no inline rules");
  });

  it("connects the Postgres provider to the primary's address, not the replica, as a non-superuser", () => {
    const provider = mocks.byType("pulumi:providers:postgresql")[0]!;
    assert.equal(provider.inputs.host, instanceLookup("app-prod").address);
    assert.equal(provider.inputs.superuser, "false");
    assert.ok(isSecretValue(provider.inputs.password));
    assert.equal(provider.inputs.username, "dbwarden_admin");
  });

  it("keeps one rotated secret per login in the rotation functions' shape, written write-only", () => {
    const logins = plan.workflows.flatMap((w) => w.roles.logins);
    const secrets = mocks.byType(T.secret).filter((s) => s.name.includes("credentials"));
    assert.deepEqual(secrets.map((s) => s.inputs.name).sort(), logins.map((l) => l.secretName).sort());
    const rotator = mocks.byType("aws:serverlessrepository/cloudFormationStack:CloudFormationStack")[0]!;
    assert.match(String(rotator.inputs.applicationId), /SecretsManagerRDSPostgreSQLRotationMultiUser$/);
    assert.equal(
      (rotator.inputs.parameters as Record<string, string>).masterSecretArn,
      plan.targets[0]!.platformSettings.platform === "aws-rds" ? plan.targets[0]!.platformSettings.adminSecretArn : null,
    );
    const access = mocks.one("dbwarden:postgres:ReadOnlyAccess", "dbwarden-prod-app");
    for (const login of logins) {
      const version = mocks.one(T.secretVersion, `dbwarden-prod-app-credentials-${login.role}-initial`);
      assert.equal(version.inputs.secretString, undefined, "never the stateful secretString");
      assert.ok(isSecretValue(version.inputs.secretStringWo));
      const value = JSON.parse((version.inputs.secretStringWo as { value: string }).value);
      assert.deepEqual(Object.keys(value).sort(), ["dbname", "engine", "host", "masterarn", "password", "port", "username"]);
      assert.equal(value.username, login.role);
      assert.equal(value.host, instanceLookup("app-prod").address, "rotation changes passwords on the primary");
      const rotation = mocks.one(T.rotation, `dbwarden-prod-app-credentials-${login.role}-rotation`);
      assert.deepEqual(rotation.inputs.rotationRules, { automaticallyAfterDays: 30 });
      // Depending on a component means depending on its children: the engine gets their URNs.
      for (const name of [login.role, `${login.role}_clone`]) {
        const role = mocks.one(T.role, name);
        assert.equal(role.parent, access.urn);
        assert.ok(rotation.dependsOn.includes(role.urn), `rotation waits for ${name}`);
      }
      assert.ok(rotation.dependsOn.includes(version.urn));
      const role = mocks.one(T.role, login.role);
      assert.ok(isSecretValue(role.inputs.passwordWo));
      assert.ok(
        mocks.byType(T.role).some((r) => r.name === `${login.role}_clone`),
        "the alternate login exists",
      );
    }
  });
});

describe("GovernedAccess (prod): the MCP service, outputs, secrets, snapshot", { timeout: 60_000 }, () => {
  before(() => deployed);

  it("runs the MCP server read-only, non-root, without public IP, configured by ARN and a plan the server accepts", async () => {
    const task = mocks.byType(T.taskDefinition)[0]!;
    const [container] = JSON.parse(task.inputs.containerDefinitions as string);
    assert.equal(container.readonlyRootFilesystem, true);
    assert.equal(container.user, "10001:10001");
    assert.deepEqual(container.linuxParameters.capabilities.drop, ["ALL"]);
    assert.ok(container.healthCheck.command.join(" ").includes("/healthz"));
    assert.equal(container.secrets, undefined, "no secret injected into env: the server reads its secrets itself, so they can change without a redeploy");
    const env = Object.fromEntries(container.environment.map((e: { name: string; value: string }) => [e.name, e.value]));
    assert.deepEqual(JSON.parse(env.DBWARDEN_PLAN), plan);
    const serverPlan = parsePlan(JSON.parse(env.DBWARDEN_PLAN));
    const runtime = parseRuntime(JSON.parse(env.DBWARDEN_RUNTIME), serverPlan);
    assert.deepEqual(runtime.databases.app, {
      host: "dbwarden-prod-app.abc123.us-east-1.rds.amazonaws.com",
      port: 5432,
      database: "app",
      sslmode: "verify-full",
      ca: "aws-rds",
    });
    const secretArns = await resolve<Record<string, string>>(access.secretIds);
    assert.deepEqual(runtime.logins, Object.fromEntries(Object.entries(secretArns).map(([k, v]) => [k, { awsSecretArn: v }])));
    const apiKeysSecretArn = await resolve<string>(access.apiKeysSecretId);
    assert.deepEqual(runtime.apiKeysFrom, { awsSecretArn: apiKeysSecretArn, refreshSeconds: 60 });
    assert.deepEqual(runtime.apiKeys, []);
    // Internal load balancer in the private subnets: their CIDRs are the only proxies believed about X-Forwarded-For.
    assert.deepEqual(runtime.listen.trustedProxies, plan.targets[0]!.network.subnetIds.map(subnetCidr).sort());
    assert.equal(task.inputs.networkMode, "awsvpc");

    const service = mocks.byType(T.service)[0]!;
    const network = service.inputs.networkConfiguration as { assignPublicIp: boolean; subnets: string[] };
    assert.equal(network.assignPublicIp, false);
    assert.deepEqual(network.subnets, plan.targets[0]!.network.subnetIds);
    assert.equal(service.inputs.desiredCount, 2);

    const taskPolicy = JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy", "dbwarden-prod-mcp-task").inputs.policy as string);
    const limitsSecret = mocks.one(T.secret, "dbwarden-prod-limits-auth");
    const limitsSecretArn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${limitsSecret.inputs.name}-AbCdEf`;
    assert.deepEqual(taskPolicy.Statement, [
      {
        Sid: "ReadOwnLoginSecrets",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        Resource: Object.values(secretArns).sort(),
      },
      { Sid: "ReadApiKeyHashes", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [apiKeysSecretArn] },
      { Sid: "ReadLimitsStoreToken", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [limitsSecretArn] },
    ]);
    const executionPolicy = JSON.parse(mocks.one("aws:iam/rolePolicy:RolePolicy", "dbwarden-prod-mcp-execution").inputs.policy as string);
    assert.deepEqual(
      executionPolicy.Statement.map((st: { Sid: string }) => st.Sid),
      ["WriteAuditLog", "PullImage", "RegistryLogin"],
      "the execution role reads no secret",
    );
    const listener = mocks.byType("aws:lb/listener:Listener")[0]!;
    assert.equal(listener.inputs.protocol, "HTTPS");
    assert.equal(listener.inputs.port, 443);
    assert.equal(listener.inputs.certificateArn, plan.mcpServer.host.platform === "aws-ecs" ? plan.mcpServer.host.certificateArn : null);
    assert.equal(mocks.byType("aws:lb/loadBalancer:LoadBalancer")[0]!.inputs.internal, true);
  });

  it("exports what operators need", async () => {
    assert.equal(await resolve<string>(access.mcpUrl), "https://mcp.data.example.com/mcp");
    assert.deepEqual(await resolve<Record<string, string>>(access.logGroups), {
      mcpAudit: "/dbwarden/prod/mcp-audit",
      app: "/aws/rds/instance/dbwarden-prod-app/postgresql",
    });
    assert.deepEqual(access.roleNames["cs-usage-drop"], {
      group: "dbw_cs_usage_drop",
      logins: ["dbw_cs_usage_drop__claude_cs", "dbw_cs_usage_drop__n8n_cs_digest"],
    });
  });

  it("never records a secret in plain text", () => {
    const raw = JSON.stringify(mocks.resources);
    assert.ok(raw.includes(GENERATED_PASSWORD) && raw.includes(ADMIN_PASSWORD) && raw.includes(ECR_TOKEN), "every value was recorded (inside secret wrappers)");
    const redacted = JSON.stringify(mocks.resources.map((r) => redactSecrets(r.inputs)));
    assert.ok(!redacted.includes(GENERATED_PASSWORD));
    assert.ok(!redacted.includes(ADMIN_PASSWORD));
    assert.ok(!redacted.includes(ECR_TOKEN));
  });

  it("matches the committed resource graph snapshot", () => {
    const graph = resourceGraph(mocks);
    const text = `${JSON.stringify(graph, null, 1)}\n`;
    if (process.env.UPDATE_SNAPSHOTS) writeFileSync(SNAPSHOT, text);
    assert.equal(text, readFileSync(SNAPSHOT, "utf8"), "resource graph changed: review, then regenerate with UPDATE_SNAPSHOTS=1");
  });
});

/**
 * type, name, parent, options and inputs (secrets redacted, the plan JSON elided, the image tag,
 * a hash of mcp-server/'s files, named) of every resource.
 */
function resourceGraph(m: Mocks) {
  const name = (urn: string) => (urn ? label(m.byUrn(urn)) : null);
  return m.resources
    .map((r) => {
      let inputs = JSON.parse(JSON.stringify(redactSecrets(r.inputs)).replace(/:src-[0-9a-f]{20}"/g, ':<hash of mcp-server/>"')) as Record<string, unknown>;
      if (typeof inputs.containerDefinitions === "string") {
        const defs = JSON.parse(inputs.containerDefinitions);
        for (const def of defs) {
          for (const e of def.environment) if (e.name === "DBWARDEN_PLAN") e.value = "<the access plan JSON>";
          def.environment.find((e: { name: string }) => e.name === "DBWARDEN_RUNTIME").value = JSON.parse(
            def.environment.find((e: { name: string }) => e.name === "DBWARDEN_RUNTIME").value,
          );
        }
        inputs = { ...inputs, containerDefinitions: defs };
      }
      return {
        resource: label(r),
        parent: name(r.parent),
        ...(r.provider ? { provider: r.provider.split("::").slice(2, 4).join("::") } : {}),
        ...(r.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
        ...(r.dependsOn.length ? { dependsOn: r.dependsOn.map(name) } : {}),
        inputs,
      };
    })
    .sort((a, b) => a.resource.localeCompare(b.resource));
}
void pulumi;
