/**
 * `dbwarden keys issue|list|revoke`: a key is printed once (stdout, alone) and only its hash is
 * stored where the server reads it: the stack's `dbwarden/<env>/mcp-api-keys` secret (here an
 * in-process Secrets Manager with versions and staging labels), in the shape the server's own
 * parser accepts; the real AWS SDK client is exercised up to the network call; the local stack
 * keeps its key in the local store and the running `dbwarden up` reloads.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, beforeEach, describe, it } from "node:test";
import { Command } from "commander";
import { registerKeys } from "../../src/cli/commands/keys.ts";
import { CliError } from "../../src/cli/errors.ts";
import { LocalStackKeys, SecretsManagerKeys, awsSecretsClient, findApiKeyClient, issueKey, reloadRunningUp, type KeyBackend } from "../../src/keys/index.ts";
import { localPaths } from "../../src/local/paths.ts";
import { ownProcess, writeState } from "../../src/local/state.ts";
import { startControlServer } from "../../src/local/control.ts";
import { LocalSecretStore } from "../../src/local/secrets.ts";
import { hashApiKey, parseApiKeySecret, type AccessPlan } from "../../src/plan/types.ts";
import { AS_OF, ROOT, examplePlan } from "../components/support/plans.ts";
import { recordingIO } from "../support/cli.ts";
import { FakeSecretsManager } from "./support/fakeSecretsManager.ts";

const SECRET = "dbwarden/prod/mcp-api-keys";
const prod = examplePlan("prod");

/** Runs `dbwarden keys ...` with a backend the test gives; returns exit code and output. */
async function keys(backend: KeyBackend, ...args: string[]) {
  const { io, written } = recordingIO(ROOT, AS_OF);
  const program = new Command("dbwarden").exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  registerKeys(program, io, () => backend);
  try {
    await program.parseAsync(["keys", ...args], { from: "user" });
    return { code: 0, ...written() };
  } catch (error) {
    if (error instanceof CliError) return { code: error.exitCode, stdout: written().stdout, stderr: written().stderr + error.message };
    throw error;
  }
}

