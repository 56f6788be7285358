/**
 * The first day of a team with dbwarden, from the published packages: `npm pack` of dbwarden,
 * @dbwarden/contract and @dbwarden/mcp-server (what `npm publish` would upload), installed from
 * the tarballs into a scratch project (a git repository) outside this repository, install scripts
 * on as for a team, then the README and the docs followed as written:
 * - README "Use it in your own repository": `init`, `up` (the MCP server from
 *   @dbwarden/mcp-server), a governed query through the official MCP SDK client (query.mjs as
 *   shown), the same client over stdio (`dbwarden mcp`), `down`; then the example values refused
 *   by `validate` until they are the team's, `validate` and `plan`;
 * - docs/aws.md's first deploy, every step a machine without an AWS account can take: the catalog
 *   snapshot from a real database, the offline checks, the acceptance run's dry run, the MCP call
 *   script; and docs/pulumi-program.md's example test of the program `init` wrote (dbwarden/testing).
 * Everything runs compiled JavaScript only (no tsx in the scratch project).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { VERSION } from "../../src/version.ts";
import { acceptExampleValues, markedLines } from "../support/init.ts";
import { startTestPostgres } from "../support/postgres.ts";
import { startInBackground, stdioSession, type BackgroundUp } from "./support/first-day.ts";
import { codeBlocks, commands, installInto, installed, markdownSection, readmeSection, sh, sharedTarballs, spawned } from "./support/scratch.ts";

const FIRST_DAY = "Use it in your own repository";
/** The test machine's port 7300 may be taken (a colleague's `npm start`): `up` gets any free port. */
const ANY_PORT = " --mcp-port 0";

let work: string;
let scratch: string;
let up: BackgroundUp | undefined;
/** Lines of docs/aws.md the first day already ran (the MCP call needs the running local stack). */
const ranFromDocs = new Set<string>();

before(async () => {
  work = mkdtempSync(join(tmpdir(), "dbwarden-first-day-"));
  chmodSync(work, 0o755); // as root, the embedded PostgreSQL runs as `postgres`, which must traverse it
  scratch = join(work, "scratch");
  mkdirSync(scratch);
  assert.equal(spawnSync("git", ["init", "-q"], { cwd: scratch }).status, 0);
  writeFileSync(join(scratch, "package.json"), `${JSON.stringify({ name: "scratch", version: "1.0.0", private: true }, null, 2)}\n`);
  const [install] = commands(readmeSection(FIRST_DAY));
  assert.deepEqual(installed(install!), ["dbwarden"], "what the README installs");
  // @pulumi/pulumi: the docs' program test (and npm would add it anyway: dbwarden's peer dependency).
  await installInto(scratch, await sharedTarballs(), ["@pulumi/pulumi"], { scripts: true });
});

after(async () => {
  up?.stop();
  await up?.exited;
  rmSync(work, { recursive: true, force: true });
});

