/**
 * The AWS credential paths of the server, against a real Postgres with in-process fakes for the
 * AWS SDK calls: RDS IAM database authentication (a generated token is the password, over TLS only)
 * and API key hashes read from a Secrets Manager secret, refreshed without a restart.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chownSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { startServer, type RdsAuthTokenRequest, type RdsAuthTokenSource, type RunningServer } from "../src/index.ts";
import { call, httpClient, startFixture, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
const servers: RunningServer[] = [];
const clients: Client[] = [];

before(async () => {
  fx = await startFixture();
  // TLS on the test server: a throwaway self-signed certificate, owned by the user Postgres runs as.
  const admin = await fx.db.admin();
  const dataDir = (await admin.query("SHOW data_directory")).rows[0].data_directory as string;
  const owner = statSync(dataDir);
  const cert = join(fx.dir, "server.crt");
  const key = join(fx.dir, "server.key");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], { stdio: "ignore" });
  for (const file of [cert, key]) chownSync(file, owner.uid, owner.gid);
  execFileSync("chmod", ["0600", key]);
  execFileSync("chmod", ["0755", fx.dir]);
  await admin.query(`ALTER SYSTEM SET ssl_cert_file = '${cert}'`);
  await admin.query(`ALTER SYSTEM SET ssl_key_file = '${key}'`);
  await admin.query("ALTER SYSTEM SET ssl = on");
  await admin.query("SELECT pg_reload_conf()");
});
after(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await Promise.allSettled(servers.map((s) => s.close()));
  await fx?.stop();
});

/** Fake RDS signer: a "token" that is really the role's password, so the real database accepts it. */
function fakeTokens(): RdsAuthTokenSource & { requests: RdsAuthTokenRequest[] } {
  const requests: RdsAuthTokenRequest[] = [];
  return {
    requests,
    async getAuthToken(request) {
      requests.push(request);
      return fx.passwords[request.username]!;
    },
  };
}

function iamRuntime(sslmode: "disable" | "require" | "verify-full") {
  const runtime = fx.runtime({ databases: { app: { host: fx.db.host, port: fx.db.port, database: "dbwarden_demo", sslmode } } });
  runtime.logins = Object.fromEntries(Object.keys(fx.passwords).map((role) => [role, { awsRdsIam: { region: "eu-west-1" } }]));
  return runtime;
}

describe("RDS IAM database authentication", { timeout: 60_000 }, () => {
  test("a token generated at connect time for the login role is the password, over TLS", async () => {
    const tokens = fakeTokens();
    const s = await startServer({ plan: fx.plan, runtime: iamRuntime("require"), rdsTokens: tokens });
    servers.push(s);
    const c = await httpClient(s.url, fx.keys["claude-cs"]!);
    clients.push(c);
    const out = await call(c, "query", { sql: "SELECT count(*) AS n FROM app.accounts" });
    assert.equal(out.isError, false, out.text);
    const role = "dbw_cs_usage_drop__claude_cs";
    assert.ok(tokens.requests.some((r) => r.username === role && r.hostname === fx.db.host && r.port === fx.db.port && r.region === "eu-west-1"), JSON.stringify(tokens.requests.map((r) => r.username)));
    const admin = await fx.db.admin();
    const ssl = await admin.query("SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = $1", [role]);
    assert.ok(ssl.rows.length > 0 && ssl.rows.every((r) => r.ssl === true), "the login's connections use TLS");
    const audit = JSON.stringify(fx.auditLines());
    for (const token of Object.values(fx.passwords)) assert.ok(!audit.includes(token), "no token in the audit trail");
  });

  test("sslmode disable with an IAM login is refused at startup with a clear message", async () => {
    const tokens = fakeTokens();
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: iamRuntime("disable"), rdsTokens: tokens }),
      /databases\.app\.sslmode: "disable" is refused for login "dbw_[a-z_]+", which uses awsRdsIam: .*TLS is required/,
    );
    assert.equal(tokens.requests.length, 0, "no token was generated for a refused config");
  });

  test("a rejected token is a startup error that does not print the token", async () => {
    const tokens: RdsAuthTokenSource = { getAuthToken: async () => "not-a-valid-token-4711" };
    await assert.rejects(startServer({ plan: fx.plan, runtime: iamRuntime("require"), rdsTokens: tokens }), (e: Error) => /database unreachable at startup/.test(e.message) && !e.message.includes("4711"));
  });

  test("the login variant is validated strictly", async () => {
    const runtime = iamRuntime("require");
    (runtime.logins as Record<string, unknown>)["dbw_cs_usage_drop__claude_cs"] = { awsRdsIam: { region: "eu-west-1", port: 5432 } };
    await assert.rejects(startServer({ plan: fx.plan, runtime, rdsTokens: fakeTokens() }), /unknown key|Invalid input/);
    (runtime.logins as Record<string, unknown>)["dbw_cs_usage_drop__claude_cs"] = { awsRdsIam: { region: "Ireland" } };
    await assert.rejects(startServer({ plan: fx.plan, runtime, rdsTokens: fakeTokens() }), /logins\.dbw_cs_usage_drop__claude_cs/);
  });
});
void writeFileSync;
