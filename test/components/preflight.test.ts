/**
 * The AWS preflight (components/aws-ecs/preflight.ts): what AWS, the rotation function or Postgres on
 * RDS would refuse deep inside `pulumi up`, reported before anything is created. Each check is a
 * plain function over the plan and what the lookups answered; here each is given a fact that
 * breaks it, and must name the spec field and the fix, never a secret's value.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import type { AccessPlan, TargetOf } from "../../src/plan/types.ts";
import {
  egressProblems,
  lookUpPreflightFacts,
  partitionProblems,
  preflightAws,
  preflightReport,
  subnetProblems,
  tagValueProblems,
  type InstanceFacts,
  type PreflightLookups,
} from "../../components/aws-ecs/preflight.ts";
import { adminSecretProblems, existingReplicaProblems, pgauditProblems, primaryProblems, rotationCloneProblems } from "../../components/aws-rds/preflight.ts";
import { checkAwsPlan, type AwsHost } from "../../components/aws/index.ts";
import { ADMIN_PASSWORD, SUBNET_VPCS, adminSecret, instanceLookup, subnetZone } from "./support/aws.ts";
import { longestNamesPlan } from "./support/longest.ts";
import { STAND_IN, standInInvoke } from "../../src/policy/standins.ts";
import { examplePlan } from "./support/plans.ts";

const prod = examplePlan("prod");
const dev = examplePlan("dev");
const prodTarget = () => checkAwsPlan(prod).targets[0] as TargetOf<"aws-rds">;
const devTarget = () => checkAwsPlan(dev).targets[0] as TargetOf<"aws-rds">;
const hostOf = (plan: AccessPlan) => checkAwsPlan(plan).host;
const primary = (change: Partial<InstanceFacts> = {}, identifier = "app-prod"): InstanceFacts => ({ ...instanceLookup(identifier), ...change });

/** Lookups answering like an account that matches the examples; `change` breaks one answer. */
function lookups(change: Partial<PreflightLookups> = {}): PreflightLookups & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    instance: async (id) => (calls.push(`instance ${id}`), primary({}, id)),
    secretString: async (arn) => (calls.push(`secret ${arn}`), JSON.stringify(adminSecret())),
    subnet: async (id) => (calls.push(`subnet ${id}`), { vpcId: SUBNET_VPCS[id] ?? "vpc-unknown", availabilityZone: subnetZone(id) }),
    vpc: async (id) => (calls.push(`vpc ${id}`), { enableDnsSupport: true, enableDnsHostnames: true }),
    ...change,
  };
}