describe(`README "${FIRST_DAY}": the first day, as written`, { timeout: 600_000 }, () => {
  const lines = () => commands(readmeSection(FIRST_DAY));
  const scratchFile = (path: string) => join(scratch, path);

  it("shows these commands, in this order", () => {
    assert.deepEqual(lines(), [
      "npm i -D dbwarden",
      "npx dbwarden init",
      "npx dbwarden up",
      "npx dbwarden mcp --client local-agent",
      "npx dbwarden down",
      "npx dbwarden validate",
      "npx dbwarden plan --stack dev",
    ]);
  });

  it("init, then up: the local stack runs from the installed packages, .dbwarden/ ignored by git", async () => {
    const init = sh(scratch, lines()[1]!);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /Added \.dbwarden\/ to \.gitignore/);
    up = await startInBackground(scratch, lines()[2]! + ANY_PORT);
    assert.match(up.output(), /Loading the demo dataset into dbwarden_demo/);
    assert.match(up.output(), /- local-agent {2}\(workflow demo-revenue-review\)/);
    const status = sh(scratch, "git status --porcelain --untracked-files=all");
    assert.ok(!status.stdout.includes(".dbwarden"), `git would not commit the local secrets: ${status.stdout}`);
    assert.ok(existsSync(scratchFile(".dbwarden/local/connection.json")));
  });

  it("a governed query through the official MCP SDK client (query.mjs as shown); the shipped MCP call script too", async () => {
    const query = codeBlocks(readmeSection(FIRST_DAY)).find((b) => b.lang === "js" && b.text.startsWith("// query.mjs\n"));
    assert.ok(query, "the README shows query.mjs");
    writeFileSync(scratchFile("query.mjs"), query.text);
    const r = await spawned(process.execPath, ["query.mjs"], scratch);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const answer = JSON.parse(r.stdout) as { columns: { name: string }[]; rows: unknown[][] };
    assert.deepEqual(
      answer.columns.map((c) => c.name),
      ["status", "invoices"],
    );
    assert.ok(answer.rows.length >= 3, r.stdout);
    // docs/aws.md's check of an endpoint, against this one (its URL and key here).
    const call = commands(markdownSection("docs/aws.md", "First deploy, step by step")).find((l) => l.includes("scripts/mcp-call.mjs"))!;
    const { mcpUrl, clients } = JSON.parse(readFileSync(scratchFile(".dbwarden/local/connection.json"), "utf8")) as {
      mcpUrl: string;
      clients: { apiKey: string }[];
    };
    const here = call.replace("MCP_TOKEN=<the key> ", "").replace(/"\$\(pulumi stack output -s dev mcpUrl\)"/, mcpUrl);
    const listed = sh(scratch, here, { MCP_TOKEN: clients[0]!.apiKey });
    assert.equal(listed.code, 0, listed.stdout + listed.stderr);
    assert.match(JSON.parse(listed.stdout).text, /"workflow":"demo-revenue-review"/);
    ranFromDocs.add(call);
  });

  it("the same client over stdio (dbwarden mcp, through the SDK's stdio client), then down", async () => {
    const [npx, ...args] = lines()[3]!.split(" ");
    const stdio = await stdioSession(scratch, npx!, args, { name: "query", arguments: { sql: "SELECT billing_email FROM app.accounts LIMIT 1" } });
    assert.deepEqual(stdio.tools, ["describe_table", "explain", "list_tables", "query"]);
    assert.equal(stdio.server, VERSION, "the server of this release");
    assert.equal(stdio.isError, true, "an excluded column is refused over stdio too");
    const down = sh(scratch, lines()[4]!);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await up!.exited, 0, up!.output());
  });

  it("the example values are refused until they are the team's; then validate and plan", () => {
    const refused = sh(scratch, lines()[5]!);
    assert.equal(refused.code, 1);
    const marked = ["dbwarden/environments/dev.yaml", "dbwarden/workflows/orders-weekly-summary.yaml"];
    const count = marked.reduce((n, f) => n + markedLines(scratchFile(f)).length, 0);
    assert.match(refused.stderr, new RegExp(`\\n${count} problems in 2 file\\(s\\)\\.\\n$`));
    assert.match(refused.stderr, /^dbwarden\/environments\/dev\.yaml:\d+:\d+: error: an example value from `dbwarden init` is still marked CHANGE/m);
    for (const file of marked) acceptExampleValues(scratchFile(file));
    const validate = sh(scratch, lines()[5]!);
    assert.equal(validate.code, 0, validate.stderr);
    assert.match(validate.stdout, /^ok: 4 document\(s\) valid in 4 file\(s\) \(2 Environment, 2 Workflow\)/);
    const plan = sh(scratch, lines()[6]!);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /^Access plan for stack "dev"/);
  });
});