describe("dbwarden keys on AWS (Secrets Manager)", () => {
  let aws: FakeSecretsManager;
  let backend: SecretsManagerKeys;
  beforeEach(() => {
    aws = new FakeSecretsManager();
    // What `pulumi up` leaves: the first version `[]`, with the stack's own label.
    aws.create(SECRET, "[]", ["AWSCURRENT", "dbwarden-initial"]);
    backend = new SecretsManagerKeys(aws, SECRET);
  });

  it("issue prints the key once, alone on stdout, and stores only its hash as the new current version", async () => {
    const r = await keys(backend, "issue", "--stack", "prod", "--client", "claude-cs");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^dbw_[A-Za-z0-9_-]{43}\n$/);
    const key = r.stdout.trim();
    assert.ok(!r.stderr.includes(key), "the key is printed once");
    const sha256 = hashApiKey(key);
    assert.match(
      r.stderr,
      new RegExp(
        `^Issued API key ${sha256.slice(0, 12)} for client claude-cs of workflow cs-usage-drop \\(AWS Secrets Manager ` +
          `secret ${SECRET}\\)\\. It is printed once, below: store it now\\. It works within 60 s, without a redeploy`,
      ),
    );
    const current = aws.staged(SECRET, "AWSCURRENT")!;
    assert.ok(!current.text.includes(key), "only the hash is stored");
    assert.deepEqual(JSON.parse(current.text), [{ client: "claude-cs", workflow: "cs-usage-drop", sha256 }]);
    const resolved = parseApiKeySecret(current.text, prod);
    assert.deepEqual(
      resolved.map((k) => [k.workflow.name, k.client.name]),
      [["cs-usage-drop", "claude-cs"]],
      "the server's own parser accepts the value",
    );
    const initial = aws.staged(SECRET, "dbwarden-initial")!;
    assert.deepEqual([initial.text, [...initial.stages].sort()], ["[]", ["AWSPREVIOUS", "dbwarden-initial"]], "the stack's first version keeps its label");
  });

  it("keeps earlier keys, lists ids (never keys), revokes one by id, then the rest", async () => {
    const first = (await keys(backend, "issue", "--client", "claude-cs", "--stack", "prod")).stdout.trim();
    const second = (await keys(backend, "issue", "--client", "claude-cs", "--stack", "prod")).stdout.trim();
    const third = (await keys(backend, "issue", "--client", "n8n-finance-weekly", "--stack", "prod")).stdout.trim();
    const list = await keys(backend, "list", "--stack", "prod");
    const [id1, id2] = [hashApiKey(first).slice(0, 12), hashApiKey(second).slice(0, 12)];
    assert.match(
      list.stdout,
      new RegExp(
        `^API keys of stack prod \\(AWS Secrets Manager secret ${SECRET}\\):\ncs-usage-drop/claude-cs: ${id1}, ${id2}\ncs-usage-drop/n8n-cs-digest: no key\n`,
      ),
    );
    assert.ok(!list.stdout.includes(first) && !list.stdout.includes(second));
    assert.doesNotMatch(list.stdout, /cursor-oncall|chatgpt-finance/, "OIDC clients have no keys");
    const one = await keys(backend, "revoke", "--stack", "prod", "--client", "claude-cs", "--key-id", id1);
    assert.equal(
      one.stdout,
      "Revoked 1 key of client claude-cs of workflow cs-usage-drop: refused within 60 s, without a redeploy (the server re-reads the secret every minute).\n",
    );
    assert.deepEqual(
      JSON.parse(aws.staged(SECRET, "AWSCURRENT")!.text).map((k: { sha256: string }) => k.sha256),
      [hashApiKey(second), hashApiKey(third)],
    );
    const rest = await keys(backend, "revoke", "--stack", "prod", "--client", "claude-cs");
    assert.match(rest.stdout, /^Revoked 1 key of client claude-cs/);
    assert.deepEqual(
      JSON.parse(aws.staged(SECRET, "AWSCURRENT")!.text).map((k: { client: string }) => k.client),
      ["n8n-finance-weekly"],
    );
    const none = await keys(backend, "revoke", "--stack", "prod", "--client", "claude-cs");
    assert.equal(none.code, 0);
    assert.match(none.stdout, /^No key of client claude-cs of workflow cs-usage-drop to revoke/);
  });

  it("refuses an unknown client, an OIDC client, a bad key id, and says which api-key clients exist", async () => {
    const unknown = await keys(backend, "issue", "--stack", "prod", "--client", "claude");
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^--client: no client "claude" in stack prod; api-key clients: claude-cs \(workflow cs-usage-drop\), n8n-cs-digest/);
    const oidc = await keys(backend, "issue", "--stack", "prod", "--client", "cursor-oncall");
    assert.match(oidc.stderr, /^--client: "cursor-oncall" of workflow eng-incident-investigation authenticates with oidc \(.+\), not an API key/);
    const badId = await keys(backend, "revoke", "--stack", "prod", "--client", "claude-cs", "--key-id", "abc");
    assert.match(badId.stderr, /^--key-id: "abc" is not a key id; give 8 to 64 hex characters/);
    assert.equal(aws.calls.filter((c) => c.startsWith("put")).length, 0, "nothing written");
    const usage = await keys(backend, "issue", "--stack", "prod").catch((error: Error) => error);
    assert.ok(usage instanceof Error && /required option '--client <name>'/.test(usage.message), "commander's usage error (exit 2 through main)");
  });

  it("refuses a client name two workflows use unless --workflow says which", () => {
    const plan: AccessPlan = structuredClone(prod);
    plan.workflows[1]!.clients.push({ ...plan.workflows[0]!.clients.find((c) => c.name === "claude-cs")! });
    assert.throws(
      () => findApiKeyClient(plan, "claude-cs"),
      /^KeysError: --client: "claude-cs" is a client of workflows cs-usage-drop and eng-incident-investigation; say which with --workflow$/,
    );
    assert.equal(findApiKeyClient(plan, "claude-cs", "cs-usage-drop").workflow.name, "cs-usage-drop");
    assert.throws(() => findApiKeyClient(plan, "claude-cs", "nope"), /--workflow: stack prod has no active workflow "nope"/);
  });

  it("refuses a secret value that is not a key list without repeating it, and a change by someone else in between", async () => {
    aws.create(SECRET, '{"note": "password=hunter2"}');
    const r = await keys(backend, "issue", "--stack", "prod", "--client", "claude-cs");
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^AWS Secrets Manager secret dbwarden\/prod\/mcp-api-keys: its value is not a list of \{client, workflow, sha256\} \(at \(root\)\); fix it before issuing keys$/,
    );
    assert.doesNotMatch(r.stdout + r.stderr, /hunter2|dbw_/);
    aws.create(SECRET, "[]");
    let reads = 0;
    const racing = new SecretsManagerKeys(
      {
        getCurrent: async (id) => {
          if (++reads === 2) await aws.putCurrent(id, "[]", "someone-else");
          return aws.getCurrent(id);
        },
        putCurrent: (id, text, token) => aws.putCurrent(id, text, token),
      },
      SECRET,
    );
    await assert.rejects(
      issueKey(racing, findApiKeyClient(prod, "claude-cs")),
      /changed while this command ran \(another keys command\?\); nothing was written, run it again/,
    );
    assert.equal(aws.staged(SECRET, "AWSCURRENT")!.id, "someone-else");
  });

  it("says which secret it could not reach and why, never a key", async () => {
    const missing = new SecretsManagerKeys(new FakeSecretsManager(), SECRET);
    const r = await keys(missing, "issue", "--stack", "prod", "--client", "claude-cs");
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `cannot change or read AWS Secrets Manager secret ${SECRET}: ResourceNotFoundException: Secrets Manager can't find the specified secret.`,
    );
    assert.equal(r.stdout, "");
  });
});

