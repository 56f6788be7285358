/**
 * The Snowflake key-rotation job (src/snowflake-rotation-job.ts, entry src/snowflake-rotator.ts)
 * against the fake Snowflake account (ALTER USER key slots as the owning role only, key-pair
 * logins checked against both slots) and the secret stores as the services answer: an AWS
 * Secrets Manager client fake, and a local fake of Secret Manager's REST API. That no call of a
 * server fails during a rotation is shown by test/snowflake/rotation.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { parseSnowflakeRotationConfig, SNOWFLAKE_ROTATION_ENV, type SecretStoreRef, type SnowflakeRotationConfig } from "@dbwarden/contract";
import { awsWritableSecret, gcpWritableSecret, type SecretsManagerLike } from "../src/clouds/secret-writers.ts";
import { keySecretValue } from "@dbwarden/contract";
import { parseKeySecret, type WritableSecret } from "../src/engines/snowflake/rotation.ts";
import { parseAdminSecret, runSnowflakeRotation } from "../src/snowflake-rotation-job.ts";
import { FakeSnowflake } from "./support/snowflake-fake.ts";

const ARN = (n: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbwarden/snowflake/${n}-AbCdEf`;
const ADMIN_ARN = ARN("admin");

function pair() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { privateKey, spki: publicKey };
}

/** A Snowflake account with the deployer and one service user per login, their secrets in memory. */
function account(users: string[]) {
  const fake = new FakeSnowflake();
  const admin = pair();
  fake.users.set("DEPLOYER", { keys: [admin.spki, null] });
  const stored = new Map<string, string>([[ADMIN_ARN, JSON.stringify({ username: "deployer", privateKey: admin.privateKey, role: "SECURITYADMIN" })]]);
  for (const user of users) {
    const first = pair();
    fake.users.set(user, { keys: [first.spki, null] });
    stored.set(ARN(user), keySecretValue(user, first.privateKey, 1));
  }
  const config: SnowflakeRotationConfig = {
    account: "myorg-prod",
    warehouse: "AGENTS_XS",
    database: "ANALYTICS",
    adminSecret: { awsSecretArn: ADMIN_ARN },
    logins: users.map((user) => ({ secret: { awsSecretArn: ARN(user) }, role: `ROLE_OF_${user}` })),
    waitSeconds: 360,
  };
  const lines: Record<string, unknown>[] = [];
  const waits: number[] = [];
  const writable = (ref: SecretStoreRef): WritableSecret => {
    const arn = (ref as { awsSecretArn: string }).awsSecretArn;
    return { read: async () => stored.get(arn)!, write: async (text) => void stored.set(arn, text) };
  };
  const deps = {
    driver: fake,
    secrets: { read: async (ref: never) => stored.get((ref as { awsSecretArn: string }).awsSecretArn)! },
    writable,
    wait: async (ms: number) => void waits.push(ms),
    log: (line: Record<string, unknown>) => void lines.push(line),
  };
  return { fake, stored, config, deps, lines, waits };
}

