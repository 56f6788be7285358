/**
 * The key-rotation job against the fake Snowflake account (mcp-server/test/support/snowflake-fake.ts)
 * and the real engine: between every two steps of a rotation, a server that is already connected
 * and a server that connects anew (its secret cache possibly stale) both answer a query. No call fails.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { parsePlan, type AccessPlan } from "../../mcp-server/src/config.ts";
import { SnowflakeEngine } from "../../mcp-server/src/engines/snowflake/index.ts";
import type { EngineCall } from "../../mcp-server/src/engines/engine.ts";
import { workflowScope } from "../../mcp-server/src/scope.ts";
import { FakeSnowflake } from "../../mcp-server/test/support/snowflake-fake.ts";
import { parseKeySecret, rotateKey, sqlUserKeys, type KeySecret } from "../../mcp-server/src/engines/snowflake/rotation.ts";
import { keySecretValue, publicKeyBody } from "@dbwarden/contract";
import { planStack } from "../../src/plan/index.ts";
import { fileURLToPath } from "node:url";
import { openClouds } from "../../mcp-server/src/clouds/registry.ts";
import { credentialSources } from "../../mcp-server/src/credentials.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const USER = "DBW_SALES_ANALYTICS__CLAUDE_REVOPS";
const VIEW = '"ANALYTICS"."DBWARDEN"."DBW_SALES_ANALYTICS__SALES__ORDERS"';
const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbwarden/snowflake/sales-analytics/claude-revops-AbCdEf";

function pem() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { privateKey, publicKey: publicKeyBody(publicKey), spki: publicKey };
}
const spkiOf = (body: string) => `-----BEGIN PUBLIC KEY-----\n${body.match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----\n`;

/** The snowflake stack's plan, and an account as it deploys it: the user's first key in slot 1, one readable view. */
function deployedAccount(): { plan: AccessPlan; fake: FakeSnowflake; first: ReturnType<typeof pem> } {
  const plan: AccessPlan = parsePlan(JSON.parse(JSON.stringify(planStack("snowflake", { root: ROOT, now: new Date("2026-01-15T12:00:00Z") }))));
  const fake = new FakeSnowflake();
  const first = pem();
  fake.users.set(USER, { keys: [first.spki, null] });
  fake.objects.set(VIEW, { columns: [{ name: "ID", type: "fixed" }], rows: [{ ID: 1 }] });
  fake.grants.set("DBW_SALES_ANALYTICS", new Set([VIEW]));
  return { plan, fake, first };
}

describe("rotating a Snowflake service user's key", () => {
  it("swaps keys through both slots while servers keep answering: no call fails", async () => {
    const { plan, fake, first } = deployedAccount();

    // The secret store, and what each server's 5-minute cache still holds.
    let stored = keySecretValue(USER, first.privateKey, 1);
    const runtime = {
      listen: { host: "127.0.0.1", port: 0 },
      databases: { warehouse: { snowflakeAccount: { account: "myorg-prod", warehouse: "AGENTS_XS", database: "ANALYTICS" } } },
      logins: { dbw_sales_analytics__claude_revops: { awsSecretArn: ARN } },
      apiKeys: [],
      audit: { stream: "stderr" as const },
    };
    const server = () => {
      let cached = stored;
      const credentials = {
        secrets: { read: async (_ref: unknown, options: { fresh?: boolean }) => (options.fresh ? (cached = stored) : cached) },
        login: async () => ({ password: "" }),
        certificateAuthorities: {} as never,
      };
      const engine = new SnowflakeEngine({ plan, targets: plan.targets, runtime: runtime as never, credentials: credentials as never, check: true }, fake);
      return { engine, expireCache: () => void (cached = stored) };
    };
    const workflow = plan.workflows[0]!;
    const call = (): EngineCall => ({
      identity: { workflow, client: workflow.clients[0]!, principal: "test" },
      requestId: randomUUID(),
      scope: workflowScope(workflow.tables),
      timeoutMs: 10_000,
    });
    const connected = server();
    const staleNewcomers: ReturnType<typeof server>[] = [];
    const failures: string[] = [];
    const answer = async (step: string) => {
      // A server connected since before the rotation, one starting now, and one started earlier that connects only now.
      const fresh = server();
      staleNewcomers.push(server());
      for (const [who, s] of [
        ["connected", connected],
        ["new", fresh],
        ["stale cache", staleNewcomers[0]!],
      ] as const) {
        try {
          const c = call();
          const rows = await s.engine.execute(c, await s.engine.check(c, { tool: "query", sql: "SELECT ID FROM SALES.ORDERS" }), [], {
            maxRows: 1,
            maxBytes: 1000,
          });
          assert.equal(rows.rows.values().length, 1);
        } catch (error) {
          failures.push(`${step} / ${who}: ${(error as Error).message}`);
        }
      }
      await fresh.engine.close();
    };

    await answer("before");
    const sql: string[] = [];
    const steps = {
      store: {
        read: async () => parseKeySecret(stored, ARN),
        write: async (secret: KeySecret) => {
          stored = keySecretValue(secret.username, secret.privateKey, secret.slot);
          await answer("secret written");
        },
      },
      users: sqlUserKeys(async (statement) => {
        sql.push(statement.replace(/'[^']+'/, "'<key>'"));
        const set = /^ALTER USER "([^"]+)" SET (RSA_PUBLIC_KEY(?:_2)?) = '([^']+)'$/.exec(statement);
        const unset = /^ALTER USER "([^"]+)" UNSET (RSA_PUBLIC_KEY(?:_2)?)$/.exec(statement);
        const [, user, column] = (set ?? unset)!;
        const keys = fake.users.get(user!)!.keys;
        keys[column === "RSA_PUBLIC_KEY" ? 0 : 1] = set ? spkiOf(set[3]!) : null;
        await answer(statement.split(" = ")[0]!);
      }),
      canLogIn: async (user: string, privateKey: string) =>
        fake
          .connect({ account: "myorg-prod", username: user, role: "DBW_SALES_ANALYTICS", warehouse: "AGENTS_XS", database: "ANALYTICS", privateKey })
          .then(async (c) => (await c.destroy(), true))
          .catch(() => false),
      waitPastSecretCache: async () => {
        connected.expireCache();
        await answer("past the cache");
      },
    };
    assert.equal(await rotateKey(steps), 2);
    assert.equal(await rotateKey(steps), 1, "the next rotation uses the other slot");
    assert.deepEqual(failures, []);
    assert.deepEqual(sql, [
      `ALTER USER "${USER}" SET RSA_PUBLIC_KEY_2 = '<key>'`,
      `ALTER USER "${USER}" UNSET RSA_PUBLIC_KEY`,
      `ALTER USER "${USER}" SET RSA_PUBLIC_KEY = '<key>'`,
      `ALTER USER "${USER}" UNSET RSA_PUBLIC_KEY_2`,
    ]);
    assert.deepEqual(
      fake.users.get(USER)!.keys.map((k) => k !== null),
      [true, false],
    );
    await Promise.all([connected.engine.close(), ...staleNewcomers.map((s) => s.engine.close())]);
  });

  it("a new key that does not log in is taken out again, and the secret is not touched", async () => {
    let written = false;
    const unset: number[] = [];
    await assert.rejects(
      rotateKey({
        store: { read: async () => ({ username: USER, privateKey: "x", slot: 1 }), write: async () => void (written = true) },
        users: { set: async () => undefined, unset: async (_u, slot) => void unset.push(slot) },
        canLogIn: async () => false,
        waitPastSecretCache: async () => undefined,
        generate: () => ({ privateKey: "p", publicKey: "QUJD" }),
      }),
      /did not log in; it was taken out again and the current key is unchanged/,
    );
    assert.equal(written, false);
    assert.deepEqual(unset, [2]);
  });

  it("refuses a secret that is not a key secret, without quoting it", () => {
    assert.throws(
      () => parseKeySecret("hunter2", "arn:x"),
      (e: Error) => /not JSON/.test(e.message) && !e.message.includes("hunter2"),
    );
    assert.throws(() => parseKeySecret(JSON.stringify({ username: "U", privateKey: "k", slot: 3 }), "arn:x"), /slot \(1 or 2\)/);
  });
});

