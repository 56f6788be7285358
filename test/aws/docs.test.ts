/**
 * docs/aws.md: every command in its shell blocks works as written. The dbwarden commands run (the
 * offline ones against this repository, `keys` against an in-process Secrets Manager), the MCP call
 * and the acceptance script parse their arguments as shown (the acceptance script in its dry run);
 * `pulumi` and `aws` commands need an account and are not run here.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Command } from "commander";
import { registerKeys } from "../../src/cli/commands/keys.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { SecretsManagerKeys } from "../../src/keys/index.ts";
import { FakeSecretsManager } from "../keys/support/fakeSecretsManager.ts";
import { AS_OF, ROOT } from "../components/support/plans.ts";
// @ts-expect-error: a plain ESM script without type declarations
import { parseCommandLine } from "../../scripts/mcp-call.mjs";

const DOC = readFileSync(join(ROOT, "docs", "aws.md"), "utf8");
/** Lines of the ```sh blocks. */
const shellLines = [...DOC.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
  m[1]!
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean),
);

describe("docs/aws.md commands", { timeout: 120_000 }, () => {
  it("shows the commands the checklist needs", () => {
    assert.ok(shellLines.includes("npx dbwarden plan --stack prod"));
    assert.ok(!/dbwarden plan prod\b/.test(DOC), "plan takes --stack");
    assert.ok(shellLines.some((l) => l.startsWith("npx dbwarden keys issue")));
    assert.ok(shellLines.some((l) => l.startsWith("scripts/aws-acceptance.sh")));
  });

  it("runs the offline dbwarden commands as written (exit 0)", () => {
    const offline = shellLines.filter((l) => /^npx dbwarden (validate|plan|check|schema)\b/.test(l));
    assert.equal(offline.length, 3);
    for (const line of offline) {
      const r = spawnSync(process.execPath, [join(ROOT, "bin", "dbwarden.js"), ...line.split(" ").slice(2)], { cwd: ROOT, encoding: "utf8", timeout: 90_000 });
      assert.equal(r.status, 0, `${line}: ${r.stderr}`);
    }
  });

  it("runs the keys commands as written, against an in-process Secrets Manager", async () => {
    const aws = new FakeSecretsManager();
    aws.create("dbwarden/prod/mcp-api-keys", "[]");
    const out: string[] = [];
    const io: CliIO = { out: (t) => out.push(t), err: () => {}, progress: () => {}, now: () => AS_OF, cwd: ROOT, env: {} };
    const lines = shellLines.filter((l) => l.startsWith("npx dbwarden keys"));
    assert.equal(lines.length, 3);
    for (const line of lines) {
      const program = new Command("dbwarden").exitOverride();
      registerKeys(program, io, () => new SecretsManagerKeys(aws, "dbwarden/prod/mcp-api-keys"));
      await program.parseAsync(line.split(" ").slice(2), { from: "user" });
    }
    assert.match(out.join("\n"), /Revoked 1 key of client claude-cs/);
  });

  it("the MCP call and the acceptance script take their arguments as shown", () => {
    const call = shellLines.find((l) => l.includes("scripts/mcp-call.mjs"))!;
    const words = call.replace(/"\$\(pulumi stack output -s prod mcpUrl\)"/, "https://mcp.data.example.com/mcp").split(" ");
    const args = words.slice(words.indexOf("scripts/mcp-call.mjs") + 1);
    assert.deepEqual(parseCommandLine(args, { MCP_TOKEN: "k" }), {
      url: "https://mcp.data.example.com/mcp",
      tool: "list_tables",
      args: {},
      expect: "ok",
      token: "k",
    });
    const dry = shellLines.find((l) => l.startsWith("scripts/aws-acceptance.sh") && l.includes("--dry-run"))!;
    const r = spawnSync("bash", dry.split(" "), { cwd: ROOT, encoding: "utf8", timeout: 90_000 });
    assert.equal(r.status, 0, r.stderr);
  });
});
