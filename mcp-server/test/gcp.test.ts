/**
 * The server on GCP (src/clouds/gcp/) end to end against a REAL PostgreSQL: the target's endpoint is
 * a Cloud SQL instance reached through the connector (a fake connector that behaves as the real
 * one: `getOptions` per instance and identity, a `stream()` whose `connect` is a no-op, here a TCP
 * socket to the test database), a client's login is a Secret Manager secret (a local HTTP fake of
 * its REST API, serving `versions/latest:access` as the service does), another's a Cloud SQL IAM
 * login: the server connects as
 * the IAM database user the runtime config names, impersonating that login's service account,
 * with no password (the test database trusts that user, as Cloud SQL trusts the connector's
 * certificate). Cloud Storage documents are read through the server's REST client (clouds/gcp/rest.ts)
 * against a local HTTP fake of the JSON API, with a token as google-auth-library gives it.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect as connectTcp, type Socket } from "node:net";
import { test } from "node:test";
import { PLAN_ENV, parsePlan } from "@dbwarden/contract";
import {
  CloudSqlConnectorSource,
  GcpSecretManagerSource,
  GoogleCloudStorageSource,
  SecretManagerRest,
  type CloudSqlConnectRequest,
} from "../src/clouds/gcp/index.ts";
import { replayingConnect } from "../src/engines/postgres/pool.ts";
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

const TOKEN = "ya29.test-token";
/** Authorization as google-auth-library gives it; the fakes refuse requests without it. */
const auth = { headers: async () => ({ authorization: `Bearer ${TOKEN}` }) };

/** A local HTTP server; its base URL. */
async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/**
 * Secret Manager's REST API as the service answers it: `GET /v1/<secret>/versions/latest:access` is
 * the newest version (payload base64); an unknown secret is 404 NOT_FOUND; no token is 401.
 */
async function fakeSecretManager(secrets: Record<string, string>): Promise<{ endpoint: string; reads: string[]; close(): void }> {
  const reads: string[] = [];
  const server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return answer(401, { error: { code: 401, message: "Request is missing required authentication credential.", status: "UNAUTHENTICATED" } });
    const match = /^\/v1\/(projects\/[^/]+\/secrets\/[^/]+)\/versions\/latest:access$/.exec(req.url ?? "");
    if (req.method !== "GET" || !match) return answer(404, { error: { code: 404, message: "Not found", status: "NOT_FOUND" } });
    reads.push(`${match[1]}/versions/latest`);
    const value = secrets[match[1]!];
    if (value === undefined) return answer(404, { error: { code: 404, message: `Secret [${match[1]}] not found or has no versions.`, status: "NOT_FOUND" } });
    answer(200, { name: `${match[1]}/versions/1`, payload: { data: Buffer.from(value).toString("base64"), dataCrc32c: "0" } });
  });
  const endpoint = await listen(server);
  return { endpoint, reads, close: () => server.close() };
}