describe("the server on Cloud Run reading a Snowflake key", () => {
  it("on Cloud Run the server reads the key from Secret Manager (a gcpSecret login, the cloud seam), and again past its cache after a rotation", async () => {
    const { plan, fake, first } = deployedAccount();
    const SECRET = "projects/acme/secrets/dbwarden--snowflake--sales-analytics--claude-revops";
    let stored = keySecretValue(USER, first.privateKey, 1);
    const reads: Array<{ secret: string; fresh: boolean }> = [];
    // As GcpSecretManagerSource: a cached value until a fresh read.
    let cached: string | null = null;
    const secrets = {
      accessLatest: async (secret: string, options: { fresh: boolean }) => {
        reads.push({ secret, fresh: options.fresh });
        if (cached === null || options.fresh) cached = stored;
        return cached;
      },
    };
    const runtime = {
      listen: { host: "127.0.0.1", port: 0 },
      databases: { warehouse: { snowflakeAccount: { account: "myorg-prod", warehouse: "AGENTS_XS", database: "ANALYTICS" } } },
      logins: { dbw_sales_analytics__claude_revops: { gcpSecret: SECRET } },
      apiKeys: [],
      audit: { stream: "stderr" as const },
    };
    const credentials = credentialSources(openClouds({ gcp: { secrets } }));
    const engine = new SnowflakeEngine({ plan, targets: plan.targets, runtime: runtime as never, credentials, check: true }, fake);
    const workflow = plan.workflows[0]!;
    const query = async () => {
      const c: EngineCall = {
        identity: { workflow, client: workflow.clients[0]!, principal: "test" },
        requestId: randomUUID(),
        scope: workflowScope(workflow.tables),
        timeoutMs: 10_000,
      };
      return (
        await engine.execute(c, await engine.check(c, { tool: "query", sql: "SELECT ID FROM SALES.ORDERS" }), [], { maxRows: 1, maxBytes: 1000 })
      ).rows.values().length;
    };
    assert.equal(await query(), 1);
    assert.deepEqual(reads, [{ secret: SECRET, fresh: false }]);
    // A rotation the server did not see: the new key in slot 2 and in the secret, the old one gone.
    const next = pem();
    fake.users.set(USER, { keys: [null, next.spki] });
    stored = keySecretValue(USER, next.privateKey, 2);
    await engine.close();
    const again = new SnowflakeEngine({ plan, targets: plan.targets, runtime: runtime as never, credentials, check: true }, fake);
    const c: EngineCall = {
      identity: { workflow, client: workflow.clients[0]!, principal: "test" },
      requestId: randomUUID(),
      scope: workflowScope(workflow.tables),
      timeoutMs: 10_000,
    };
    assert.equal(
      (await again.execute(c, await again.check(c, { tool: "query", sql: "SELECT ID FROM SALES.ORDERS" }), [], { maxRows: 1, maxBytes: 1000 })).rows.values()
        .length,
      1,
    );
    assert.ok(
      reads.some((r) => r.fresh),
      "the refused login made the server read the secret past its cache",
    );
    await again.close();
  });
});
