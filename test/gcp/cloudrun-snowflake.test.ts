/**
 * A Snowflake target on a Cloud Run host under mocks: the snowflake stack's workflow and target
 * (stacks/environments/snowflake.yaml) with the gcp stack's Cloud Run server, internal ingress.
 * Asserted, every new resource with its inputs and options: the host's static egress (reserved
 * addresses, Cloud NAT MANUAL_ONLY for the host's subnetwork), the service egressing ALL_TRAFFIC
 * after the NAT, the network policy admitting exactly the NAT's addresses, per login a key secret
 * written write-only and readable by the server's account alone, the runtime config's
 * `gcpSecret` login, and the key-rotation job (Cloud Run job, its service account's rights on
 * exactly its secrets, Cloud Scheduler with an OAuth token of an account that may only run it).
 * Then the host's checks and the preflight's names and plan problems, and the schedule's pure parts.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { packReports, packResources } from "../support/pack-over-mocks.ts";
import { installMocks, isSecretValue, redactSecrets, type Mocks, type RecordedResource } from "../../src/testing/index.ts";
import { parsePlan, type AccessPlan } from "../../src/plan/types.ts";
import { planStack } from "../../src/plan/index.ts";
import { loadCatalog } from "../../components/postgres/catalog.ts";
import { AS_OF, ROOT } from "../components/support/plans.ts";
import { gcpInvokes, gcpOutputs, gcpPlan } from "./support.ts";

const mocks: Mocks = await installMocks({ invokes: gcpInvokes, outputs: gcpOutputs, stack: "gcp-snowflake" });
const { GovernedCloudRun, checkCloudRunPlan } = await import("../../components/gcp-cloudrun/governedCloudRun.ts");
const { gcpNameProblems } = await import("../../components/gcp/preflight.ts");
const { SNOWFLAKE_ON_CLOUDRUN } = await import("../../components/snowflake/onCloudRun.ts");
const { awsRotationRate, gcpRotationCron } = await import("../../components/snowflake/rotationJob.ts");
const { checkAwsPlan } = await import("../../components/aws-ecs/governedAccess.ts");
const { keyRotationNames } = await import("../../components/snowflake/rotationOnCloudRun.ts");
const { parseRuntime } = await import("../../mcp-server/src/config.ts");

const PROJECT = "acme-data-prod";
const REGION = "europe-west1";
const ADMIN = `projects/${PROJECT}/secrets/snowflake-deployer`;
const KEY_ID = "dbwarden--snowflake--sales-analytics--claude-revops";
const KEY = `projects/${PROJECT}/secrets/${KEY_ID}`;
const SERVER = "serviceAccount:dbw-gcp-snowflake-mcp@acme-data-prod.iam.gserviceaccount.com";
const JOB = "dbwarden-gcp-snowflake-warehouse-key-rotation";
const label = (r: RecordedResource) => `${r.type}::${r.name}`;
/** The job's names: fitted to GCP's limits (a service account id of at most 30 characters ends in a hash when longer). */
const NAMES = keyRotationNames("gcp-snowflake", "warehouse");
const JOB_ACCOUNT = `${NAMES.jobAccount}@${PROJECT}.iam.gserviceaccount.com`;
const SCHEDULER_ACCOUNT = `${NAMES.schedulerAccount}@${PROJECT}.iam.gserviceaccount.com`;

/** The snowflake stack's plan served from Cloud Run: the gcp stack's server, internal ingress, a Secret Manager admin secret, no listed addresses. */
function snowflakeOnCloudRunPlan(change: (plan: AccessPlan) => void = () => undefined): AccessPlan {
  const plan = structuredClone(planStack("snowflake", { root: ROOT, now: AS_OF })) as AccessPlan;
  const gcp = gcpPlan("gcp");
  plan.environment = "gcp-snowflake";
  plan.mcpServer = { ...structuredClone(gcp.mcpServer), host: { ...gcp.mcpServer.host, ingress: "internal", sslCertificate: null } as never };
  const target = plan.targets[0]!;
  target.network = { ...target.network, allowedCidrs: [] };
  (target.platformSettings as { adminSecret: string | null }).adminSecret = ADMIN;
  change(plan);
  return parsePlan(JSON.parse(JSON.stringify(plan)));
}