test("queries run through the Cloud SQL connector: a Secret Manager login and a Cloud SQL IAM login (no password, the login's own identity)", async (t) => {
  const { source, requests } = fakeConnectors();
  const digest = "dbw_cs_usage_drop__n8n_cs_digest";
  const secretManager = await fakeSecretManager({ [`${SECRET_PREFIX}digest`]: JSON.stringify({ username: digest, password: fx.passwords[digest] }) });
  t.after(() => secretManager.close());
  const logins = {
    ...(fx.runtime().logins as Record<string, unknown>),
    dbw_cs_usage_drop__claude_cs: { gcpCloudSqlIam: { user: IAM_USER } },
    [digest]: { gcpSecret: `${SECRET_PREFIX}digest` },
  };
  const runtime = fx.runtime({ databases: { app: { cloudSql: { instance: INSTANCE, ipType: "PRIVATE", database: "dbwarden_demo" } } }, logins });
  const server = await serve(
    fx.plan,
    { clouds: { gcp: { cloudSql: source, secrets: new GcpSecretManagerSource({ endpoint: secretManager.endpoint, ...auth }) } } },
    runtime,
  );

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

test("the plan from Cloud Storage through its JSON API (objects.get, alt=media) with the service's token, checked against its sha256", async () => {
  const text = JSON.stringify(localPlan());
  const requests: IncomingMessage[] = [];
  const gcs = createServer((req, res) => {
    requests.push(req);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res
        .writeHead(401, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { code: 401, message: "Anonymous caller does not have storage.objects.get access." } }));
    } else if (req.url?.startsWith("/storage/v1/b/dbw-config/o/plans%2Fprod%2Fplan.json") && req.url.includes("alt=media")) {
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
    const storage = new GoogleCloudStorageSource({ endpoint: apiEndpoint, ...auth });
    const sha = createHash("sha256").update(text).digest("hex");
    const { value, origin } = await loadPlan(
      undefined,
      { [PLAN_ENV.gcs]: "gs://dbw-config/plans/prod/plan.json", [PLAN_ENV.sha256]: sha },
      { gcp: { storage } },
    );
    assert.equal(origin, "gs://dbw-config/plans/prod/plan.json");
    assert.equal(parsePlan(value).workflows.length, localPlan().workflows.length);
    assert.equal(requests[0]!.method, "GET");
    await assert.rejects(
      loadPlan(undefined, { [PLAN_ENV.gcs]: "gs://dbw-config/missing.json" }, { gcp: { storage } }),
      /cannot read gs:\/\/dbw-config\/missing\.json \(HTTP 404\)/,
    );
    const anonymous = new GoogleCloudStorageSource({ endpoint: apiEndpoint, headers: async () => ({}) });
    await assert.rejects(
      loadPlan(undefined, { [PLAN_ENV.gcs]: "gs://dbw-config/plans/prod/plan.json" }, { gcp: { storage: anonymous } }),
      /cannot read gs:\/\/dbw-config\/plans\/prod\/plan\.json \(HTTP 401\)/,
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

test("Secret Manager over REST: the rotator's calls as the service takes them (access latest, addVersion with a base64 payload, disable)", async (t) => {
  const calls: string[] = [];
  const versions: string[] = ["old-password-json"];
  const disabled = new Set<number>();
  const secret = `${SECRET_PREFIX}digest`;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const answer = (status: number, body: unknown) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return answer(401, { error: { code: 401, message: "unauthenticated" } });
      calls.push(`${req.method} ${req.url} ${req.headers["content-type"] ?? ""}`.trim());
      if (req.method === "GET" && req.url === `/v1/${secret}/versions/latest:access`) {
        const n = versions.length;
        return answer(200, { name: `${secret}/versions/${n}`, payload: { data: Buffer.from(versions[n - 1]!).toString("base64") } });
      }
      if (req.method === "POST" && req.url === `/v1/${secret}:addVersion`) {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { payload: { data: string } };
        versions.push(Buffer.from(body.payload.data, "base64").toString("utf8"));
        return answer(200, { name: `${secret}/versions/${versions.length}`, state: "ENABLED" });
      }
      const disable = /^\/v1\/.*\/versions\/(\d+):disable$/.exec(req.url ?? "");
      if (req.method === "POST" && disable) {
        disabled.add(Number(disable[1]));
        return answer(200, { name: req.url!.slice(4, -":disable".length), state: "DISABLED" });
      }
      answer(404, { error: { code: 404, message: `Secret [${req.url}] not found or has no versions.` } });
    });
  });
  const endpoint = await listen(server);
  t.after(() => server.close());
  const api = new SecretManagerRest({ endpoint, ...auth });

  assert.deepEqual(await api.accessLatest(secret), { name: `${secret}/versions/1`, text: "old-password-json" });
  assert.equal(await api.addVersion(secret, '{"password":"new é"}'), `${secret}/versions/2`);
  assert.deepEqual(versions, ["old-password-json", '{"password":"new é"}'], "the payload arrives as the text, bytes intact");
  await api.disableVersion(`${secret}/versions/1`);
  assert.deepEqual([...disabled], [1]);
  await assert.rejects(api.accessLatest(`${SECRET_PREFIX}missing`), /404 Secret \[.*missing.*\] not found/);
  await assert.rejects(new SecretManagerRest({ endpoint, headers: async () => ({}) }).accessLatest(secret), /401 unauthenticated/);
  assert.deepEqual(calls, [
    `GET /v1/${secret}/versions/latest:access`,
    `POST /v1/${secret}:addVersion application/json`,
    `POST /v1/${secret}/versions/1:disable application/json`,
    `GET /v1/${SECRET_PREFIX}missing/versions/latest:access`,
  ]);
});

test("a connector socket that connected (or failed) before pg listened is replayed to pg, not waited on until the connect timeout", async () => {
  const listener = createServer();
  await listen(listener);
  const port = (listener.address() as { port: number }).port;
  try {
    // Connected before pg asks: pg's connect() then sees "connect" once it listens.
    const connected = replayingConnect(connectTcp({ host: "127.0.0.1", port }));
    await new Promise((r) => connected.once("connect", r));
    const seen = new Promise<string>((resolve) => {
      connected.connect(port, "127.0.0.1");
      connected.once("connect", () => resolve("connect"));
    });
    assert.equal(await seen, "connect");
    connected.destroy();
    // Failed before pg asks (nothing listens on the port any more): pg sees the error, the process does not crash.
    const refused = replayingConnect(connectTcp({ host: "127.0.0.1", port: 1 }));
    await new Promise((r) => refused.once("close", r));
    const error = await new Promise<Error>((resolve) => {
      refused.connect(1, "127.0.0.1");
      refused.once("error", resolve);
    });
    assert.match(error.message, /ECONNREFUSED/);
  } finally {
    listener.close();
  }
});
