/**
 * AWS's multi-user password rotation, performed step by step on a real PostgreSQL as AWS's
 * function does it (createSecret: switch the user name to the other one and a new password;
 * setSecret: create the clone with the login's membership, or set the other user's password;
 * testSecret: log in with it; finishSecret: the pending value becomes current) while calls are in
 * flight. The server takes the user name from the secret, accepting only the login and its clone.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import pg from "pg";
import { rotationCloneName } from "@dbwarden/contract";
import { startServer, type RunningServer, type SecretsManagerSource } from "../src/index.ts";
import { call, fixtureForFile, httpClient, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
let server: RunningServer | undefined;
const { servers, clients } = fixtureForFile((started) => void (fx = started));

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbwarden/prod/cs-usage-drop/claude-cs";
const q = (s: string) => `"${s.replaceAll('"', '""')}"`;

test("multi-user rotation while calls are in flight: no call fails with an authentication error; another user is refused", { timeout: 150_000 }, async () => {
  const login = "dbw_cs_usage_drop__claude_cs";
  const clone = rotationCloneName(login);
  const group = fx.plan.workflows.find((w) => w.name === "cs-usage-drop")!.roles.group;
  /** The secret's AWSCURRENT value, as the rotation function leaves it. */
  let current = JSON.stringify({
    engine: "postgres",
    host: fx.db.host,
    port: fx.db.port,
    dbname: "dbwarden_demo",
    username: login,
    password: fx.passwords[login],
  });
  const secrets: SecretsManagerSource = { getSecret: async (arn) => (assert.equal(arn, ARN), current) };
  const runtime = fx.runtime();
  (runtime.logins as Record<string, unknown>)[login] = { awsSecretArn: ARN };
  const plan = structuredClone(fx.plan);
  Object.assign(plan.workflows.find((w) => w.name === "cs-usage-drop")!.limits, { callsPerMinute: 1_000_000, concurrentCalls: 8 });
  server = await startServer({ plan, runtime, clouds: { aws: { secrets } } });
  servers.push(server);
  const admin = await fx.db.admin("dbwarden_demo");

  // Calls in flight for the whole rotation: four workers, each its own MCP client.
  const outcomes: Array<{ ok: boolean; text: string }> = [];
  let running = true;
  const workers = await Promise.all(Array.from({ length: 4 }, () => httpClient(server!.url, fx.keys["claude-cs"]!)));
  clients.push(...workers);
  const loops = workers.map(async (c, i) => {
    while (running) {
      const out = await call(c, "query", { sql: "SELECT id, plan FROM app.accounts WHERE id = $1", params: [1 + i] });
      outcomes.push({ ok: !out.isError, text: out.text });
    }
  });

  /** The rotation function's four steps, switching the secret to `user` with a new password. */
  const rotate = async (user: string) => {
    const pending = { ...JSON.parse(current), username: user, password: randomBytes(18).toString("base64url") };
    const exists = (await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [user])).rows.length > 0;
    if (exists) await admin.query(`ALTER ROLE ${q(user)} PASSWORD '${pending.password}'`);
    else await admin.query(`CREATE ROLE ${q(user)} LOGIN INHERIT PASSWORD '${pending.password}' IN ROLE ${q(group)}`);
    const test = new pg.Client({ host: fx.db.host, port: fx.db.port, database: "dbwarden_demo", user, password: pending.password });
    await test.connect();
    await test.end();
    current = JSON.stringify(pending);
  };
  /** The server's connections as `user` that are idle are ended (a failover, a restart): new ones log in with the current secret. */
  const dropIdle = (user: string) => admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND state = 'idle'", [user]);
  const serving = async (user: string) => {
    const seen = outcomes.length;
    while (
      (await admin.query("SELECT 1 FROM pg_stat_activity WHERE usename = $1 AND application_name LIKE 'dbwarden%'", [user])).rows.length === 0 ||
      outcomes.slice(seen).filter((o) => o.ok).length < 10
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  await serving(login);
  for (const [to, from] of [
    [clone, login],
    [login, clone],
    [clone, login],
  ] as const) {
    await rotate(to);
    await dropIdle(from);
    await serving(to);
  }
  running = false;
  await Promise.all(loops);
  const authLines = fx.auditLines().filter((l) => /^28|credential/.test(String(l.errorClass)));
  assert.deepEqual(authLines, [], "no authentication failure in the audit trail");
  assert.ok(outcomes.filter((o) => o.ok).length >= 40, `${outcomes.filter((o) => o.ok).length} calls answered`);

  // A secret naming any other user is refused, and neither the user nor the password is repeated.
  current = JSON.stringify({ ...JSON.parse(current), username: "postgres", password: "s3cret-not-for-logs" });
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename IN ($1, $2)", [login, clone]);
  const c = await httpClient(server.url, fx.keys["claude-cs"]!);
  clients.push(c);
  let refused = await call(c, "query", { sql: "SELECT 1 AS one" });
  // A pooled connection may not have seen its termination yet: the next call takes a new one.
  for (let i = 0; i < 5 && !/credential/.test(refused.text); i++) refused = await call(c, "query", { sql: "SELECT 1 AS one" });
  assert.match(
    refused.text,
    /^UNAVAILABLE: the credential secret of login "dbw_cs_usage_drop__claude_cs" names another database user; only "dbw_cs_usage_drop__claude_cs" or "dbw_cs_usage_drop__claude_cs_clone"/,
  );
  assert.doesNotMatch(refused.text, /postgres|s3cret/);
  const line = fx.auditLines().at(-1)!;
  assert.equal(line.errorClass, "credential-user");
  assert.ok(!JSON.stringify(fx.auditLines()).includes("s3cret-not-for-logs"));
});
