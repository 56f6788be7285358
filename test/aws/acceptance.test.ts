/**
 * scripts/aws-acceptance.sh cannot run here (no account, no Pulumi CLI), so every step before the
 * network call is checked: the script parses (`bash -n`); its dry run prints the whole sequence
 * for each example stack; the dbwarden commands it prints parse; the clients and probe queries it
 * derives from the plan; and its MCP call (scripts/mcp-call.mjs) against the real local stack:
 * an in-scope probe answered, a write refused, a key issued by `dbwarden keys` accepted once the
 * running server reloaded, the key it replaced refused.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Command } from "commander";
import { registerKeys } from "../../src/cli/commands/keys.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { LocalStackKeys, SecretsManagerKeys, findApiKeyClient, issueKey } from "../../src/keys/index.ts";
import { startLocalStack, type RunningLocalStack } from "../../src/local/stack.ts";
import { planStack } from "../../src/plan/index.ts";
import { FakeSecretsManager } from "../keys/support/fakeSecretsManager.ts";
import { AS_OF, ROOT } from "../components/support/plans.ts";
// @ts-expect-error: a plain ESM script without type declarations
import { acceptanceClients, readAs as scriptReadAs } from "../../scripts/acceptance-clients.mjs";
import { readAs } from "@dbwarden/contract";

const SCRIPT = join(ROOT, "scripts", "aws-acceptance.sh");
const dryRun = (...args: string[]) => spawnSync("bash", [SCRIPT, "--dry-run", ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
const commands = (stderr: string) =>
  stderr
    .split("\n")
    .filter((l) => l.startsWith("+ "))
    .map((l) => l.slice(2));

describe("scripts/aws-acceptance.sh", { timeout: 120_000 }, () => {
  it("is valid bash", () => {
    const r = spawnSync("bash", ["-n", SCRIPT], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  });

  it("dry run on prod: preview, up, a call per client with its own credential, a refused write, audit lines, a rotation, no changes, destroy", () => {
    const r = dryRun("--stack", "prod");
    assert.equal(r.status, 0, r.stderr);
    const ran = commands(r.stderr);
    const at = (pattern: RegExp) => {
      const index = ran.findIndex((c) => pattern.test(c));
      assert.ok(index >= 0, `runs ${pattern}`);
      return index;
    };
    const order = [
      /^docker info$/,
      /^pulumi preview --stack prod --diff$/,
      /^pulumi up --stack prod --yes --skip-preview$/,
      /^node bin\/dbwarden\.js keys issue --stack prod --client claude-cs --workflow cs-usage-drop$/,
      /^MCP_TOKEN=<token> node scripts\/mcp-call\.mjs --url https:\/\/<mcpUrl>\/mcp --tool query --arguments \{"sql":"SELECT event_type FROM analytics\.usage_events LIMIT 1"\} --expect ok$/,
      /--arguments \{"sql":"DELETE FROM analytics\.usage_events"\} --expect refused$/,
      /^aws logs filter-log-events --log-group-name \/dbwarden\/prod\/mcp-audit --start-time \d+ --filter-pattern "claude-cs"/,
      /^aws secretsmanager rotate-secret --secret-id /,
      /^aws secretsmanager describe-secret --secret-id .* --query VersionIdsToStages/,
      /^pulumi preview --stack prod --refresh --expect-no-changes$/,
      /^aws elbv2 modify-load-balancer-attributes --load-balancer-arn .* --attributes Key=deletion_protection\.enabled,Value=false$/,
      /^aws rds modify-db-instance --db-instance-identifier .* --no-deletion-protection --apply-immediately$/,
      /^pulumi destroy --stack prod --yes$/,
    ].map(at);
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      "in this order",
    );
    const plan = planStack("prod", { root: ROOT, now: AS_OF });
    for (const workflow of plan.workflows) {
      for (const client of workflow.clients) {
        if (client.auth === "api-key") at(new RegExp(`^node bin/dbwarden\\.js keys issue --stack prod --client ${client.name} --workflow ${workflow.name}$`));
        else
          assert.match(r.stderr, new RegExp(`\\(the access token of ${client.name} from \\$OIDC_TOKEN_${client.name.toUpperCase().replaceAll("-", "_")}\\)`));
      }
    }
    assert.equal(
      ran.filter((c) => c.includes("mcp-call.mjs")).length,
      plan.workflows.flatMap((w) => w.clients).length + 2,
      "one call per client, the refused write, the call after the rotation",
    );
    assert.ok(
      ran.some((c) => c.includes("--expect denied")),
      "n8n-cs-digest calls only from 10.0.12.0/24: from elsewhere it is turned away",
    );
    assert.match(r.stderr, /\(n8n-cs-digest calls only from 10\.0\.12\.0\/24: from here the server must turn it away\)/);
    assert.ok(!ran.some((c) => /filter-pattern "n8n-cs-digest"/.test(c)), "only answered calls are looked up in the audit log");
    assert.match(r.stderr, /== accepted\n$/);
  });

  it("dry run on dev: no image build to check, no password to rotate; --keep stops before destroy", () => {
    const r = dryRun("--stack", "dev", "--keep");
    assert.equal(r.status, 0, r.stderr);
    const ran = commands(r.stderr);
    assert.ok(!ran.includes("docker info"), "dev pulls a published image");
    assert.match(r.stderr, /\(IAM database authentication: no password to rotate\)/);
    assert.ok(!ran.some((c) => c.startsWith("pulumi destroy")));
    assert.match(r.stderr, /kept: stack dev stays deployed/);
  });

  it("refuses an unknown argument and a stack without a spec", () => {
    assert.equal(dryRun("--bogus").status, 2);
    const r = dryRun("--stack", "staging");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no environment for stack "staging"/);
  });

  it("prints dbwarden commands that parse and run as written", async () => {
    const r = dryRun("--stack", "prod");
    const issues = commands(r.stderr).filter((c) => c.startsWith("node bin/dbwarden.js keys issue"));
    assert.equal(issues.length, 4);
    const aws = new FakeSecretsManager();
    aws.create("dbwarden/prod/mcp-api-keys", "[]");
    const io: CliIO = { out: () => {}, err: () => {}, progress: () => {}, now: () => AS_OF, cwd: ROOT, env: {} };
    for (const command of issues) {
      const program = new Command("dbwarden").exitOverride();
      registerKeys(program, io, () => new SecretsManagerKeys(aws, "dbwarden/prod/mcp-api-keys"));
      await program.parseAsync(command.split(" ").slice(2), { from: "user" });
    }
    assert.equal(JSON.parse(aws.staged("dbwarden/prod/mcp-api-keys", "AWSCURRENT")!.text).length, 4);
  });
});

describe("scripts/mcp-call.mjs against the local stack", { timeout: 170_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-acceptance-"));
  chmodSync(root, 0o755);
  cpSync(join(ROOT, "stacks"), join(root, "stacks"), { recursive: true });
  let stack: RunningLocalStack;
  before(async () => {
    stack = await startLocalStack({ root, now: AS_OF, progress: () => {}, mcpPort: 0 });
  });
  after(async () => {
    await stack?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  // Asynchronous: the server answering the call runs in this process.
  const call = (token: string | undefined, ...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, "scripts", "mcp-call.mjs"), "--url", stack.connection.mcpUrl, ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, ...(token ? { MCP_TOKEN: token } : {}) },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d));
      child.stderr.on("data", (d: Buffer) => (stderr += d));
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });

  it("answers each client's probe query with its own key and refuses its write, as the acceptance run expects", async () => {
    const lines: string[] = acceptanceClients(stack.plan);
    for (const line of lines) {
      const [workflow, client, auth, , probe, write, cidrs] = line.split("\t") as [string, string, string, string, string, string, string];
      if (auth !== "api-key") continue;
      const key = stack.connection.clients.find((c) => c.name === client && c.workflow === workflow)!.apiKey;
      if (cidrs !== "-") {
        // Limited to its networks (not loopback): turned away before any tool runs, as the acceptance run expects from elsewhere.
        const denied = await call(key, "--tool", "query", "--arguments", JSON.stringify({ sql: probe }), "--expect", "denied");
        assert.equal(denied.status, 0, denied.stdout + denied.stderr);
        assert.deepEqual([JSON.parse(denied.stdout).denied, (await call(key, "--tool", "list_tables")).status], [true, 2]);
        continue;
      }
      const ok = await call(key, "--tool", "query", "--arguments", JSON.stringify({ sql: probe }));
      assert.equal(ok.status, 0, `${client}: ${ok.stdout}${ok.stderr}`);
      const answer = JSON.parse(ok.stdout);
      assert.equal(answer.isError, false);
      assert.equal(answer.tool, "query");
      assert.ok(!ok.stdout.includes(key), "the key is never printed");
      const refused = await call(key, "--tool", "query", "--arguments", JSON.stringify({ sql: write }), "--expect", "refused");
      assert.equal(refused.status, 0, refused.stdout);
      assert.equal(JSON.parse(refused.stdout).isError, true);
      assert.equal(
        (await call(key, "--tool", "query", "--arguments", JSON.stringify({ sql: write }))).status,
        1,
        "a refusal where an answer was expected fails",
      );
    }
  });

  it("fails with exit 2, naming no credential, without MCP_TOKEN or with a key the server does not know", async () => {
    const missing = await call(undefined, "--tool", "list_tables");
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^MCP_TOKEN is not set\nusage: /);
    const wrong = await call("dbw_not-a-key-the-server-knows", "--tool", "list_tables");
    assert.equal(wrong.status, 2);
    assert.ok(!wrong.stderr.includes("dbw_not-a-key-the-server-knows"));
  });

  it("accepts a key `dbwarden keys issue` gives once the running server reloaded, and refuses the key it replaced", async () => {
    const [client] = stack.connection.clients;
    const old = client!.apiKey;
    const backend = new LocalStackKeys(
      stack.plan,
      root,
      () => AS_OF,
      async () => (await stack.reloadSecrets(), true),
    );
    const { key } = await issueKey(backend, findApiKeyClient(stack.plan, client!.name, client!.workflow));
    await stack.reloadSecrets();
    assert.equal((await call(key, "--tool", "list_tables")).status, 0);
    assert.equal((await call(old, "--tool", "list_tables")).status, 2, "the replaced key is refused");
  });
});

describe("scripts/acceptance-clients.mjs", () => {
  it("reads each table where the contract says the workflow's agents read it (its readAs), on every example stack", () => {
    let governed = 0;
    for (const stack of ["local", "dev", "prod"]) {
      const plan = planStack(stack, { root: ROOT, now: AS_OF });
      for (const workflow of plan.workflows)
        for (const table of workflow.tables) {
          const at = readAs(workflow, table);
          assert.deepEqual(scriptReadAs(workflow, table), at, `${stack}: ${workflow.name} ${table.schema}.${table.table}`);
          if (at.schema !== table.schema) governed++;
        }
    }
    assert.ok(governed > 0, "the examples have a table read through a governed view");
  });
});
