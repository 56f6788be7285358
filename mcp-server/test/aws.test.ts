/**
 * The AWS credential paths of the server, against a real Postgres with in-process fakes for the
 * AWS SDK calls: RDS IAM database authentication (a generated token is the password, over TLS only)
 * and API key hashes read from a Secrets Manager secret, refreshed without a restart.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, mock, test } from "node:test";
import { hashApiKey, startServer, type RdsAuthTokenRequest, type RdsAuthTokenSource, type RunningServer, type SecretsManagerSource } from "../src/index.ts";
import { call, enableTls, fixtureForFile, httpClient, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
const { servers, clients } = fixtureForFile(async (started) => {
  fx = started;
  // TLS on the test server: a throwaway self-signed certificate.
  const cert = join(fx.dir, "server.crt");
  const key = join(fx.dir, "server.key");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], {
    stdio: "ignore",
  });
  await enableTls(fx, cert, key);
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
    const s = await startServer({ plan: fx.plan, runtime: iamRuntime("require"), clouds: { aws: { rdsTokens: tokens } } });
    servers.push(s);
    const c = await httpClient(s.url, fx.keys["claude-cs"]!);
    clients.push(c);
    const out = await call(c, "query", { sql: "SELECT count(*) AS n FROM app.accounts" });
    assert.equal(out.isError, false, out.text);
    const role = "dbw_cs_usage_drop__claude_cs";
    assert.ok(
      tokens.requests.some((r) => r.username === role && r.hostname === fx.db.host && r.port === fx.db.port && r.region === "eu-west-1"),
      JSON.stringify(tokens.requests.map((r) => r.username)),
    );
    const admin = await fx.db.admin();
    const ssl = await admin.query("SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = $1", [role]);
    assert.ok(ssl.rows.length > 0 && ssl.rows.every((r) => r.ssl === true), "the login's connections use TLS");
    const audit = JSON.stringify(fx.auditLines());
    for (const token of Object.values(fx.passwords)) assert.ok(!audit.includes(token), "no token in the audit trail");
  });

  test("sslmode disable with an IAM login is refused at startup with a clear message", async () => {
    const tokens = fakeTokens();
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: iamRuntime("disable"), clouds: { aws: { rdsTokens: tokens } } }),
      /databases\.app\.sslmode: "disable" is refused for login "dbw_[a-z_]+", which uses awsRdsIam: .*TLS is required/,
    );
    assert.equal(tokens.requests.length, 0, "no token was generated for a refused config");
  });

  test("a rejected token is a startup error that does not print the token", async () => {
    const tokens: RdsAuthTokenSource = { getAuthToken: async () => "not-a-valid-token-4711" };
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: iamRuntime("require"), clouds: { aws: { rdsTokens: tokens } } }),
      (e: Error) => /database unreachable at startup/.test(e.message) && !e.message.includes("4711"),
    );
  });

  test("the login variant is validated strictly", async () => {
    const runtime = iamRuntime("require");
    (runtime.logins as Record<string, unknown>)["dbw_cs_usage_drop__claude_cs"] = { awsRdsIam: { region: "eu-west-1", port: 5432 } };
    await assert.rejects(startServer({ plan: fx.plan, runtime, clouds: { aws: { rdsTokens: fakeTokens() } } }), /unknown key|Invalid input/);
    (runtime.logins as Record<string, unknown>)["dbw_cs_usage_drop__claude_cs"] = { awsRdsIam: { region: "Ireland" } };
    await assert.rejects(startServer({ plan: fx.plan, runtime, clouds: { aws: { rdsTokens: fakeTokens() } } }), /logins\.dbw_cs_usage_drop__claude_cs/);
  });
});

const KEYS_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbwarden/local/mcp-api-keys";

/** Fake Secrets Manager holding the API key secret; `fetched` resolves at the next read. */
function fakeSecrets(initial: string) {
  let value = initial;
  let waiters: Array<() => void> = [];
  const source: SecretsManagerSource & { set(v: string): void; reads: boolean[]; fetched(): Promise<void> } = {
    reads: [],
    set(v) {
      value = v;
    },
    fetched: () => new Promise<void>((resolve) => waiters.push(resolve)),
    async getSecret(arn, { fresh }) {
      assert.equal(arn, KEYS_ARN);
      source.reads.push(fresh);
      const current = value;
      const pending = waiters;
      waiters = [];
      queueMicrotask(() => pending.forEach((w) => w()));
      return current;
    },
  };
  return source;
}

function keyList(clients: string[]): string {
  return JSON.stringify(
    fx.plan.workflows.flatMap((w) =>
      w.clients.filter((c) => clients.includes(c.name)).map((c) => ({ client: c.name, workflow: w.name, sha256: hashApiKey(fx.keys[c.name]!) })),
    ),
  );
}

function secretRuntime(refreshSeconds?: number) {
  const { apiKeys: _inline, ...runtime } = fx.runtime();
  return { ...runtime, apiKeysFrom: { awsSecretArn: KEYS_ARN, ...(refreshSeconds ? { refreshSeconds } : {}) } };
}

