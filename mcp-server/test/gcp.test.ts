/**
 * The server on GCP (src/clouds/gcp/) end to end against a REAL PostgreSQL: the target's endpoint is
 * a Cloud SQL instance reached through the connector (a fake connector that behaves as the real
 * one: `getOptions` per instance and identity, a `stream()` whose `connect` is a no-op, here a TCP
 * socket to the test database), a client's login is a Secret Manager secret (a fake that serves
 * `versions/latest` as the service does), another's a Cloud SQL IAM login: the server connects as
 * the IAM database user the runtime config names, impersonating that login's service account,
 * with no password (the test database trusts that user, as Cloud SQL trusts the connector's
 * certificate). Cloud Storage documents are read through the real `@google-cloud/storage` client
 * against a local HTTP fake of its JSON API.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { connect as connectTcp, type Socket } from "node:net";
import { test } from "node:test";
import { PLAN_ENV, parsePlan } from "@dbwarden/contract";
import {
  CloudSqlConnectorSource,
  GcpSecretManagerSource,
  GoogleCloudStorageSource,
  type CloudSqlConnectRequest,
  type SecretManagerClientLike,
} from "../src/clouds/gcp/index.ts";
import { loadPlan } from "../src/plansource.ts";
import { call, fixtureForFile, localPlan, type Fixture } from "./support/fixture.ts";

const IAM_USER = "dbw-cs-usage-drop-claude-cs@acme-data-prod.iam";
const INSTANCE = "acme-data-prod:europe-west1:dbw-gcp-app-replica";
const SECRET_PREFIX = "projects/acme-data-prod/secrets/";

let fx!: Fixture;
const { serve, connect } = fixtureForFile(async (started) => {
  fx = started;
  const admin = await fx.db.admin("dbwarden_demo");
  // What Cloud SQL's users.insert with databaseRoles does: the IAM user, holding only the login role.
  await admin.query(`CREATE ROLE "${IAM_USER}" LOGIN INHERIT IN ROLE dbw_cs_usage_drop__claude_cs`);
  // Cloud SQL trusts the IAM identity the connector's certificate carries: here, this user alone logs in without a password.
  const { rows } = await admin.query<{ hba_file: string }>("SHOW hba_file");
  const { readFileSync, writeFileSync } = await import("node:fs");
  const hba = readFileSync(rows[0]!.hba_file, "utf8");
  writeFileSync(rows[0]!.hba_file, `host all "${IAM_USER}" 127.0.0.1/32 trust\n${hba}`);
  await admin.query("SELECT pg_reload_conf()");
});

/** A connector as the real one behaves: options per (instance, identity), each stream a new socket whose `connect` is a no-op. */
function fakeConnectors(): { source: CloudSqlConnectorSource; requests: (CloudSqlConnectRequest & { identity: string | null })[] } {
  const requests: (CloudSqlConnectRequest & { identity: string | null })[] = [];
  const source = new CloudSqlConnectorSource(async (impersonate) => ({
    async getOptions(opts) {
      requests.push({ ...(opts as CloudSqlConnectRequest), identity: impersonate });
      if (opts.instanceConnectionName !== INSTANCE) throw new Error(`Cloud SQL instance not found: ${opts.instanceConnectionName}`);
      return {
        stream: () => {
          const socket: Socket = connectTcp({ host: fx.db.host, port: fx.db.port });
          socket.connect = (() => socket) as never;
          return socket;
        },
      };
    },
  }));
  return { source, requests };
}

/** Secret Manager's accessSecretVersion: `.../versions/latest` is the newest version; unknown secrets are NOT_FOUND. */
function fakeSecretManager(secrets: Record<string, string>): SecretManagerClientLike & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async accessSecretVersion({ name }) {
      reads.push(name);
      const secret = name.replace(/\/versions\/latest$/, "");
      if (!(secret in secrets)) throw Object.assign(new Error(`5 NOT_FOUND: Secret [${secret}] not found or has no versions.`), { code: 5 });
      return [{ name: `${secret}/versions/1`, payload: { data: Buffer.from(secrets[secret]!) } }];
    },
  };
}