describe("preflight on the examples", () => {
  it("passes prod and dev, looking up each primary, existing replica, admin secret, subnet and (with VPC endpoints) the VPC once", async () => {
    const prodLookups = lookups();
    const report = await preflightAws(prod, "dbwarden-prod", prodLookups);
    assert.deepEqual(report.problems, []);
    assert.deepEqual(prodLookups.calls.sort(), [
      "instance app-prod",
      `secret ${prodTarget().platformSettings.adminSecretArn}`,
      "subnet subnet-0aaa1111bbbb22223",
      "subnet subnet-0ccc3333dddd44445",
      "vpc vpc-0a1b2c3d4e5f60001",
    ]);
    assert.equal(report.warnings.length, 1);
    assert.match(
      report.warnings[0]!,
      /^mcpServer\.oidc\.issuer: with egress vpc-endpoints the tasks reach https:\/\/auth\.example\.com\/ \(its signing keys\) only if/,
    );
    const devLookups = lookups();
    assert.deepEqual(await preflightAws(dev, "dbwarden-dev", devLookups), { problems: [], warnings: [] });
    assert.deepEqual(
      devLookups.calls.sort(),
      ["instance app-dev", "instance app-dev-replica", "subnet subnet-0dev00000000000a1", "subnet subnet-0dev00000000000b2"],
      "no admin secret, NAT: no VPC lookup",
    );
  });

  it("passes on `dbwarden check`'s stand-ins, which answer as an account matching the spec would", async () => {
    for (const plan of [prod, dev]) {
      const standIns: PreflightLookups = {
        instance: async (id) => standInInvoke("aws:rds/getInstance:getInstance", { dbInstanceIdentifier: id }, plan) as unknown as InstanceFacts,
        secretString: async (arn) => String(standInInvoke("aws:secretsmanager/getSecretVersion:getSecretVersion", { secretId: arn }, plan).secretString),
        subnet: async (id) => standInInvoke("aws:ec2/getSubnet:getSubnet", { id }, plan) as unknown as { vpcId: string; availabilityZone: string },
        vpc: async (id) => standInInvoke("aws:ec2/getVpc:getVpc", { id }, plan) as unknown as { enableDnsSupport: boolean; enableDnsHostnames: boolean },
      };
      const report = preflightReport(plan, await lookUpPreflightFacts(plan, standIns), `dbwarden-${plan.environment}`);
      assert.deepEqual(report.problems, [], plan.environment);
    }
    const generic = standInInvoke("aws:secretsmanager/getSecretVersion:getSecretVersion", { secretId: "arn:aws:secretsmanager:x" });
    assert.match(String(generic.secretString), new RegExp(STAND_IN), "without a plan: generic, still marked");
  });

  it("refuses, as a RunError listing every problem with the environment file, before anything is created", async () => {
    const broken = lookups({ instance: async (id) => primary({ storageEncrypted: false, backupRetentionPeriod: 0 }, id) });
    await assert.rejects(preflightAws(prod, "dbwarden-prod", broken), (error: Error) => {
      assert.ok(pulumi.RunError.isInstance(error));
      assert.match(
        error.message,
        /^stacks\/environments\/prod\.yaml: the preflight found 2 problems before creating anything:\n {2}- targets\.app\.primary\.identifier: "app-prod" stores its data unencrypted/,
      );
      assert.match(error.message, /\n {2}- targets\.app\.primary\.identifier: "app-prod" keeps no automated backups/);
      return true;
    });
  });

  it("turns a failed lookup into a problem naming the field", async () => {
    const missing = lookups({ instance: async () => Promise.reject(new Error("DBInstanceNotFound: DBInstance app-prod not found")) });
    const report = preflightReport(prod, await lookUpPreflightFacts(prod, missing), "dbwarden-prod");
    assert.deepEqual(report.problems, [
      'targets.app.primary.identifier: no RDS instance "app-prod" could be looked up in us-east-1 ' +
        "(DBInstanceNotFound: DBInstance app-prod not found); check the identifier and the stack's aws:region",
    ]);
    const denied = lookups({ secretString: async () => Promise.reject(new Error("AccessDeniedException: not authorized")) });
    assert.match(
      (await lookUpFirstProblem(prod, denied))!,
      /^targets\.app\.primary\.adminSecretArn: the secret cannot be read \(AccessDeniedException: not authorized\); check the ARN and that the deployer may call secretsmanager:GetSecretValue on it$/,
    );
  });
});

async function lookUpFirstProblem(plan: AccessPlan, with_: PreflightLookups): Promise<string | undefined> {
  return preflightReport(plan, await lookUpPreflightFacts(plan, with_), `dbwarden-${plan.environment}`).problems[0];
}

