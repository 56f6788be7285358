/**
 * The GCP stack `gcp-iam` (stacks/environments/gcp-iam.yaml) under mocks: Cloud SQL IAM logins (a
 * service account per client, a Cloud SQL IAM database user holding only its login role, no
 * password anywhere), an existing replica looked up by name, the MCP server internal to the VPC.
 * Every resource's inputs and options are asserted, and the resource graph is compared with a
 * committed snapshot.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import { installMocks, isSecretValue, redactSecrets, type Mocks, type RecordedResource } from "../../src/testing/index.ts";
import { ROOT } from "../components/support/plans.ts";
import { PROJECT_NUMBER, gcpCatalog, gcpInvokes, gcpOutputs, gcpPlan } from "./support.ts";

const mocks: Mocks = await installMocks({ invokes: gcpInvokes, outputs: gcpOutputs, stack: "gcp-iam" });
const { GovernedCloudRun } = await import("../../components/gcp-cloudrun/governedCloudRun.ts");
const { parsePlan, parseRuntime } = await import("../../mcp-server/src/config.ts");

const plan = gcpPlan("gcp-iam");
const PROJECT = "acme-data-stg";
const SNAPSHOT = `${ROOT}test/gcp/snapshots/gcp-iam-resource-graph.json`;
const label = (r: RecordedResource) => `${r.type}::${r.name}`;
const logins = plan.workflows.flatMap((w) => w.roles.logins);
const contentOf = (r: RecordedResource) => String(isSecretValue(r.inputs.content) ? (r.inputs.content as { value: unknown }).value : r.inputs.content);
const resolve = <T>(output: { apply: (f: (v: T) => void) => unknown }) => new Promise<T>((done) => output.apply(done));

let deployed: InstanceType<typeof GovernedCloudRun>;
before(async () => {
  deployed = new GovernedCloudRun("dbwarden-gcp-iam", { plan, catalog: gcpCatalog("gcp-iam") });
  await mocks.settle();
});

describe("GovernedCloudRun (gcp-iam)", { timeout: 120_000 }, () => {
  it("creates no replica, no secret of a login, no rotator, no load balancer: the existing replica is looked up", () => {
    assert.equal(mocks.byType("gcp:sql/databaseInstance:DatabaseInstance").length, 0);
    assert.deepEqual(
      mocks.byType("gcp:secretmanager/secret:Secret").map((s) => s.inputs.secretId),
      ["dbwarden--gcp-iam--mcp-api-keys"],
    );
    assert.equal(mocks.byType("dbwarden:gcp:CloudSqlRotator").length, 0);
    assert.equal(mocks.byType("dbwarden:gcp:LoadBalancedIngress").length, 0);
    assert.deepEqual(
      mocks.invokes
        .filter((i) => i.token === "gcp:sql/getDatabaseInstance:getDatabaseInstance")
        .map((i) => i.inputs.name)
        .sort(),
      ["app-stg", "app-stg-replica"],
    );
    assert.equal(
      mocks.invokes.filter((i) => i.token === "gcp:secretmanager/getSecretVersion:getSecretVersion").length,
      0,
      "no admin secret: the deployer's IAM user",
    );
  });

  it("connects the access component as the deployer's IAM user through the connector, with no password", () => {
    const provider = mocks.byType("pulumi:providers:postgresql")[0]!;
    assert.equal(provider.inputs.host, "acme-data-stg:europe-west1:app-stg");
    assert.equal(provider.inputs.scheme, "gcppostgres");
    assert.equal(provider.inputs.username, "deployer@acme-data-stg.iam");
    assert.equal(provider.inputs.password, undefined);
    for (const role of mocks.byType("postgresql:index/role:Role")) assert.equal(role.inputs.passwordWo, undefined, `${role.inputs.name} has no password`);
  });

  it(
    "gives each login its own service account, a Cloud SQL IAM user on the primary holding only " +
      "the login role, connect rights on the replica alone, and lets only the server mint its tokens",
    () => {
      const users = mocks.byType("gcp:sql/user:User");
      assert.equal(users.length, logins.length);
      for (const login of logins) {
        const user = users.find((u) => (u.inputs.databaseRoles as string[])[0] === login.role)!;
        const accountId = String(user.inputs.name).split("@")[0]!;
        assert.ok(accountId.length >= 6 && accountId.length <= 30, accountId);
        assert.deepEqual(user.inputs, {
          project: PROJECT,
          instance: "app-stg",
          type: "CLOUD_IAM_SERVICE_ACCOUNT",
          name: `${accountId}@${PROJECT}.iam`,
          databaseRoles: [login.role],
        });
        const access = mocks.byType("dbwarden:postgres:ReadOnlyAccess")[0]!;
        assert.ok(
          user.dependsOn.some((urn) => mocks.byType("postgresql:index/role:Role").some((r) => r.urn === urn)) || user.dependsOn.includes(access.urn),
          "the IAM user waits for its login role",
        );
        const member = `serviceAccount:${accountId}@${PROJECT}.iam.gserviceaccount.com`;
        const grants = mocks
          .byType("gcp:projects/iAMMember:IAMMember")
          .filter((g) => g.inputs.member === member)
          .map((g) => g.inputs);
        assert.deepEqual(
          grants.map((g) => [g.role, (g.condition as { expression: string }).expression]),
          [
            ["roles/cloudsql.client", 'resource.name == "projects/acme-data-stg/instances/app-stg-replica"'],
            ["roles/cloudsql.instanceUser", 'resource.name == "projects/acme-data-stg/instances/app-stg-replica"'],
          ],
        );
        const minters = mocks.byType("gcp:serviceaccount/iAMMember:IAMMember").filter((m) => String(m.inputs.serviceAccountId).includes(`/${accountId}@`));
        assert.deepEqual(
          minters.map((m) => [m.inputs.role, m.inputs.member]),
          [["roles/iam.serviceAccountTokenCreator", "serviceAccount:dbw-gcp-iam-mcp@acme-data-stg.iam.gserviceaccount.com"]],
        );
      }
    },
  );

  it("runs the server internal to the VPC, with Cloud SQL IAM logins through the connector in its runtime config", () => {
    const service = mocks.one("gcp:cloudrunv2/service:Service", "dbwarden-gcp-iam-mcp");
    assert.equal(service.inputs.ingress, "INGRESS_TRAFFIC_INTERNAL_ONLY");
    const envs = Object.fromEntries(
      (service.inputs.template as { containers: { envs: { name: string; value: string }[] }[] }).containers[0]!.envs.map((e) => [e.name, e.value]),
    );
    const objects = Object.fromEntries(
      mocks.byType("gcp:storage/bucketObject:BucketObject").map((o) => [`gs://${o.inputs.bucket}/${o.inputs.name}`, contentOf(o)]),
    );
    const runtime = parseRuntime(JSON.parse(objects[envs.DBWARDEN_RUNTIME_GCS!]!), parsePlan(JSON.parse(objects[envs.DBWARDEN_PLAN_GCS!]!)));
    assert.deepEqual(runtime.databases, { app: { cloudSql: { instance: "acme-data-stg:europe-west1:app-stg-replica", ipType: "PRIVATE", database: "app" } } });
    for (const login of logins) {
      const source = runtime.logins[login.role] as { gcpCloudSqlIam: { user: string } };
      assert.match(source.gcpCloudSqlIam.user, /^dbw-[a-z0-9-]+@acme-data-stg\.iam$/);
    }
    assert.deepEqual(runtime.listen.allowedHosts, [`dbw-gcp-iam-mcp-${PROJECT_NUMBER}.europe-west1.run.app`, "mcp.gcp-stg.internal.example.com"]);
  });

  it("exports the run.app host name where there is no load balancer", async () => {
    assert.equal(await resolve(deployed.endpointHostname), `dbw-gcp-iam-mcp-${PROJECT_NUMBER}.europe-west1.run.app`);
    assert.deepEqual(await resolve(deployed.secretIds), {});
    assert.deepEqual(await resolve(deployed.replicaAddresses), { app: "10.20.0.9" });
  });

  it("matches the committed resource graph snapshot", () => {
    const name = (urn: string) => (urn ? label(mocks.byUrn(urn)) : null);
    const graph = mocks.resources.map((r) => {
      const inputs = redactSecrets(r.inputs) as Record<string, unknown>;
      if (r.type === "gcp:storage/bucketObject:BucketObject")
        inputs.content = String(r.name).endsWith("-plan") ? "<the access plan JSON>" : JSON.parse(contentOf(r));
      return {
        resource: label(r),
        parent: name(r.parent),
        ...(r.provider ? { provider: r.provider.split("::").slice(2, 4).join("::") } : {}),
        ...(r.ignoreChanges.length ? { ignoreChanges: r.ignoreChanges } : {}),
        ...(r.dependsOn.length ? { dependsOn: r.dependsOn.map(name) } : {}),
        inputs,
      };
    });
    // Sorted: children registered from inside outputs arrive in an order that varies from run to run.
    const text = `${JSON.stringify(
      graph.sort((a, b) => a.resource.localeCompare(b.resource)),
      null,
      1,
    )}\n`;
    if (process.env.UPDATE_SNAPSHOTS) writeFileSync(SNAPSHOT, text);
    assert.equal(text, readFileSync(SNAPSHOT, "utf8"), "resource graph changed: review, then regenerate with UPDATE_SNAPSHOTS=1");
  });
});