const plan = snowflakeOnCloudRunPlan();
let top: RecordedResource;
before(async () => {
  new GovernedCloudRun("dbwarden-gcp-snowflake", { plan, catalog: loadCatalog("snowflake", ROOT) });
  await mocks.settle();
  top = mocks.one("dbwarden:gcp:GovernedCloudRun", "dbwarden-gcp-snowflake");
});

describe("a Snowflake target on Cloud Run", { timeout: 120_000 }, () => {
  it("egresses through Cloud NAT from two reserved addresses, for the host's subnetwork alone; the service sends all traffic there, after the NAT", () => {
    const egress = mocks.one("dbwarden:gcp:StaticEgress", "dbwarden-gcp-snowflake-egress");
    assert.equal(egress.parent, top.urn);
    assert.deepEqual(
      mocks.resources
        .filter((r) => r.parent === egress.urn)
        .map(label)
        .sort(),
      [
        "gcp:compute/address:Address::dbwarden-gcp-snowflake-egress-1",
        "gcp:compute/address:Address::dbwarden-gcp-snowflake-egress-2",
        "gcp:compute/router:Router::dbwarden-gcp-snowflake-egress",
        "gcp:compute/routerNat:RouterNat::dbwarden-gcp-snowflake-egress",
      ],
    );
    const address = mocks.one("gcp:compute/address:Address", "dbwarden-gcp-snowflake-egress-1");
    assert.deepEqual(address.inputs, {
      project: PROJECT,
      region: REGION,
      name: "dbw-gcp-snowflake-egress-1",
      addressType: "EXTERNAL",
      networkTier: "PREMIUM",
      description: "dbwarden gcp-snowflake: the MCP service's egress address (admitted by Snowflake's network policy)",
      labels: address.inputs.labels,
    });
    assert.deepEqual(mocks.one("gcp:compute/router:Router", "dbwarden-gcp-snowflake-egress").inputs, {
      project: PROJECT,
      region: REGION,
      name: "dbw-gcp-snowflake-egress",
      network: `projects/${PROJECT}/global/networks/data`,
    });
    const selfLink = (n: number) => `https://www.googleapis.com/compute/v1/projects/${PROJECT}/regions/${REGION}/addresses/dbw-gcp-snowflake-egress-${n}`;
    assert.deepEqual(mocks.one("gcp:compute/routerNat:RouterNat", "dbwarden-gcp-snowflake-egress").inputs, {
      project: PROJECT,
      region: REGION,
      router: "dbw-gcp-snowflake-egress",
      name: "dbw-gcp-snowflake-egress",
      natIpAllocateOption: "MANUAL_ONLY",
      natIps: [selfLink(1), selfLink(2)],
      sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
      subnetworks: [{ name: `projects/${PROJECT}/regions/${REGION}/subnetworks/data-run`, sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
      logConfig: { enable: true, filter: "ERRORS_ONLY" },
    });
    const service = mocks.one("gcp:cloudrunv2/service:Service", "dbwarden-gcp-snowflake-mcp");
    assert.deepEqual((service.inputs.template as { vpcAccess: unknown }).vpcAccess, {
      egress: "ALL_TRAFFIC",
      networkInterfaces: [{ network: `projects/${PROJECT}/global/networks/data`, subnetwork: `projects/${PROJECT}/regions/${REGION}/subnetworks/data-run` }],
    });
    assert.ok(service.dependsOn.map((u) => label(mocks.byUrn(u))).includes("gcp:compute/routerNat:RouterNat::dbwarden-gcp-snowflake-egress"));
  });

  it("the network policy admits exactly the NAT's addresses", () => {
    const rule = mocks.one("snowflake:index/networkRule:NetworkRule", "dbwarden-gcp-snowflake-warehouse-egress-rule");
    assert.deepEqual(rule.inputs.valueLists, ["35.205.10.1/32", "35.205.10.2/32"]);
    assert.deepEqual([rule.inputs.type, rule.inputs.mode], ["IPV4", "INGRESS"]);
  });

  it("per login a key secret, its first version write-only (never in the state), readable by the server's account; the runtime config names it", async () => {
    const secret = mocks.one("gcp:secretmanager/secret:Secret", `dbwarden-gcp-snowflake-warehouse-dbw_sales_analytics__claude_revops-key`);
    assert.deepEqual(secret.inputs, { project: PROJECT, secretId: KEY_ID, replication: { auto: {} }, labels: secret.inputs.labels });
    assert.equal((secret.inputs.labels as Record<string, string>)["dbwarden-client"], "claude-revops");
    const version = mocks.one("gcp:secretmanager/secretVersion:SecretVersion", secret.name);
    assert.ok(isSecretValue(version.inputs.secretDataWo));
    assert.equal(version.inputs.secretDataWoVersion, 1);
    assert.equal(version.inputs.secretData, undefined);
    assert.deepEqual(version.ignoreChanges, ["enabled"]);
    const value = JSON.parse((version.inputs.secretDataWo as { value: string }).value);
    assert.deepEqual([value.username, value.slot, /^-----BEGIN PRIVATE KEY-----/.test(value.privateKey)], ["DBW_SALES_ANALYTICS__CLAUDE_REVOPS", 1, true]);
    assert.doesNotMatch(JSON.stringify(mocks.resources.map((r) => redactSecrets(r.inputs))), /PRIVATE KEY/);
    const members = mocks.byType("gcp:secretmanager/secretIamMember:SecretIamMember").filter((m) => m.inputs.secretId === KEY_ID);
    assert.deepEqual(
      members.map((m) => [m.inputs.role, m.inputs.member]),
      [
        ["roles/secretmanager.secretAccessor", SERVER],
        ["roles/secretmanager.secretAccessor", `serviceAccount:${JOB_ACCOUNT}`],
        ["roles/secretmanager.secretVersionAdder", `serviceAccount:${JOB_ACCOUNT}`],
        ["roles/secretmanager.secretVersionManager", `serviceAccount:${JOB_ACCOUNT}`],
      ],
    );
    const runtimeObject = mocks.byType("gcp:storage/bucketObject:BucketObject").find((o) => o.name.endsWith("runtime"))!;
    const content = String(
      isSecretValue(runtimeObject.inputs.content) ? (runtimeObject.inputs.content as { value: unknown }).value : runtimeObject.inputs.content,
    );
    const runtime = parseRuntime(JSON.parse(content), plan);
    assert.deepEqual(runtime.logins.dbw_sales_analytics__claude_revops, { gcpSecret: KEY });
    assert.deepEqual(runtime.databases.warehouse, { snowflakeAccount: { account: "myorg-prod", warehouse: "AGENTS_XS", database: "ANALYTICS" } });
  });
});

describe("the key-rotation job of a Snowflake target on Cloud Run", { timeout: 120_000 }, () => {
  it("the key-rotation job: a Cloud Run job of the server's image, its own account, run by Cloud Scheduler with an account that may only run it", () => {
    const component = mocks.one("dbwarden:snowflake:KeyRotationOnCloudRun", JOB);
    assert.equal(component.parent, top.urn);
    assert.deepEqual(
      mocks.resources
        .filter((r) => r.parent === component.urn)
        .map(label)
        .sort(),
      [
        `gcp:cloudrunv2/job:Job::${JOB}`,
        `gcp:cloudrunv2/jobIamMember:JobIamMember::${JOB}-invoker`,
        `gcp:cloudscheduler/job:Job::${JOB}`,
        `gcp:secretmanager/secretIamMember:SecretIamMember::${JOB}-admin-reader`,
        `gcp:secretmanager/secretIamMember:SecretIamMember::${JOB}-key-1-secretAccessor`,
        `gcp:secretmanager/secretIamMember:SecretIamMember::${JOB}-key-1-secretVersionAdder`,
        `gcp:secretmanager/secretIamMember:SecretIamMember::${JOB}-key-1-secretVersionManager`,
        `gcp:serviceaccount/account:Account::${JOB}`,
        `gcp:serviceaccount/account:Account::${JOB}-scheduler`,
      ],
    );
    const after = component.dependsOn.map((u) => label(mocks.byUrn(u)));
    for (const needed of [
      "gcp:compute/routerNat:RouterNat::dbwarden-gcp-snowflake-egress",
      "snowflake:index/serviceUser:ServiceUser::dbwarden-gcp-snowflake-warehouse-sales-analytics-claude-revops-user",
      "gcp:secretmanager/secretVersion:SecretVersion::dbwarden-gcp-snowflake-warehouse-dbw_sales_analytics__claude_revops-key",
    ])
      assert.ok(after.includes(needed), needed);
    const jobAccount = JOB_ACCOUNT;
    const schedulerAccount = SCHEDULER_ACCOUNT;
    assert.deepEqual(mocks.one("gcp:serviceaccount/account:Account", JOB).inputs, {
      project: PROJECT,
      accountId: NAMES.jobAccount,
      displayName: "dbwarden gcp-snowflake warehouse Snowflake key rotation",
    });
    assert.deepEqual(mocks.one("gcp:secretmanager/secretIamMember:SecretIamMember", `${JOB}-admin-reader`).inputs, {
      project: PROJECT,
      secretId: ADMIN,
      role: "roles/secretmanager.secretAccessor",
      member: `serviceAccount:${jobAccount}`,
    });
    const job = mocks.one("gcp:cloudrunv2/job:Job", JOB);
    const { template, ...rest } = job.inputs as { template: { template: Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown>;
    assert.deepEqual(rest, {
      project: PROJECT,
      location: REGION,
      name: "dbw-gcp-snowflake-warehouse-key-rotation",
      deletionProtection: false,
      labels: rest.labels,
    });
    const { containers, ...task } = template.template as { containers: Record<string, unknown>[] } & Record<string, unknown>;
    assert.deepEqual(
      { taskCount: template.taskCount, parallelism: template.parallelism, ...task },
      {
        taskCount: 1,
        parallelism: 1,
        serviceAccount: jobAccount,
        maxRetries: 0,
        timeout: "1800s",
        vpcAccess: {
          egress: "ALL_TRAFFIC",
          networkInterfaces: [
            { network: `projects/${PROJECT}/global/networks/data`, subnetwork: `projects/${PROJECT}/regions/${REGION}/subnetworks/data-run` },
          ],
        },
      },
    );
    const [container] = containers;
    assert.deepEqual(container!.commands, ["node", "dist/snowflake-rotator.js"]);
    assert.equal(container!.args, undefined);
    assert.equal(container!.image, "europe-west1-docker.pkg.dev/acme-data-prod/dbwarden/mcp-server:0.3.0");
    const env = Object.fromEntries((container!.envs as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    assert.deepEqual(JSON.parse(env.DBWARDEN_SNOWFLAKE_ROTATION!), {
      account: "myorg-prod",
      warehouse: "AGENTS_XS",
      database: "ANALYTICS",
      adminSecret: { gcpSecret: ADMIN },
      logins: [{ secret: { gcpSecret: KEY }, role: "DBW_SALES_ANALYTICS" }],
      waitSeconds: 360,
    });
    assert.ok(job.dependsOn.map((u) => mocks.byUrn(u).name).includes(`${JOB}-key-1-secretVersionManager`), "the job exists once its rights do");
    assert.deepEqual(mocks.one("gcp:cloudrunv2/jobIamMember:JobIamMember", `${JOB}-invoker`).inputs, {
      project: PROJECT,
      location: REGION,
      name: "dbw-gcp-snowflake-warehouse-key-rotation",
      role: "roles/run.invoker",
      member: `serviceAccount:${schedulerAccount}`,
    });
    const schedule = mocks.one("gcp:cloudscheduler/job:Job", JOB);
    assert.deepEqual(schedule.inputs, {
      project: PROJECT,
      region: REGION,
      name: "dbw-gcp-snowflake-warehouse-key-rotation",
      description: "dbwarden gcp-snowflake: rotate the Snowflake keys of target warehouse at least every 30 days",
      schedule: "17 3 */30 * *",
      timeZone: "Etc/UTC",
      attemptDeadline: "60s",
      retryConfig: { retryCount: 3, minBackoffDuration: "60s", maxBackoffDuration: "600s" },
      httpTarget: {
        httpMethod: "POST",
        uri: `https://run.googleapis.com/v2/projects/${PROJECT}/locations/${REGION}/jobs/dbw-gcp-snowflake-warehouse-key-rotation:run`,
        oauthToken: { serviceAccountEmail: schedulerAccount, scope: "https://www.googleapis.com/auth/cloud-platform" },
      },
    });
    assert.ok(
      schedule.dependsOn.map((u) => label(mocks.byUrn(u))).includes(`gcp:cloudrunv2/jobIamMember:JobIamMember::${JOB}-invoker`),
      "it calls the job once its account may",
    );
  });

  it("the policy pack finds nothing to report (Snowflake users key-pair only, secondary roles off, grants read-only, Cloud Run not public...)", async () => {
    const resources = await packResources(mocks.resources);
    const reported = (judged: typeof resources) => packReports(plan, judged);
    assert.deepEqual(await reported(resources), []);
    // The pack does judge these resources: a service user with its secondary roles on is reported.
    const user = resources.find((r) => r.type === "snowflake:index/serviceUser:ServiceUser")!;
    const loosened = resources.map((r) => (r === user ? { ...r, props: { ...r.props, defaultSecondaryRolesOption: "ALL" } } : r));
    assert.ok(
      (await reported(loosened)).some((line) => line.startsWith("snowflake-secondary-roles-off: ")),
      "a loosened user is reported",
    );
  });

  it("passes the preflight: every planned name valid, no plan problem", () => {
    const target = plan.targets[0] as never;
    assert.deepEqual(gcpNameProblems(SNOWFLAKE_ON_CLOUDRUN.plannedNames(plan, target)), []);
    assert.deepEqual(SNOWFLAKE_ON_CLOUDRUN.planProblems(plan, target, plan.mcpServer.host as never), []);
  });
});

describe("the hosts' checks of a Snowflake target", () => {
  it("Cloud Run refuses listed addresses and a missing or AWS admin secret, naming the field", () => {
    const withTarget = (change: (t: AccessPlan["targets"][number]) => void) => snowflakeOnCloudRunPlan((p) => change(p.targets[0]!));
    assert.throws(
      () => checkCloudRunPlan(withTarget((t) => void (t.network.allowedCidrs = ["198.51.100.10/32"]))),
      /^Error: targets\.warehouse\.network\.allowedCidrs: on a Cloud Run host/,
    );
    assert.throws(
      () => checkCloudRunPlan(withTarget((t) => void ((t.platformSettings as { adminSecret: string | null }).adminSecret = null))),
      /^Error: targets\.warehouse\.adminSecret: required, projects\/<project>\/secrets\/<id>/,
    );
    assert.throws(
      () =>
        checkCloudRunPlan(
          withTarget((t) => void ((t.platformSettings as { adminSecret: string | null }).adminSecret = "arn:aws:secretsmanager:eu-west-1:1:secret:x")),
        ),
      /^Error: targets\.warehouse\.adminSecret: on this host it is projects\/<project>\/secrets\/<id>/,
    );
  });

  it("ECS refuses a missing or GCP admin secret, naming the field", () => {
    const ecs = (adminSecret: string | null) => {
      const p = structuredClone(planStack("snowflake", { root: ROOT, now: AS_OF })) as AccessPlan;
      (p.targets[0]!.platformSettings as { adminSecret: string | null }).adminSecret = adminSecret;
      return p;
    };
    assert.throws(() => checkAwsPlan(ecs(null)), /^Error: targets\.warehouse\.adminSecret: required, a Secrets Manager secret ARN/);
    assert.throws(() => checkAwsPlan(ecs(ADMIN)), /^Error: targets\.warehouse\.adminSecret: on this host it is a Secrets Manager secret ARN/);
  });
});

describe("the rotation schedule", () => {
  it("EventBridge Scheduler rotates every N days exactly", () => {
    assert.deepEqual([1, 30, 365].map(awsRotationRate), ["rate(1 day)", "rate(30 days)", "rate(365 days)"]);
  });

  it("Cloud Scheduler's cron never leaves more than N days between two runs", () => {
    assert.deepEqual([1, 7, 30, 31, 45, 62, 90, 365].map(gcpRotationCron), [
      "17 3 * * *",
      "17 3 */7 * *",
      "17 3 */30 * *",
      "17 3 */31 * *",
      "17 3 1 * *",
      "17 3 1 */2 *",
      "17 3 1 */2 *",
      "17 3 1 */11 *",
    ]);
    // Walk two years of days: the longest gap between two runs of "*/N" day-of-month is at most N.
    for (const days of [1, 2, 7, 10, 28, 29, 30, 31]) {
      const runs: number[] = [];
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2028, 0, 1); t += 86_400_000) if ((new Date(t).getUTCDate() - 1) % days === 0) runs.push(t);
      const gaps = runs.slice(1).map((t, i) => (t - runs[i]!) / 86_400_000);
      assert.ok(Math.max(...gaps) <= days, `every ${days} days: longest gap ${Math.max(...gaps)}`);
    }
    assert.throws(() => gcpRotationCron(0), /credentials\.rotationDays: a positive number of days/);
  });
});
