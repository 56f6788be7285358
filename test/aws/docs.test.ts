/**
 * docs/aws.md: the first deploy in order, every command in its shell blocks as written. The
 * dbwarden commands run in a project `dbwarden init` created (its example values accepted): the
 * offline checks, `keys` against an in-process Secrets Manager, the acceptance run's dry run; the
 * MCP call and the tunnel setting parse as shown; the deployer policy it installs is the shipped
 * file. `pulumi`, `aws` and `ssh` need an account and are not run here (test/package/ runs the
 * rest from the installed package, the catalog against a real database included).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Command } from "commander";
import { PRIMARY_ADDRESS_CONFIG, parsePrimaryAddresses } from "../../components/aws-rds/primaryAddress.ts";
import { registerKeys } from "../../src/cli/commands/keys.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { SecretsManagerKeys } from "../../src/keys/index.ts";
import { FakeSecretsManager } from "../keys/support/fakeSecretsManager.ts";
import { AS_OF, ROOT } from "../components/support/plans.ts";
import { runCli } from "../support/cli.ts";
import { acceptExampleValues } from "../support/init.ts";
// @ts-expect-error: a plain ESM script without type declarations
import { parseCommandLine } from "../../scripts/mcp-call.mjs";

const DOC = readFileSync(join(ROOT, "docs", "aws.md"), "utf8");
/** Lines of the ```sh blocks, in order. */
const shellLines = [...DOC.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
  m[1]!
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean),
);
const at = (pattern: RegExp) => {
  const index = shellLines.findIndex((l) => pattern.test(l));
  assert.ok(index >= 0, `docs/aws.md shows ${pattern}`);
  return index;
};
const dbwardenArgs = (line: string) => line.slice(line.indexOf("npx dbwarden ") + "npx dbwarden ".length).split(" ");