describe("the admin secret", () => {
  const field = /^targets\.app\.primary\.adminSecretArn: /;

  it("needs engine, host and port of the primary (the rotation function reads them), never echoing the secret", () => {
    const problems = adminSecretProblems(prodTarget(), primary(), JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }));
    assert.deepEqual(
      problems.map((p) => p.split(";")[0]),
      [
        'targets.app.primary.adminSecretArn: the secret has no "engine": "postgres" (the rotation function requires it)',
        'targets.app.primary.adminSecretArn: the secret has no "host" (the rotation function connects to it)',
      ],
    );
    for (const problem of problems) {
      assert.match(problem, field);
      assert.match(
        problem,
        /put \{"engine": "postgres", "host": "app-prod\.abc123\.us-east-1\.rds\.amazonaws\.com", "port": 5432, "username": \.\.\., "password": \.\.\.\} in it$/,
      );
      assert.ok(!problem.includes(ADMIN_PASSWORD));
    }
    assert.deepEqual(adminSecretProblems(prodTarget(), primary(), JSON.stringify(adminSecret())), []);
  });

  it("refuses another host or port, text that is not JSON and a missing password", () => {
    const other = adminSecretProblems(prodTarget(), primary(), JSON.stringify({ ...adminSecret(), host: "other.example.com", port: 5433 }));
    assert.deepEqual(
      other.map((p) => p.split(";")[0]),
      [
        "targets.app.primary.adminSecretArn: the secret's \"host\" is not the primary's address app-prod.abc123.us-east-1.rds.amazonaws.com",
        "targets.app.primary.adminSecretArn: the secret's \"port\" is not the primary's port 5432",
      ],
    );
    assert.ok(!other.join("").includes("other.example.com"), "values of the secret are not repeated");
    assert.match(
      adminSecretProblems(prodTarget(), primary(), `password=${ADMIN_PASSWORD}`)[0]!,
      /^targets\.app\.primary\.adminSecretArn: the secret's value is not a JSON object; /,
    );
    assert.match(adminSecretProblems(prodTarget(), primary(), JSON.stringify({ ...adminSecret(), password: "" }))[0]!, /the secret has no "password" string/);
  });

  it("accepts the primary's RDS-managed master secret without engine and host", () => {
    const arn = prodTarget().platformSettings.adminSecretArn!;
    const managed = primary({ masterUserSecrets: [{ secretArn: arn }] });
    assert.deepEqual(adminSecretProblems(prodTarget(), managed, JSON.stringify({ username: "postgres", password: ADMIN_PASSWORD })), []);
  });
});

describe("the primary", () => {
  it("refuses an unencrypted primary and one without backups when the stack creates the replica", () => {
    const problems = primaryProblems(prodTarget(), primary({ storageEncrypted: false, backupRetentionPeriod: 0 }));
    assert.equal(problems.length, 2);
    assert.match(
      problems[0]!,
      /^targets\.app\.primary\.identifier: "app-prod" stores its data unencrypted, and a read replica in the same region inherits that .*Encrypt the primary first \(copy a snapshot with encryption and restore it\), or read an existing encrypted replica \(targets\.app\.replica\.existing\)$/,
    );
    assert.match(
      problems[1]!,
      /^targets\.app\.primary\.identifier: "app-prod" keeps no automated backups \(backup retention 0 days\), and RDS creates no read replica of such an instance\. Set its backup retention to 1 day or more/,
    );
    assert.deepEqual(
      primaryProblems(devTarget(), primary({ storageEncrypted: false, backupRetentionPeriod: 0 }, "app-dev")),
      [],
      "an existing replica needs neither",
    );
  });

  it("refuses Aurora, another engine, a replica named as the primary and an unreadable version", () => {
    assert.match(
      primaryProblems(prodTarget(), primary({ dbClusterIdentifier: "app-cluster", engine: "aurora-postgresql" }))[0]!,
      /is an instance of Aurora cluster "app-cluster"; aws-rds targets are RDS for PostgreSQL instances/,
    );
    assert.match(
      primaryProblems(prodTarget(), primary({ engine: "mysql" }))[0]!,
      /runs engine "mysql"; aws-rds targets are RDS for PostgreSQL instances \(engine "postgres"\)$/,
    );
    assert.match(
      primaryProblems(prodTarget(), primary({ replicateSourceDb: "app-origin" }))[0]!,
      /is itself a read replica \(of "app-origin"\); name the primary it replicates/,
    );
    assert.match(
      primaryProblems(prodTarget(), primary({ engineVersion: "latest" }))[0]!,
      /cannot tell the PostgreSQL major version of "app-prod" from engine version "latest"$/,
    );
  });
});