function poster(s: RunningServer) {
  return async (client: string) => {
    const res = await fetch(s.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${fx.keys[client]}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    await res.arrayBuffer();
    return res.status;
  };
}

/** Let a refresh that has just read the fake secret finish (validation and swap are microtasks). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("API key hashes from a secret (apiKeysFrom)", { timeout: 60_000 }, () => {
  test("revoking a key in the secret answers 401 after reload(), without a restart", async () => {
    const secrets = fakeSecrets(keyList(["claude-cs", "n8n-cs-digest"]));
    const s = await startServer({ plan: fx.plan, runtime: secretRuntime(), clouds: { aws: { secrets } }, log: () => {} });
    servers.push(s);
    const status = poster(s);
    assert.equal(await status("claude-cs"), 200);
    assert.equal(await status("n8n-cs-digest"), 200);
    secrets.set(keyList(["n8n-cs-digest"]));
    await s.reload();
    assert.equal(await status("claude-cs"), 401);
    assert.equal(await status("n8n-cs-digest"), 200);
    assert.ok(
      secrets.reads.every((fresh) => fresh),
      "the key secret is always read past any cache",
    );
  });

  test("the periodic refresh revokes and restores keys; a malformed secret keeps the last good set and warns without its contents", async (t) => {
    const secrets = fakeSecrets(keyList(["claude-cs", "n8n-cs-digest"]));
    const warnings: string[] = [];
    mock.timers.enable({ apis: ["setInterval"] });
    t.after(() => mock.timers.reset());
    const s = await startServer({ plan: fx.plan, runtime: secretRuntime(10), clouds: { aws: { secrets } }, log: (line) => warnings.push(line) });
    servers.push(s);
    const status = poster(s);
    assert.equal(await status("claude-cs"), 200);

    const refresh = async () => {
      const read = secrets.fetched();
      mock.timers.tick(10_000);
      await read;
      await settle();
    };
    secrets.set(keyList(["n8n-cs-digest"]));
    await refresh();
    assert.equal(await status("claude-cs"), 401, "revoked by the refresh");
    secrets.set(keyList(["claude-cs", "n8n-cs-digest"]));
    await refresh();
    assert.equal(await status("claude-cs"), 200, "restored by the refresh");

    const leaked = fx.keys["claude-cs"]!;
    for (const bad of [
      `{not json ${leaked}`,
      JSON.stringify([{ client: leaked, workflow: "cs-usage-drop", sha256: hashApiKey("x") }]),
      JSON.stringify([{ client: "claude-cs", workflow: "cs-usage-drop", sha256: leaked }]),
      JSON.stringify([{ [leaked]: 1 }]),
    ]) {
      secrets.set(bad);
      await refresh();
      assert.equal(await status("claude-cs"), 200, "the last good set is kept");
      assert.equal(await status("n8n-cs-digest"), 200);
    }
    assert.equal(warnings.length, 4, warnings.join("\n"));
    for (const w of warnings) {
      assert.match(w, /API key refresh failed, keeping the last good keys: .*API key secret/);
      assert.ok(!w.includes(leaked), `no secret text in: ${w}`);
    }
    // A reload with a malformed secret fails and changes nothing.
    await assert.rejects(s.reload(), (e: Error) => /invalid API key secret|not JSON/.test(e.message) && !e.message.includes(leaked));
    assert.equal(await status("claude-cs"), 200);
  });

  test("a missing or malformed secret at startup is a startup error without the secret's text", async () => {
    const leaked = fx.keys["claude-cs"]!;
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: secretRuntime(), clouds: { aws: { secrets: fakeSecrets(`[${leaked}`) } } }),
      (e: Error) => /API key secret \(apiKeysFrom\): the value is not JSON/.test(e.message) && !e.message.includes(leaked),
    );
    const unknownClient = JSON.stringify([{ client: leaked, workflow: "cs-usage-drop", sha256: hashApiKey("x") }]);
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: secretRuntime(), clouds: { aws: { secrets: fakeSecrets(unknownClient) } } }),
      (e: Error) => /\(secret\)\.0\.client: is not a client of workflow/.test(e.message) && !e.message.includes(leaked),
    );
    const unreadable: SecretsManagerSource = {
      getSecret: async () => {
        throw Object.assign(new Error(`denied ${leaked}`), { name: "AccessDeniedException" });
      },
    };
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: secretRuntime(), clouds: { aws: { secrets: unreadable } } }),
      (e: Error) => /cannot read the API key secret .* \(AccessDeniedException\)/.test(e.message) && !e.message.includes(leaked),
    );
  });

  test("apiKeysFrom is validated strictly and excludes inline keys", async () => {
    const secrets = fakeSecrets(keyList(["claude-cs"]));
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: { ...secretRuntime(), apiKeys: JSON.parse(keyList(["claude-cs"])) }, clouds: { aws: { secrets } } }),
      /either inline \(apiKeys\) or from a secret \(apiKeysFrom\), not both/,
    );
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: secretRuntime(5), clouds: { aws: { secrets } } }),
      /apiKeysFrom\.refreshSeconds: refreshSeconds must be at least 10/,
    );
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: { ...secretRuntime(), apiKeysFrom: { awsSecretArn: KEYS_ARN, refresh: 60 } }, clouds: { aws: { secrets } } }),
      /apiKeysFrom: unknown key\(s\) "refresh"/,
    );
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: { ...secretRuntime(), apiKeysFrom: { awsSecretArn: "dbwarden/local/keys" } }, clouds: { aws: { secrets } } }),
      /apiKeysFrom\.awsSecretArn/,
    );
  });

  test("a non-loopback bind counts apiKeysFrom as authentication configured", async () => {
    const secrets = fakeSecrets("[]");
    const s = await startServer({
      plan: fx.plan,
      runtime: { ...secretRuntime(), listen: { host: "0.0.0.0", port: 0, allowedHosts: ["127.0.0.1"] } },
      clouds: { aws: { secrets } },
    });
    servers.push(s);
    assert.match(s.url, /^http:\/\/0\.0\.0\.0:\d+\/mcp$/);
  });
});