describe("the real Secrets Manager client, up to the network call", () => {
  it("sends GetSecretValue (AWSCURRENT) and PutSecretValue with a request token, signed for the stack's region", async () => {
    const requests: { target: string; body: Record<string, unknown>; host: string; authorization: string }[] = [];
    const answers = [{ SecretString: "[]", VersionId: "v1", ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x" }, { VersionId: "v2" }];
    const client = awsSecretsClient({
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-a-real-secret-key" },
      requestHandler: {
        handle: async (request: { headers: Record<string, string>; body: string; hostname: string }) => {
          requests.push({
            target: request.headers["x-amz-target"]!,
            body: JSON.parse(request.body),
            host: request.hostname,
            authorization: request.headers.authorization ?? "",
          });
          return {
            response: {
              statusCode: 200,
              headers: { "content-type": "application/x-amz-json-1.1" },
              body: Readable.from([Buffer.from(JSON.stringify(answers.shift()))]),
            },
          };
        },
      } as never,
    });
    assert.deepEqual(await client.getCurrent(SECRET), { text: "[]", versionId: "v1" });
    assert.equal(await client.putCurrent(SECRET, '[{"client":"a"}]', "11111111-2222-3333-4444-555555555555"), "v2");
    assert.deepEqual(
      requests.map((r) => [r.target, r.body, r.host]),
      [
        ["secretsmanager.GetSecretValue", { SecretId: SECRET, VersionStage: "AWSCURRENT" }, "secretsmanager.us-east-1.amazonaws.com"],
        [
          "secretsmanager.PutSecretValue",
          { SecretId: SECRET, SecretString: '[{"client":"a"}]', ClientRequestToken: "11111111-2222-3333-4444-555555555555" },
          "secretsmanager.us-east-1.amazonaws.com",
        ],
      ],
    );
    assert.match(requests[0]!.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/secretsmanager\/aws4_request/);
  });
});

describe("dbwarden keys on the local stack", () => {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-keys-"));
  after(() => rmSync(root, { recursive: true, force: true }));
  const local = examplePlan("local");
  const paths = localPaths(root, "local");
  const client = local.workflows.flatMap((w) => w.clients).find((c) => c.auth === "api-key")!;

  it("refuses before `dbwarden up` created the client's credentials", async () => {
    const backend = new LocalStackKeys(
      local,
      root,
      () => AS_OF,
      async () => false,
    );
    await assert.rejects(
      issueKey(backend, findApiKeyClient(local, client.name)),
      /has no credentials in the local secret store .* yet: run `dbwarden up` first/,
    );
  });

  it("replaces the client's key in the local store and has the running `up` reload; revoke replaces it with one nobody sees", async () => {
    const store = new LocalSecretStore(paths.secretsDir);
    store.write(client.secretName, { dbPassword: "db-password-unchanged", apiKey: "dbw_old-key" }, AS_OF);
    const reloads: string[] = [];
    const backend = new LocalStackKeys(
      local,
      root,
      () => AS_OF,
      async (p) => (reloads.push(p.dir), true),
    );
    const r = await keys(backend, "issue", "--stack", "local", "--client", client.name);
    assert.equal(r.code, 0, r.stderr);
    const key = r.stdout.trim();
    assert.deepEqual(store.read(client.secretName), { dbPassword: "db-password-unchanged", apiKey: key });
    assert.deepEqual(reloads, [paths.dir]);
    assert.ok((await backend.list()).some((e) => e.sha256 === hashApiKey(key)));
    const revoked = await keys(backend, "revoke", "--stack", "local", "--client", client.name);
    assert.match(revoked.stdout, /^Revoked 1 key of client /);
    const after = store.read(client.secretName)!;
    assert.notEqual(after.apiKey, key);
    assert.ok(!revoked.stdout.includes(after.apiKey), "the replacement is never printed");
    assert.equal(reloads.length, 2);
  });

  it("asks the running `dbwarden up` to reload its secrets over its control socket (as `dbwarden rotate` does)", async () => {
    const asked: string[] = [];
    mkdirSync(paths.dir, { recursive: true });
    const control = await startControlServer(paths.controlSocket, async (command) => (asked.push(command), { ok: true, ready: true }));
    try {
      writeState(paths, {
        ...ownProcess(),
        postgres: { host: "127.0.0.1", port: 1, embedded: true, sslmode: "disable" },
        mcpUrl: null,
        startedAt: AS_OF.toISOString(),
      });
      assert.equal(await reloadRunningUp(paths), true);
      assert.deepEqual(asked, ["ping", "reload-secrets"]);
    } finally {
      await control.close();
    }
    // Nobody answers and the recorded process is not ours: nothing to reload, and nothing signalled.
    writeState(paths, { pid: 1, pidStartTime: "0", postgres: null, mcpUrl: null, startedAt: AS_OF.toISOString() });
    assert.equal(await reloadRunningUp(paths), false);
  });
});