describe("pgaudit on the primary", () => {
  it("refuses a primary on a default parameter group (it never preloads pgaudit)", () => {
    const [problem] = pgauditProblems(prodTarget(), primary({ dbParameterGroups: ["default.postgres16"] }));
    assert.match(
      problem!,
      /^targets\.app\.primary: "app-prod" uses the default parameter group default\.postgres16, which does not preload pgaudit, so CREATE EXTENSION pgaudit fails\. .*then set targets\.app\.primary\.pgauditPreloaded: true/,
    );
  });

  it("asks the spec to say the primary preloads it, since no lookup reads parameter values", () => {
    const target = prodTarget();
    const unsaid = { ...target, platformSettings: { ...target.platformSettings, pgauditPreloaded: false } } as TargetOf<"aws-rds">;
    const [problem] = pgauditProblems(unsaid, primary());
    assert.match(
      problem!,
      /^targets\.app\.primary\.pgauditPreloaded: logging\.statements is pgaudit and CREATE EXTENSION pgaudit runs on the primary, which must preload it; .*`SHOW shared_preload_libraries;` on "app-prod" \(parameter group app-prod-params\), then set targets\.app\.primary\.pgauditPreloaded: true$/,
    );
    assert.deepEqual(pgauditProblems(target, primary()), [], "prod says it");
    assert.deepEqual(
      pgauditProblems(devTarget(), primary({ dbParameterGroups: ["default.postgres16"] }, "app-dev")),
      [],
      "log-statement needs nothing of the primary",
    );
  });
});

