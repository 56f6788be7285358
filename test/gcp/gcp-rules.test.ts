/**
 * The GCP platform's pure functions, without mocks: GCP name limits and the names dbwarden gives,
 * labels, the preflight (names, labels, plan problems, the primary's flags), the host's and Cloud
 * SQL target's checks, the replica's settings, Cloud Armor rules, rotation schedules, the review's
 * Cloud Run ingress (widening and narrowing), the plan tree's host text, and `dbwarden keys` on
 * Secret Manager through a fake that keeps versions as the service does.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  GCP_NAME_RULES,
  cloudRunServiceName,
  fitName,
  gcpNameProblem,
  gcpSecretId,
  labelValue,
  loginServiceAccountId,
  mcpServiceAccountId,
} from "../../src/names/gcp.ts";
import { DBWARDEN_GCP_LABEL_KEYS, gcpNameProblems, labelProblems } from "../../components/gcp/preflight.ts";
import { checkCloudRunPlan } from "../../components/gcp-cloudrun/governedCloudRun.ts";
import { cloudArmorRules } from "../../components/gcp-cloudrun/ingress.ts";
import { cloudRunIngress, replicasCondition, runAppHostname } from "../../components/gcp-cloudrun/mcpService.ts";
import { gcpPreflightProblems } from "../../components/gcp-cloudrun/preflight.ts";
import { checkCloudSqlTarget, cloudSqlEndpoint, parseCloudSqlAdminSecret, primaryFlagProblems } from "../../components/gcp-cloudsql/onCloudRun.ts";
import { rotationSchedule } from "../../components/gcp-cloudsql/credentials.ts";
import { replicaFlags, replicaIpConfiguration, type CloudSqlTarget } from "../../components/gcp-cloudsql/replica.ts";
import { SecretsManagerKeys, findApiKeyClient, issueKey, listKeys } from "../../src/keys/index.ts";
import { gcpSecretsClient, type SecretManagerKeysClient } from "../../src/keys/gcpSecrets.ts";
import { renderPlanTree } from "../../src/plan/render.ts";
import type { AccessPlan, HostOf } from "../../src/plan/types.ts";
import { diffPlans } from "../../src/review/diff.ts";
import { sqlInstanceLookup, gcpPlan } from "./support.ts";

const plan = gcpPlan("gcp");
const iamPlan = gcpPlan("gcp-iam");
const hostOf = (p: AccessPlan) => p.mcpServer.host as HostOf<"gcp-cloudrun">;
const targetOf = (p: AccessPlan) => p.targets[0] as CloudSqlTarget;
const withHost = (p: AccessPlan, host: Partial<HostOf<"gcp-cloudrun">>): AccessPlan => ({
  ...p,
  mcpServer: { ...p.mcpServer, host: { ...hostOf(p), ...host } },
});

describe("GCP names and their limits", () => {
  it("service account ids are 6-30 characters of lowercase letters, digits and hyphens", () => {
    assert.equal(gcpNameProblem("serviceAccountId", "dbw-prod-mcp"), null);
    assert.match(gcpNameProblem("serviceAccountId", "dbw-a")!, /has 5 characters/);
    assert.match(gcpNameProblem("serviceAccountId", "d".repeat(31))!, /has 31 characters/);
    assert.match(gcpNameProblem("serviceAccountId", "Dbw-prod-mcp")!, /is not 6-30 lowercase/);
    assert.match(gcpNameProblem("serviceAccountId", "dbw-prod-mcp-")!, /not ending in a hyphen/);
  });

  it("Cloud Run names, label keys and values, bucket names", () => {
    assert.equal(gcpNameProblem("cloudRunName", "a".repeat(49)), null);
    assert.match(gcpNameProblem("cloudRunName", "a".repeat(50))!, /at most 49/);
    assert.match(gcpNameProblem("labelKey", "dbwarden:owner")!, /lowercase letter first/);
    assert.match(gcpNameProblem("labelKey", "1owner")!, /not/);
    assert.equal(gcpNameProblem("labelValue", ""), null);
    assert.match(gcpNameProblem("labelValue", "Data-Platform")!, /lowercase/);
    assert.match(gcpNameProblem("bucketName", "google-x")!, /goog/);
    assert.match(gcpNameProblem("secretId", "dbwarden/prod/x")!, /letters, digits, underscores and hyphens/);
  });

  it("names dbwarden gives fit, stay distinct when shortened, and the label keys it sets are valid", () => {
    const long = "a-very-long-environment-name-for-testing";
    assert.ok(mcpServiceAccountId(long).length <= 30);
    assert.notEqual(fitName([long, "x"], 30), fitName([long, "y"], 30));
    assert.equal(gcpNameProblem("serviceAccountId", loginServiceAccountId("dbw_eng_incident_investigation__claude_incident_bot")), null);
    assert.ok(cloudRunServiceName(long).length <= GCP_NAME_RULES.cloudRunName.max);
    assert.equal(gcpSecretId("dbwarden/prod/cs-usage-drop/claude-cs"), "dbwarden--prod--cs-usage-drop--claude-cs");
    assert.equal(labelValue("Data Platform+Finance"), "data_platform_finance");
    assert.deepEqual(
      DBWARDEN_GCP_LABEL_KEYS.flatMap((k) => labelProblems({ [k]: "x" }, "here")),
      [],
    );
  });

  it("the preflight names every name GCP would refuse and every duplicate, with its field", () => {
    const problems = gcpNameProblems([
      { kind: "serviceAccountId", what: "the MCP server's service account", field: "name", name: "dbw" },
      { kind: "secretId", what: "the secret of a", field: "workflows.w.clients.a", name: "same" },
      { kind: "secretId", what: "the secret of b", field: "workflows.w.clients.b", name: "same" },
    ]);
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /^name: the MCP server's service account would be named "dbw" has 3 characters/);
    assert.match(problems[1]!, /would both be named "same"/);
  });
});

describe("the GCP preflight and checks", () => {
  const lookups = { sqlInstance: async (project: string, name: string) => sqlInstanceLookup(project, name) };

  it("passes the example stacks", async () => {
    assert.deepEqual(await gcpPreflightProblems(plan, lookups), []);
    assert.deepEqual(await gcpPreflightProblems(iamPlan, lookups), []);
  });

  it("reports a primary without the flags pgaudit or IAM logins need there, and one it cannot look up", async () => {
    const bare = { databaseVersion: "POSTGRES_16", settings: [{ databaseFlags: [] }] };
    assert.deepEqual(primaryFlagProblems(targetOf(plan), bare), [
      "targets.app.primary.instance: pgaudit logging needs the flag cloudsql.enable_pgaudit=on " +
        "on the primary too (CREATE EXTENSION pgaudit runs there); set it and restart the primary",
    ]);
    assert.match(primaryFlagProblems(targetOf(iamPlan), bare)[0]!, /needs the flag cloudsql.iam_authentication=on/);
    assert.match(primaryFlagProblems(targetOf(plan), { databaseVersion: "MYSQL_8_0", settings: [] })[0]!, /runs MYSQL_8_0, not PostgreSQL/);
    const failing = { sqlInstance: async () => Promise.reject(new Error("Error 404: The Cloud SQL instance does not exist.")) };
    assert.match((await gcpPreflightProblems(plan, failing))[0]!, /"app-prod" cannot be looked up in project acme-data-prod \(Error 404/);
  });

  it("refuses a load balancer without certificate or networks, more than one replica, and an image built for ECS", () => {
    assert.throws(() => checkCloudRunPlan(withHost(plan, { sslCertificate: null })), /mcpServer.host.sslCertificate is required with ingress: load-balancer/);
    assert.throws(
      () => checkCloudRunPlan({ ...plan, mcpServer: { ...plan.mcpServer, allowedCidrs: [] } }),
      /mcpServer.allowedCidrs: with ingress: load-balancer/,
    );
    assert.throws(() => checkCloudRunPlan({ ...plan, mcpServer: { ...plan.mcpServer, replicas: 2 } }), /mcpServer.replicas: 2 on Cloud Run/);
    assert.throws(
      () => checkCloudRunPlan({ ...plan, mcpServer: { ...plan.mcpServer, image: { source: "build" } } }),
      /mcpServer.image: Cloud Run runs an image from Artifact Registry/,
    );
  });

  it("refuses a Cloud SQL target in another region or network, public without networks, or without an admin", () => {
    const host = hostOf(plan);
    const target = targetOf(plan);
    assert.equal(checkCloudSqlTarget(target, host), target);
    assert.throws(
      () => checkCloudSqlTarget({ ...target, platformSettings: { ...target.platformSettings, region: "us-east1" } }, host),
      /targets.app.region: "us-east1" differs/,
    );
    assert.throws(
      () => checkCloudSqlTarget({ ...target, network: { ...target.network, vpcId: "projects/x/global/networks/other" } }, host),
      /targets.app.network.vpcId/,
    );
    assert.throws(
      () => checkCloudSqlTarget({ ...target, network: { ...target.network, privateOnly: false, allowedCidrs: [] } }, host),
      /authorized networks listed/,
    );
    assert.throws(
      () => checkCloudSqlTarget({ ...target, platformSettings: { ...target.platformSettings, adminSecret: null } }, host),
      /primary.adminSecret is required with password credentials/,
    );
  });

  it(
    "a BigQuery target on Cloud Run is deployed by its row (components/bigquery/onCloudRun.ts), " +
      "which refuses the Cloud SQL target's network settings, naming the field",
    () => {
      const warehouse = plan.targets.find((t) => t.platform === "bigquery")!;
      const bq = { ...warehouse, name: "events", network: targetOf(plan).network };
      assert.throws(
        () => checkCloudRunPlan({ ...plan, targets: [...plan.targets, bq] as AccessPlan["targets"] }),
        /^Error: targets\.events\.network\.vpcId: a BigQuery target is reached through Google's API with IAM alone/,
      );
      const bare = { ...bq, network: warehouse.network };
      assert.deepEqual(
        checkCloudRunPlan({ ...plan, targets: [...plan.targets, bare] as AccessPlan["targets"] }).targets.map((t) => t.name),
        ["app", "warehouse", "events"],
      );
    },
  );
});

describe("the Cloud SQL replica's settings", () => {
  it("private, TLS only; public only with the spec's networks", () => {
    assert.deepEqual(replicaIpConfiguration(targetOf(plan)), {
      ipv4Enabled: false,
      privateNetwork: "projects/acme-data-prod/global/networks/data",
      authorizedNetworks: [],
      sslMode: "ENCRYPTED_ONLY",
    });
    const open = { ...targetOf(plan), network: { ...targetOf(plan).network, privateOnly: false, allowedCidrs: ["198.51.100.0/24"] } };
    assert.deepEqual(replicaIpConfiguration(open)!.authorizedNetworks, [{ name: "dbwarden-198-51-100-0-24", value: "198.51.100.0/24" }]);
  });

  it("flags for pgaudit, log_statement and IAM logins", () => {
    const names = (flags: { name: string; value: string }[]) => Object.fromEntries(flags.map((f) => [f.name, f.value]));
    const pgaudit = names(replicaFlags({ statements: "pgaudit", retentionDays: 30 }, "password", plan.workflows, "targets.app"));
    assert.equal(pgaudit["cloudsql.enable_pgaudit"], "on");
    assert.equal(pgaudit.log_statement, undefined);
    const statements = names(replicaFlags({ statements: "log-statement", retentionDays: 30 }, "iam", iamPlan.workflows, "targets.app"));
    assert.equal(statements.log_statement, "all");
    assert.equal(statements["cloudsql.iam_authentication"], "on");
    assert.throws(
      () => replicaFlags({ statements: "query-history", retentionDays: 30 }, "iam", [], "targets.app"),
      /targets.app.logging.statements: "query-history" is not available on Cloud SQL/,
    );
  });

  it("the endpoint, the admin secret, the rotation schedule", () => {
    assert.deepEqual(cloudSqlEndpoint("p:r:i", "app", true), { cloudSql: { instance: "p:r:i", ipType: "PRIVATE", database: "app" } });
    assert.throws(
      () => parseCloudSqlAdminSecret("s3cr3t-plain", "field"),
      (e: Error) => /not JSON/.test(e.message) && !e.message.includes("s3cr3t"),
    );
    assert.deepEqual(rotationSchedule(30, "2026-01-15"), { rotationPeriod: "2592000s", nextRotationTime: "2026-02-14T00:00:00.000Z" });
  });
});

describe("the Cloud Run host", () => {
  it("ingress, host names, the cloudsql.client condition, Cloud Armor rules of at most 10 ranges", () => {
    assert.equal(cloudRunIngress({ ingress: "internal" }), "INGRESS_TRAFFIC_INTERNAL_ONLY");
    assert.equal(cloudRunIngress({ ingress: "load-balancer" }), "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER");
    assert.equal(runAppHostname("dbw-x-mcp", "123", "europe-west1"), "dbw-x-mcp-123.europe-west1.run.app");
    assert.equal(replicasCondition("p", ["b", "a"]).expression, 'resource.name == "projects/p/instances/a" || resource.name == "projects/p/instances/b"');
    const cidrs = Array.from({ length: 12 }, (_, i) => `10.${i}.0.0/16`);
    const rules = cloudArmorRules(cidrs);
    assert.equal(rules.length, 3);
    assert.equal((rules[0]!.match as { config: { srcIpRanges: string[] } }).config.srcIpRanges.length, 10);
    assert.equal(rules.at(-1)!.action, "deny(403)");
    assert.throws(() => cloudArmorRules([]), /needs the networks/);
  });

  it("the plan tree says where the server runs and who may invoke it", () => {
    assert.match(
      renderPlanTree(plan),
      /runs on GCP Cloud Run in acme-data-prod\/europe-west1 .* behind an HTTPS load balancer with Cloud Armor, callers need a Google identity with run.invoker/,
    );
  });
});

describe("dbwarden review: Cloud Run ingress and invoker", () => {
  const kinds = (before: AccessPlan, after: AccessPlan) =>
    diffPlans(before, after)
      .changes.filter((c) => c.area === "mcp-server" && c.kind.startsWith("host-"))
      .map((c) => `${c.direction} ${c.kind}`);
  const internal = withHost(plan, { ingress: "internal", sslCertificate: null });

  it("internal -> load balancer is a widening; back is a narrowing", () => {
    // The certificate comes and goes with the load balancer: a neutral host change beside it.
    assert.deepEqual(kinds(internal, plan), ["widening host-internet-facing", "neutral host-changed"]);
    assert.deepEqual(kinds(plan, internal), ["narrowing host-internal", "neutral host-changed"]);
  });

  it("allUsers as invoker is a widening also behind a load balancer that was already public, and taking it away a narrowing", () => {
    const open = withHost(plan, { publicInvokerJustification: "Partners' agents cannot hold Google identities; Cloud Armor limits the networks." });
    assert.deepEqual(kinds(plan, open), ["widening host-internet-facing"]);
    assert.match(
      diffPlans(plan, open).changes.find((c) => c.kind === "host-internet-facing")!.summary,
      /another way in from the internet: unauthenticated invocation/,
    );
    assert.deepEqual(kinds(open, plan), ["narrowing host-internal"]);
    assert.deepEqual(kinds(internal, withHost(internal, { publicInvokerJustification: "Partners' agents cannot hold Google identities, say the owners." })), [
      "widening host-internet-facing",
    ]);
  });

  it("a CPU change is neutral", () => {
    assert.deepEqual(kinds(plan, withHost(plan, { cpu: "2" })), ["neutral host-changed"]);
  });
});

describe("dbwarden keys on GCP Secret Manager", () => {
  /** Secret Manager's behaviour: numbered versions, `latest` the newest; add makes a new one. */
  function fakeSecretManager(): SecretManagerKeysClient & { versions: string[] } {
    const versions = ["[]"];
    return {
      versions,
      async accessSecretVersion({ name }) {
        assert.match(name, /^projects\/acme-data-prod\/secrets\/dbwarden--gcp--mcp-api-keys\/versions\/latest$/);
        return [{ name: `projects/123/secrets/dbwarden--gcp--mcp-api-keys/versions/${versions.length}`, payload: { data: Buffer.from(versions.at(-1)!) } }];
      },
      async addSecretVersion({ parent, payload }) {
        assert.equal(parent, "projects/acme-data-prod/secrets/dbwarden--gcp--mcp-api-keys");
        versions.push(payload.data.toString("utf8"));
        return [{ name: `${parent}/versions/${versions.length}` }];
      },
    };
  }

  it("issues a key: a new version with the hash (never the key), listed by client", async () => {
    const fake = fakeSecretManager();
    const backend = new SecretsManagerKeys(
      gcpSecretsClient({ client: fake }),
      "projects/acme-data-prod/secrets/dbwarden--gcp--mcp-api-keys",
      "GCP Secret Manager",
    );
    assert.equal(backend.where, "GCP Secret Manager secret projects/acme-data-prod/secrets/dbwarden--gcp--mcp-api-keys");
    const { key, keyId } = await issueKey(backend, findApiKeyClient(plan, "claude-cs"));
    assert.equal(fake.versions.length, 2);
    assert.ok(!fake.versions[1]!.includes(key), "only the hash is stored");
    const listing = await listKeys(backend, plan);
    assert.deepEqual(listing.find((l) => l.client === "claude-cs")!.keyIds, [keyId]);
  });
});