test("the job rotates every login's key through the free slot, as the deployer, waiting past the server's cache once per login", async () => {
  const { fake, stored, config, deps, lines, waits } = account(["DBW_A__ONE", "DBW_B__TWO"]);
  const before = new Map([...stored]);
  const outcome = await runSnowflakeRotation(config, deps);
  assert.deepEqual(outcome, {
    rotated: [
      { secret: ARN("DBW_A__ONE"), slot: 2 },
      { secret: ARN("DBW_B__TWO"), slot: 2 },
    ],
    failed: [],
  });
  assert.deepEqual(waits, [360_000, 360_000]);
  for (const user of ["DBW_A__ONE", "DBW_B__TWO"]) {
    const secret = parseKeySecret(stored.get(ARN(user))!, user);
    assert.equal(secret.slot, 2);
    assert.notEqual(secret.privateKey, parseKeySecret(before.get(ARN(user))!, user).privateKey);
    assert.deepEqual(
      fake.users.get(user)!.keys.map((k) => k !== null),
      [false, true],
      "the old key is out, the new one in slot 2",
    );
    // The new key logs in with the login's own role.
    await (await fake.connect({ account: "myorg-prod", username: user, privateKey: secret.privateKey, role: "R", warehouse: "W", database: "D" })).destroy();
  }
  const alters = fake.executed.map((e) => e.sqlText.replace(/'[^']+'/, "'<key>'"));
  assert.deepEqual(alters.sort(), [
    `ALTER USER "DBW_A__ONE" SET RSA_PUBLIC_KEY_2 = '<key>'`,
    `ALTER USER "DBW_A__ONE" UNSET RSA_PUBLIC_KEY`,
    `ALTER USER "DBW_B__TWO" SET RSA_PUBLIC_KEY_2 = '<key>'`,
    `ALTER USER "DBW_B__TWO" UNSET RSA_PUBLIC_KEY`,
  ]);
  assert.ok(fake.executed.every((e) => e.parameters.QUERY_TAG === "dbwarden key rotation"));
  assert.deepEqual(
    fake.connects.map((c) => [c.username, c.role]),
    [
      ["DEPLOYER", "SECURITYADMIN"],
      ["DBW_A__ONE", "ROLE_OF_DBW_A__ONE"],
      ["DBW_B__TWO", "ROLE_OF_DBW_B__TWO"],
      ["DBW_A__ONE", "R"],
      ["DBW_B__TWO", "R"],
    ],
  );
  assert.doesNotMatch(JSON.stringify(lines), /PRIVATE KEY/);
  assert.equal(lines.length, 2);
});

test("one login failing leaves its key as it was and does not stop the others; the outcome names it", async () => {
  const { fake, stored, config, deps, lines } = account(["DBW_A__ONE", "DBW_B__TWO"]);
  stored.set(ARN("DBW_A__ONE"), "not json -- hunter2");
  const outcome = await runSnowflakeRotation(config, deps);
  assert.deepEqual(outcome.rotated, [{ secret: ARN("DBW_B__TWO"), slot: 2 }]);
  assert.deepEqual(outcome.failed, [
    { secret: ARN("DBW_A__ONE"), reason: `${ARN("DBW_A__ONE")}: the key secret is not JSON with username, privateKey and slot` },
  ]);
  assert.deepEqual(fake.users.get("DBW_A__ONE")!.keys[1], null);
  assert.doesNotMatch(JSON.stringify(lines), /hunter2/);
});

test("a deployer whose role does not own the users changes nothing: each login fails, every secret is unchanged", async () => {
  const { fake, stored, config, deps } = account(["DBW_A__ONE"]);
  fake.userAdmins.clear();
  const before = stored.get(ARN("DBW_A__ONE"));
  const outcome = await runSnowflakeRotation(config, deps);
  assert.deepEqual(outcome.rotated, []);
  assert.match(outcome.failed[0]!.reason, /does not exist or not authorized/);
  assert.equal(stored.get(ARN("DBW_A__ONE")), before);
});

test("the admin secret and the configuration are refused naming the field, never quoting a value", () => {
  assert.throws(
    () => parseAdminSecret("hunter2"),
    (e: Error) => /not JSON/.test(e.message) && !e.message.includes("hunter2"),
  );
  assert.throws(() => parseAdminSecret(JSON.stringify({ username: "u" })), /lacks username or privateKey/);
  assert.deepEqual(parseAdminSecret(JSON.stringify({ username: "deployer", privateKey: "k" })), {
    username: "DEPLOYER",
    privateKey: "k",
    role: "SECURITYADMIN",
  });
  assert.throws(() => parseSnowflakeRotationConfig(undefined), /DBWARDEN_SNOWFLAKE_ROTATION is required/);
  assert.throws(() => parseSnowflakeRotationConfig("{"), /DBWARDEN_SNOWFLAKE_ROTATION: not JSON/);
  const { config } = account(["U"]);
  assert.throws(() => parseSnowflakeRotationConfig(JSON.stringify({ ...config, logins: [] })), /DBWARDEN_SNOWFLAKE_ROTATION\.logins: /);
  assert.throws(
    () => parseSnowflakeRotationConfig(JSON.stringify({ ...config, adminSecret: { gcpSecret: "nope" } })),
    /DBWARDEN_SNOWFLAKE_ROTATION\.adminSecret/,
  );
  assert.deepEqual(parseSnowflakeRotationConfig(JSON.stringify(config)), config);
});

test("the entry exits 1 with one line naming the missing configuration", () => {
  const run = spawnSync(process.execPath, ["--import", "tsx", "src/snowflake-rotator.ts"], {
    cwd: new URL("..", import.meta.url).pathname,
    env: { PATH: process.env.PATH ?? "" },
    encoding: "utf8",
  });
  assert.equal(run.status, 1);
  assert.deepEqual(JSON.parse(run.stdout.trim()), {
    snowflakeRotation: "failed",
    reason: `${SNOWFLAKE_ROTATION_ENV} is required (the job's configuration, JSON)`,
  });
});

test("AWS: the key secret is read and replaced through GetSecretValue and PutSecretValue", async () => {
  const sent: Array<[string, unknown]> = [];
  let value = "v1";
  const client: SecretsManagerLike = {
    send: async (command) => {
      const { constructor, input } = command as { constructor: { name: string }; input: { SecretId: string; SecretString?: string } };
      sent.push([constructor.name, input]);
      if (constructor.name === "PutSecretValueCommand") value = input.SecretString!;
      return { SecretString: value };
    },
  };
  const regions: string[] = [];
  const secret = awsWritableSecret(ARN("U"), { aws: (region) => (regions.push(region), client) });
  assert.equal(await secret.read(), "v1");
  await secret.write("v2");
  assert.equal(await secret.read(), "v2");
  assert.deepEqual(regions, ["eu-west-1"]);
  assert.deepEqual(sent, [
    ["GetSecretValueCommand", { SecretId: ARN("U") }],
    ["PutSecretValueCommand", { SecretId: ARN("U"), SecretString: "v2" }],
    ["GetSecretValueCommand", { SecretId: ARN("U") }],
  ]);
});

test("GCP: the key secret's new version is added, then the version it replaces is disabled", async (t) => {
  const secret = "projects/p/secrets/dbw-snowflake-key";
  const versions = ["v1"];
  const disabled: number[] = [];
  const calls: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      calls.push(`${req.method} ${req.url}`);
      const answer = (body: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      if (req.url === `/v1/${secret}/versions/latest:access`)
        return answer({ name: `${secret}/versions/${versions.length}`, payload: { data: Buffer.from(versions.at(-1)!).toString("base64") } });
      if (req.url === `/v1/${secret}:addVersion`) {
        versions.push(Buffer.from((JSON.parse(Buffer.concat(chunks).toString()) as { payload: { data: string } }).payload.data, "base64").toString());
        return answer({ name: `${secret}/versions/${versions.length}` });
      }
      const disable = /versions\/(\d+):disable$/.exec(req.url ?? "");
      if (disable) return (disabled.push(Number(disable[1])), answer({ state: "DISABLED" }));
      res.writeHead(404).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const writable = gcpWritableSecret(secret, { gcp: { endpoint, headers: async () => ({ authorization: "Bearer t" }) } });
  assert.equal(await writable.read(), "v1");
  await writable.write("v2");
  assert.deepEqual(versions, ["v1", "v2"]);
  assert.deepEqual(disabled, [1]);
  assert.deepEqual(calls, [`GET /v1/${secret}/versions/latest:access`, `POST /v1/${secret}:addVersion`, `POST /v1/${secret}/versions/1:disable`]);
});