describe("docs/aws.md commands", { timeout: 120_000 }, () => {
  const project = mkdtempSync(join(tmpdir(), "dbwarden-aws-docs-"));
  before(async () => {
    assert.equal((await runCli(project, AS_OF, "init")).code, 0);
    for (const file of ["environments/dev.yaml", "workflows/orders-weekly-summary.yaml"]) acceptExampleValues(join(project, "dbwarden", file));
  });
  after(() => rmSync(project, { recursive: true, force: true }));

  it(
    "the first deploy in order: install and init, permissions, stack, tunnel, catalog, " +
      "checks, preview and up, then DNS, keys, verify, acceptance, no changes, destroy",
    () => {
      const order = [
        /^npm i -D dbwarden @pulumi\/pulumi$/,
        /^npx dbwarden init$/,
        /^aws iam create-policy --policy-name dbwarden-deployer --policy-document file:\/\/node_modules\/dbwarden\/docs\/aws-deployer-policy\.json$/,
        /^aws iam attach-role-policy /,
        /^pulumi stack init dev$/,
        /^pulumi config set aws:region us-east-1 -s dev$/,
        /^ssh -N -L 15432:<primary address>:5432 /,
        /^aws ssm start-session .*AWS-StartPortForwardingSessionToRemoteHost/,
        /^pulumi config set --path 'dbwarden:primaryAddress\.app' 127\.0\.0\.1:15432 -s dev$/,
        /^DBWARDEN_DATABASE_URL='postgres:\/\/<admin user>@127\.0\.0\.1:15432\/postgres\?.*' npx dbwarden catalog --stack dev$/,
        /^npx dbwarden validate$/,
        /^npx dbwarden plan --stack dev$/,
        /^npx dbwarden check --stack dev$/,
        /^pulumi preview -s dev$/,
        /^pulumi up -s dev$/,
        /^pulumi stack output endpointHostname -s dev$/,
        /^aws route53 change-resource-record-sets /,
        /^npx dbwarden keys issue --stack dev --client analytics-agent$/,
        /^MCP_TOKEN=<the key> node node_modules\/dbwarden\/scripts\/mcp-call\.mjs /,
        /^aws logs tail \/dbwarden\/dev\/mcp-audit/,
        /^npx dbwarden acceptance --stack dev --dry-run$/,
        /^npx dbwarden acceptance --stack dev$/,
        /^pulumi preview -s dev --refresh --expect-no-changes$/,
        /^aws elbv2 modify-load-balancer-attributes .*deletion_protection\.enabled,Value=false$/,
        /^aws rds modify-db-instance --db-instance-identifier <replica identifier> --no-deletion-protection --apply-immediately$/,
        /^pulumi destroy -s dev$/,
      ].map(at);
      assert.deepEqual(
        [...order].sort((a, b) => a - b),
        order,
        "in this order",
      );
      assert.ok(
        !/stacks\/index\.ts` is|scripts\/aws-acceptance\.sh --stack/.test(DOC.split("## What the preflight")[0]!),
        "the steps need no clone of dbwarden",
      );
    },
  );

  it("runs the offline dbwarden commands as written in the project init made (exit 0)", async () => {
    const offline = shellLines.filter((l) => /^npx dbwarden (validate|plan|check)\b/.test(l));
    assert.equal(offline.length, 3);
    for (const line of offline) {
      const r = await runCli(project, AS_OF, ...dbwardenArgs(line));
      assert.equal(r.code, 0, `${line}: ${r.stderr}`);
    }
  });

  it("runs the keys commands as written, against an in-process Secrets Manager", async () => {
    const aws = new FakeSecretsManager();
    aws.create("dbwarden/dev/mcp-api-keys", "[]");
    const out: string[] = [];
    const io: CliIO = { out: (t) => out.push(t), err: () => {}, progress: () => {}, now: () => AS_OF, cwd: project, env: {} };
    const lines = shellLines.filter((l) => l.startsWith("npx dbwarden keys"));
    assert.equal(lines.length, 3);
    for (const line of lines) {
      const program = new Command("dbwarden").exitOverride();
      registerKeys(program, io, () => new SecretsManagerKeys(aws, "dbwarden/dev/mcp-api-keys"));
      await program.parseAsync(dbwardenArgs(line), { from: "user" });
    }
    assert.match(out.join("\n"), /Revoked 1 key of client analytics-agent/);
  });

  it("the MCP call, the tunnel setting and the acceptance dry run take their arguments as shown", () => {
    const call = shellLines.find((l) => l.includes("scripts/mcp-call.mjs"))!;
    const words = call.replace(/"\$\(pulumi stack output -s dev mcpUrl\)"/, "https://mcp.example.com/mcp").split(" ");
    const args = words.slice(words.indexOf("node_modules/dbwarden/scripts/mcp-call.mjs") + 1);
    assert.deepEqual(parseCommandLine(args, { MCP_TOKEN: "k" }), {
      url: "https://mcp.example.com/mcp",
      tool: "list_tables",
      args: {},
      expect: "ok",
      token: "k",
    });

    const setting = /^pulumi config set --path '(\w+):(\w+)\.(\w+)' (\S+) -s dev$/.exec(shellLines.find((l) => l.includes("primaryAddress"))!)!;
    assert.deepEqual([setting[1], setting[2]], [PRIMARY_ADDRESS_CONFIG.namespace, PRIMARY_ADDRESS_CONFIG.key]);
    assert.deepEqual(parsePrimaryAddresses({ [setting[3]!]: setting[4] }, ["app"]), { app: { host: "127.0.0.1", port: 15432 } });

    const dry = shellLines.find((l) => l.startsWith("npx dbwarden acceptance") && l.includes("--dry-run"))!;
    const r = spawnSync(process.execPath, [join(ROOT, "bin", "dbwarden.js"), ...dbwardenArgs(dry)], { cwd: project, encoding: "utf8", timeout: 90_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^\+ pulumi up --stack dev --yes --skip-preview$/m);
    assert.match(r.stderr, /^\+ node \S*bin\/dbwarden\.js keys issue --stack dev --client analytics-agent --workflow orders-weekly-summary$/m);
    assert.match(r.stderr, /== accepted\n$/);
  });

  it("the deployer policy it installs is the file shipped in the package, valid JSON of the 2012-10-17 policy language", () => {
    const policy = JSON.parse(readFileSync(join(ROOT, "docs", "aws-deployer-policy.json"), "utf8")) as {
      Version: string;
      Statement: { Effect: string; Action: string[] }[];
    };
    assert.equal(policy.Version, "2012-10-17");
    assert.ok(policy.Statement.every((s) => s.Effect === "Allow" && s.Action.length > 0));
    const files = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).files as string[];
    assert.ok(files.includes("docs/"), "docs/ ships in the package");
  });
});