test("queries run through the Cloud SQL connector: a Secret Manager login and a Cloud SQL IAM login (no password, the login's own identity)", async () => {
  const { source, requests } = fakeConnectors();
  const digest = "dbw_cs_usage_drop__n8n_cs_digest";
  const secretManager = fakeSecretManager({ [`${SECRET_PREFIX}digest`]: JSON.stringify({ username: digest, password: fx.passwords[digest] }) });
  const logins = {
    ...(fx.runtime().logins as Record<string, unknown>),
    dbw_cs_usage_drop__claude_cs: { gcpCloudSqlIam: { user: IAM_USER } },
    [digest]: { gcpSecret: `${SECRET_PREFIX}digest` },
  };
  const runtime = fx.runtime({ databases: { app: { cloudSql: { instance: INSTANCE, ipType: "PRIVATE", database: "dbwarden_demo" } } }, logins });
  const server = await serve(fx.plan, { clouds: { gcp: { cloudSql: source, secrets: new GcpSecretManagerSource(secretManager) } } }, runtime);

  const claude = await connect(server, "claude-cs");
  const viaIam = await call(claude, "query", { sql: "SELECT current_user AS who, count(*) AS n FROM app.accounts" });
  assert.equal(viaIam.isError, false, viaIam.text);
  assert.match(viaIam.text, new RegExp(IAM_USER.replace(/[.]/g, "\\.")), "the session's user is the IAM database user");
  const denied = await call(claude, "query", { sql: "SELECT email FROM app.users" });
  assert.equal(denied.isError, true, "the IAM user holds only the login role's grants");

  const n8n = await connect(server, "n8n-cs-digest");
  const viaSecret = await call(n8n, "query", { sql: "SELECT current_user AS who FROM app.accounts LIMIT 1" });
  assert.equal(viaSecret.isError, false, viaSecret.text);
  assert.match(viaSecret.text, /dbw_cs_usage_drop__n8n_cs_digest/);
  assert.deepEqual(secretManager.reads, [`${SECRET_PREFIX}digest/versions/latest`]);

  const byIdentity = Object.fromEntries(requests.map((r) => [r.identity ?? "server", `${r.authType} ${r.ipType} ${r.instanceConnectionName}`]));
  assert.deepEqual(byIdentity, {
    "dbw-cs-usage-drop-claude-cs@acme-data-prod.iam.gserviceaccount.com": `IAM PRIVATE ${INSTANCE}`,
    server: `PASSWORD PRIVATE ${INSTANCE}`,
  });
  const audit = fx.auditLines().filter((l) => l.tool === "query");
  assert.ok(audit.length >= 3);
  assert.ok(!JSON.stringify(audit).includes(fx.passwords[digest]!), "no password in the audit");
});

test("a Cloud SQL instance the connector cannot open refuses the start, naming the target and instance", async () => {
  const { source, requests } = fakeConnectors();
  const runtime = fx.runtime({
    databases: { app: { cloudSql: { instance: "acme-data-prod:europe-west1:missing", ipType: "PRIVATE", database: "dbwarden_demo" } } },
  });
  await assert.rejects(serve(fx.plan, { clouds: { gcp: { cloudSql: source } } }, runtime), (error: Error) =>
    /database unreachable at startup:\n {2}target "app" \(cloudsql:acme-data-prod:europe-west1:missing\/dbwarden_demo\)/.test(error.message),
  );
  assert.ok(requests.length >= 1);
});

test("the plan from Cloud Storage through the real @google-cloud/storage client, checked against its sha256", async () => {
  const text = JSON.stringify(localPlan());
  const requests: IncomingMessage[] = [];
  const gcs = createServer((req, res) => {
    requests.push(req);
    if (req.url?.startsWith("/storage/v1/b/dbw-config/o/plans%2Fprod%2Fplan.json") && req.url.includes("alt=media")) {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: 404, message: "No such object: dbw-config/missing.json" } }));
    }
  });
  await new Promise<void>((r) => gcs.listen(0, "127.0.0.1", r));
  try {
    const apiEndpoint = `http://127.0.0.1:${(gcs.address() as { port: number }).port}`;
    const storage = new GoogleCloudStorageSource({ apiEndpoint, projectId: "acme-data-prod" });
    const sha = createHash("sha256").update(text).digest("hex");
    const { value, origin } = await loadPlan(
      undefined,
      { [PLAN_ENV.gcs]: "gs://dbw-config/plans/prod/plan.json", [PLAN_ENV.sha256]: sha },
      { gcp: { storage } },
    );
    assert.equal(origin, "gs://dbw-config/plans/prod/plan.json");
    assert.equal(parsePlan(value).workflows.length, 3);
    assert.equal(requests[0]!.method, "GET");
    await assert.rejects(
      loadPlan(undefined, { [PLAN_ENV.gcs]: "gs://dbw-config/missing.json" }, { gcp: { storage } }),
      /cannot read gs:\/\/dbw-config\/missing\.json/,
    );
    await assert.rejects(
      loadPlan(undefined, { [PLAN_ENV.gcs]: "s3://dbw-config/plan.json" }, { gcp: { storage } }),
      /DBWARDEN_PLAN_GCS: expected gs:\/\/<bucket>\/<object>/,
    );
    await assert.rejects(
      loadPlan(undefined, { [PLAN_ENV.gcs]: "gs://dbw-config/plans/prod/plan.json", [PLAN_ENV.sha256]: "0".repeat(64) }, { gcp: { storage } }),
      /has sha256/,
    );
  } finally {
    gcs.close();
  }
});