describe("the rest", () => {
  it("refuses an existing replica of another primary", () => {
    assert.deepEqual(existingReplicaProblems(devTarget(), primary({}, "app-dev-replica")), []);
    assert.deepEqual(
      existingReplicaProblems(devTarget(), primary({ replicateSourceDb: "arn:aws:rds:eu-west-1:123456789012:db:app-dev" }, "app-dev-replica")),
      [],
    );
    assert.deepEqual(existingReplicaProblems(devTarget(), primary({ replicateSourceDb: "" }, "app-dev-replica")), [
      'targets.app.replica.existing: "app-dev-replica" is not a read replica, not of the primary "app-dev"; name a read replica of the primary',
    ]);
  });

  it("refuses subnets of another VPC, in one zone, or unknown", () => {
    const host: AwsHost = hostOf(prod);
    const ok = Object.fromEntries(host.subnetIds.map((id) => [id, { found: { vpcId: host.vpcId, availabilityZone: subnetZone(id) } }]));
    assert.deepEqual(subnetProblems(host, [prodTarget()], ok), []);
    const [a, b] = host.subnetIds as [string, string];
    const sameZone = {
      [a]: { found: { vpcId: host.vpcId, availabilityZone: "us-east-1a" } },
      [b]: { found: { vpcId: "vpc-other", availabilityZone: "us-east-1a" } },
    };
    assert.deepEqual(subnetProblems(host, [prodTarget()], sameZone), [
      `mcpServer.host.subnetIds: subnet "${b}" is in VPC vpc-other, not vpc-0a1b2c3d4e5f60001`,
      `mcpServer.host.subnetIds: subnets "${a}" and "${b}" are both in us-east-1a; list one ` +
        `subnet per availability zone (VPC endpoints and load balancers take one per zone)`,
      "mcpServer.host.subnetIds: every subnet is in us-east-1a; list subnets in two availability zones or more",
      `targets.app.network.subnetIds: subnet "${b}" is in VPC vpc-other, not vpc-0a1b2c3d4e5f60001`,
      "targets.app.network.subnetIds: every subnet is in us-east-1a; list subnets in two availability zones or more",
    ]);
    assert.match(
      subnetProblems(host, [], { [a]: { error: "InvalidSubnetID.NotFound" } })[0]!,
      /^mcpServer\.host\.subnetIds: subnet "subnet-0aaa1111bbbb22223" cannot be looked up \(InvalidSubnetID\.NotFound\); check the id and the stack's region$/,
    );
  });

  it("with VPC endpoints: refuses an image outside ECR or in another region and a VPC without DNS; warns about the OIDC issuer", () => {
    const ghcr = structuredClone(prod);
    ghcr.mcpServer.image = { source: "registry", uri: "ghcr.io/dbwarden/mcp-server:0.1.0" };
    const dns = { found: { enableDnsSupport: true, enableDnsHostnames: true } };
    assert.match(
      egressProblems(ghcr, hostOf(ghcr), dns).problems[0]!,
      /^mcpServer\.image: "ghcr\.io\/dbwarden\/mcp-server:0\.1\.0" is not in Amazon ECR, and with mcpServer\.host\.egress vpc-endpoints the tasks reach only AWS services; use image: \{ build: true \}/,
    );
    ghcr.mcpServer.image = { source: "registry", uri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbwarden:0.1.0" };
    assert.match(
      egressProblems(ghcr, hostOf(ghcr), dns).problems[0]!,
      /^mcpServer\.image: the ECR repository is in eu-west-1, and the VPC endpoints reach ECR in us-east-1 only/,
    );
    ghcr.mcpServer.image = { source: "registry", uri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/dbwarden:0.1.0" };
    assert.deepEqual(egressProblems(ghcr, hostOf(ghcr), dns).problems, []);
    assert.match(
      egressProblems(prod, hostOf(prod), { found: { enableDnsSupport: true, enableDnsHostnames: false } }).problems[0]!,
      /^mcpServer\.host\.vpcId: VPC "vpc-0a1b2c3d4e5f60001" has DNS support or DNS hostnames off/,
    );
    assert.deepEqual(egressProblems(dev, hostOf(dev), null), { problems: [], warnings: [] }, "NAT: the subnets route out themselves");
  });

  it("refuses rotated logins whose `<login>_clone` would not fit PostgreSQL's 63 bytes", () => {
    assert.deepEqual(rotationCloneProblems(prod, [prodTarget()]), []);
    const longest = longestNamesPlan("iam");
    const asPassword = structuredClone(longest);
    asPassword.targets[0]!.credentials = { mode: "password", rotationDays: 30 };
    const problems = rotationCloneProblems(
      asPassword,
      checkAwsPlan({
        ...asPassword,
        targets: asPassword.targets.map((t) => ({
          ...t,
          platformSettings: {
            ...t.platformSettings,
            adminSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
            masterUserIamAuth: false,
          } as TargetOf<"aws-rds">["platformSettings"],
        })),
      }).targets as TargetOf<"aws-rds">[],
    );
    assert.ok(problems.length > 0);
    assert.match(
      problems[0]!,
      /^workflows\.workflow0-x+\.clients\.client0x0-x+: the rotation function's alternate login "dbw_workflow0_x+___?[0-9a-f]{8}_clone" is 69 bytes, over PostgreSQL's 63, and would collide with the login itself; shorten the workflow or client name/,
    );
    assert.deepEqual(rotationCloneProblems(longest, checkAwsPlan(longest).targets as TargetOf<"aws-rds">[]), [], "IAM credentials: no clone");
  });

  it("refuses owners AWS cannot take as a tag value, and regions outside the standard partition", () => {
    const plan = structuredClone(prod);
    plan.workflows[0]!.owner = "Finance (EMEA), ops";
    assert.deepEqual(tagValueProblems(plan), [
      `workflows.${plan.workflows[0]!.name}.owner: "Finance (EMEA), ops" becomes the dbwarden:owner tag, and AWS tag values are at most 256 letters, digits, spaces and _ . : / = + - @; rename the owner`,
    ]);
    assert.deepEqual(tagValueProblems(prod), []);
    assert.deepEqual(partitionProblems({ ...hostOf(prod), region: "cn-north-1" }), [
      'mcpServer.host.region: "cn-north-1" is outside the standard AWS partition, which dbwarden\'s AWS components assume (rotation application, ARNs)',
    ]);
    assert.deepEqual(partitionProblems(hostOf(prod)), []);
  });

  it("refuses, before any lookup, a primary reached by neither an admin secret nor an IAM-enabled master user", async () => {
    const plan = structuredClone(dev);
    const settings = plan.targets[0]!.platformSettings;
    if (settings.platform === "aws-rds") settings.masterUserIamAuth = false;
    const none = lookups();
    await assert.rejects(
      lookUpPreflightFacts(plan, none),
      /^Error: targets\.app\.primary\.adminSecretArn is absent, so Pulumi would connect to the primary as its master user with an RDS IAM token, which works only once that user is a member of rds_iam \(GRANT rds_iam TO <master user>; on RDS PostgreSQL this turns its password login off\).*set targets\.app\.primary\.masterUserIamAuth: true once the master user is in rds_iam\.$/,
    );
    assert.deepEqual(none.calls, []);
  });
});