describe("docs/aws.md and docs/pulumi-program.md from the installed package", { timeout: 600_000 }, () => {
  it(
    "every step of the first deploy a machine without an AWS account can take, as " +
      "written: the catalog from a database, the checks, the acceptance run's dry run",
    async () => {
      const lines = commands(markdownSection("docs/aws.md", "First deploy, step by step"));
      const primary = await startTestPostgres();
      try {
        // The team's primary: its database with the table the example workflow reads, one column more than init's snapshot.
        await primary.createDatabase("app");
        const app = await primary.admin("app");
        await app.query(
          "CREATE TABLE public.orders (id bigint PRIMARY KEY, customer_id bigint, status text, " +
            "total_cents bigint, shipping_address text, created_at timestamptz, coupon text)",
        );
        const url = new URL(primary.url());
        const outcomes = lines.map((line) => ({
          line,
          ...followDocLine(line, { host: `${url.hostname}:${url.port}`, user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }),
        }));
        for (const o of outcomes) if (o.ran) assert.equal(o.code, 0, `${o.line}: ${o.stdout}${o.stderr}`);
        const ran = outcomes.filter((o) => o.ran).map((o) => o.line.replace(/'postgres:[^']*'/, "<url>"));
        assert.deepEqual(ran, [
          "DBWARDEN_DATABASE_URL=<url> npx dbwarden catalog --stack dev",
          "npx dbwarden validate",
          "npx dbwarden plan --stack dev",
          "npx dbwarden check --stack dev",
          "npx dbwarden acceptance --stack dev --dry-run",
        ]);
        assert.equal(
          readFileSync(join(scratch, "dbwarden", "catalog", "dev.json"), "utf8"),
          '{\n  "public.orders": { "id": "bigint", "customer_id": "bigint", "status": "text", "total_cents": ' +
            '"bigint", "shipping_address": "text", "created_at": "timestamp with time zone", "coupon": "text" }\n}\n',
          "the snapshot written from the database",
        );
        const dry = outcomes.find((o) => o.line.endsWith("--dry-run"))!.stderr ?? "";
        assert.match(
          dry,
          /^\+ node node_modules\/dbwarden\/bin\/dbwarden\.js keys issue --stack dev --client analytics-agent --workflow orders-weekly-summary$/m,
        );
        assert.match(dry, /^\+ MCP_TOKEN=<token> node node_modules\/dbwarden\/scripts\/mcp-call\.mjs --url https:\/\/<mcpUrl>\/mcp --tool query /m);
        assert.match(dry, /== accepted\n$/);
      } finally {
        await primary.stop();
      }
    },
  );

  it("docs/pulumi-program.md's example test of the program init wrote passes, with dbwarden/testing", async () => {
    const example = codeBlocks(markdownSection("docs/pulumi-program.md", "Testing your program: `dbwarden/testing`")).find((b) =>
      b.text.startsWith("// test/program.test.mjs\n"),
    );
    assert.ok(example, "the doc shows test/program.test.mjs");
    mkdirSync(join(scratch, "test"), { recursive: true });
    writeFileSync(join(scratch, "test", "program.test.mjs"), example.text);
    const r = await spawned(process.execPath, ["--test", "test/"], scratch);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^# pass 2$/m);
    assert.match(r.stdout, /^# fail 0$/m);
  });
});

/**
 * One command line of docs/aws.md's first deploy in the scratch project: run as written when this
 * machine can (dbwarden's offline commands; the catalog against `primary`, the tunnel's address
 * and the password read at the prompt being this database's), else why not.
 */
function followDocLine(
  line: string,
  primary: { host: string; user: string; password: string },
): { ran: boolean; code?: number | null; stdout?: string; stderr?: string } {
  if (/^npm i -D /.test(line)) {
    assert.deepEqual(installed(line).sort(), ["@pulumi/pulumi", "dbwarden"], "the scratch project installed these");
    return { ran: false };
  }
  if (line === "npx dbwarden init") {
    assert.ok(existsSync(join(scratch, "Pulumi.yaml")) && existsSync(join(scratch, "dbwarden", "index.cjs")), "the first day ran init");
    return { ran: false };
  }
  if (ranFromDocs.has(line)) return { ran: false };
  // An AWS account, the Pulumi CLI, a bastion: not on this machine.
  if (/^(pulumi |aws |ssh |read |LB_ARN=)/.test(line) || /^npx dbwarden (keys|acceptance --stack dev$)/.test(line)) return { ran: false };
  if (line.startsWith("DBWARDEN_DATABASE_URL=")) {
    const here = line.replace(/'postgres:\/\/<admin user>@127\.0\.0\.1:15432\/postgres\?[^']*'/, `'postgres://${primary.user}@${primary.host}/postgres'`);
    assert.notEqual(here, line, "the catalog line names the tunnel's address");
    return { ran: true, ...sh(scratch, here, { PGPASSWORD: primary.password }) };
  }
  assert.match(line, /^npx dbwarden (validate|plan|check|acceptance)\b/, `a line of docs/aws.md this test knows: ${line}`);
  return { ran: true, ...sh(scratch, line) };
}
