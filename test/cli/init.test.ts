/**
 * `dbwarden init`: a spec folder to start from, each YAML file pointing editors at the schema
 * shipped with dbwarden. The local stack and its demo workflow plan as written; the deployed
 * environment's example values are marked `# CHANGE` and `validate` refuses them, naming each line,
 * until they are replaced and the markers deleted. Pulumi.yaml and the program it names, and
 * `.dbwarden/` in .gitignore. Existing files never overwritten (nothing written at all); --dir,
 * --stack, --host, --no-pulumi and package.json's setting honoured.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { parse } from "yaml";
import { DEFAULT_MCP_IMAGE } from "../../src/version.ts";
import { runCli } from "../support/cli.ts";
import { acceptExampleValues, markedLines } from "../support/init.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const now = new Date("2026-11-21T12:00:00Z");
const temp = mkdtempSync(join(tmpdir(), "dbwarden-init-"));
after(() => rmSync(temp, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const dir = join(temp, `p${++n}`);
  mkdirSync(dir);
  return dir;
};

const cli = (cwd: string, ...args: string[]) => runCli(cwd, now, ...args);

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => statSync(join(dir, f)).isFile()).sort();
}

describe("dbwarden init: what it writes", () => {
  it("creates the local stack, a deployed environment, the Pulumi project and .gitignore; the YAML files name dbwarden's schema", async () => {
    const dir = fresh();
    const init = await cli(dir, "init");
    assert.equal(init.code, 0, init.stderr);
    const created = [
      "dbwarden/environments/local.yaml",
      "dbwarden/workflows/demo-revenue-review.yaml",
      "dbwarden/environments/dev.yaml",
      "dbwarden/workflows/orders-weekly-summary.yaml",
      "dbwarden/catalog/dev.json",
      "dbwarden/index.cjs",
      "Pulumi.yaml",
    ];
    assert.ok(init.stdout.startsWith(["Created dbwarden/:", ...created.map((f) => `  ${f}`), "Added .dbwarden/ to .gitignore"].join("\n")), init.stdout);
    assert.match(init.stdout, /Try it on this machine: `npx dbwarden up`/);
    assert.deepEqual(filesUnder(dir), [...created, ".gitignore"].sort());
    for (const file of ["environments/local.yaml", "environments/dev.yaml", "workflows/orders-weekly-summary.yaml", "workflows/demo-revenue-review.yaml"]) {
      const path = join(dir, "dbwarden", file);
      const [first] = readFileSync(path, "utf8").split("\n");
      const schema = /^# yaml-language-server: \$schema=(\S+)$/.exec(first!)?.[1];
      assert.ok(schema, `${file} starts with the schema comment`);
      assert.equal(resolve(dirname(path), schema), join(ROOT, "schema", "dbwarden.schema.json"), "the schema of the dbwarden that ran init");
    }
    const environment = readFileSync(join(dir, "dbwarden", "environments", "dev.yaml"), "utf8");
    assert.ok(environment.includes(`image: ${DEFAULT_MCP_IMAGE} `), "the MCP server image released with this version");
    assert.equal(
      readFileSync(join(dir, ".gitignore"), "utf8"),
      "# dbwarden's local state: the database, its passwords and API keys (dbwarden up). Never commit it.\n.dbwarden/\n",
    );
  });

  it(
    "the local stack plans as written, with no placeholder; the deployed one plans " +
      "too, but validate refuses each example value until its CHANGE comment is gone",
    async () => {
      const dir = fresh();
      assert.equal((await cli(dir, "init")).code, 0);
      const local = join(dir, "dbwarden", "environments", "local.yaml");
      const demo = join(dir, "dbwarden", "workflows", "demo-revenue-review.yaml");
      assert.deepEqual([...markedLines(local), ...markedLines(demo)], [], "the local stack runs as written");
      const localPlan = await cli(dir, "plan", "--stack", "local");
      assert.equal(localPlan.code, 0, localPlan.stderr);
      assert.match(localPlan.stdout, /SELECT on billing\.invoices \(account_id, amount_cents, currency, id, issued_at, status\)/);
      assert.match(localPlan.stdout, /SELECT on app\.accounts \(every column except billing_email\)/);
      const devPlan = await cli(dir, "plan", "--stack", "dev");
      assert.equal(devPlan.code, 0, devPlan.stderr);
      assert.match(devPlan.stdout, /SELECT on public\.orders \(created_at, id, status, total_cents\)/);

      const dev = join(dir, "dbwarden", "environments", "dev.yaml");
      const orders = join(dir, "dbwarden", "workflows", "orders-weekly-summary.yaml");
      const expected = [
        ...markedLines(dev).map((line) => `dbwarden/environments/dev.yaml:${line}:`),
        ...markedLines(orders).map((line) => `dbwarden/workflows/orders-weekly-summary.yaml:${line}:`),
      ];
      assert.ok(expected.length >= 20, "every example value is marked");
      const refused = await cli(dir, "validate");
      assert.equal(refused.code, 1);
      const lines = refused.stderr.trim().split("\n");
      assert.deepEqual(
        lines.slice(0, -1).map((l) => /^[^:]+:\d+:/.exec(l)![0]),
        expected,
        "one problem per marked line, at that line",
      );
      assert.equal(lines.at(-1), `${expected.length} problems in 2 file(s).`);
      assert.match(
        lines.find((l) => l.startsWith("dbwarden/environments/dev.yaml:14:"))!,
        /^dbwarden\/environments\/dev\.yaml:14:\d+: error: an example value from `dbwarden init` is still marked CHANGE: the AWS region of the primary instance \(put your own value on this line, then delete the `# CHANGE` comment\)$/,
      );
      assert.match(
        refused.stderr,
        /:17:7: error: an example value from `dbwarden init` is still marked CHANGE: the Secrets Manager secret .*\(put your own value on the line below, then delete the `# CHANGE` comment\)/,
      );
      const one = await cli(dir, "validate", "dbwarden/workflows/orders-weekly-summary.yaml");
      assert.equal(one.code, 1);
      assert.equal(one.stderr.trim().split("\n").length, markedLines(orders).length + 1, "a named file: its own markers only");

      acceptExampleValues(dev);
      acceptExampleValues(orders);
      const accepted = await cli(dir, "validate");
      assert.equal(accepted.code, 0, accepted.stderr);
      assert.match(accepted.stdout, /^ok: 4 document\(s\) valid in 4 file\(s\) \(2 Environment, 2 Workflow\)/);
    },
  );

  it("Pulumi.yaml names the program and keeps stack settings in the spec folder; the program is CommonJS calling deployStack", async () => {
    const dir = fresh();
    assert.equal((await cli(dir, "init")).code, 0);
    const project = parse(readFileSync(join(dir, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
    assert.deepEqual(project, {
      name: "dbwarden",
      description: "Governed, read-only database access for AI agents (dbwarden).",
      runtime: { name: "nodejs", options: { typescript: false } },
      main: "dbwarden/index.cjs",
      stackConfigDir: "dbwarden",
    });
    const program = readFileSync(join(dir, "dbwarden", "index.cjs"), "utf8");
    assert.match(program, /^const \{ deployStack \} = require\("dbwarden"\);$/m);
    assert.match(
      program,
      /module\.exports = deployStack\(\)\.then\(\(environment\) => \(\{\n {2}mcpUrl: environment\.mcpUrl,\n {2}endpointHostname: environment\.endpointHostname,\n[\s\S]*replicaAddresses: environment\.replicaAddresses,\n\}\)\);\n$/,
    );
    // The program's outputs are the bundled program's (stacks/index.ts), in the same order.
    const bundled = [...readFileSync(join(ROOT, "stacks", "index.ts"), "utf8").matchAll(/^export const (\w+) = environment\.\1;$/gm)].map((m) => m[1]);
    assert.deepEqual(
      [...program.matchAll(/^ {2}(\w+): environment\.\1,$/gm)].map((m) => m[1]),
      bundled,
    );
  });
});

describe("dbwarden init: existing files and options", () => {
  it("never overwrites: with one file present (a spec file, or Pulumi.yaml), nothing is written and it exits 1 naming it", async () => {
    const dir = fresh();
    mkdirSync(join(dir, "dbwarden", "workflows"), { recursive: true });
    writeFileSync(join(dir, "dbwarden", "workflows", "orders-weekly-summary.yaml"), "mine\n");
    const init = await cli(dir, "init");
    assert.equal(init.code, 1);
    assert.match(init.stderr, /not overwriting what exists: dbwarden\/workflows\/orders-weekly-summary\.yaml; nothing was written/);
    assert.equal(readFileSync(join(dir, "dbwarden", "workflows", "orders-weekly-summary.yaml"), "utf8"), "mine\n");
    assert.ok(!existsSync(join(dir, "dbwarden", "environments")), "nothing half-applied");
    assert.ok(!existsSync(join(dir, ".gitignore")), "not even .gitignore");

    const pulumi = fresh();
    writeFileSync(join(pulumi, "Pulumi.yaml"), "name: ours\n");
    const refused = await cli(pulumi, "init");
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /not overwriting what exists: Pulumi\.yaml; nothing was written \(remove them, or pass --dir for another folder, --no-pulumi to keep your own Pulumi project\)/,
    );
    assert.ok(!existsSync(join(pulumi, "dbwarden")));
    const kept = await cli(pulumi, "init", "--no-pulumi");
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(readFileSync(join(pulumi, "Pulumi.yaml"), "utf8"), "name: ours\n");
    assert.ok(!existsSync(join(pulumi, "dbwarden", "index.cjs")));
    assert.ok(existsSync(join(pulumi, "dbwarden", "environments", "dev.yaml")));
  });

  it(".gitignore: appended to (its lines kept), left alone when it already ignores .dbwarden/", async () => {
    const dir = fresh();
    writeFileSync(join(dir, ".gitignore"), "node_modules/\n*.log");
    assert.equal((await cli(dir, "init")).code, 0);
    assert.equal(
      readFileSync(join(dir, ".gitignore"), "utf8"),
      "node_modules/\n*.log\n\n# dbwarden's local state: the database, its passwords and API keys (dbwarden up). Never commit it.\n.dbwarden/\n",
    );
    for (const already of [".dbwarden/\n", "node_modules\n/.dbwarden\n", "  .dbwarden  \n"]) {
      const other = fresh();
      writeFileSync(join(other, ".gitignore"), already);
      const init = await cli(other, "init");
      assert.equal(init.code, 0);
      assert.equal(readFileSync(join(other, ".gitignore"), "utf8"), already, JSON.stringify(already));
      assert.doesNotMatch(init.stdout, /Added \.dbwarden\/ to \.gitignore/);
    }
  });

  it("--stack local writes the local stack alone; up's missing-stack error names it", async () => {
    const dir = fresh();
    assert.equal((await cli(dir, "init", "--no-pulumi", "--stack", "prod")).code, 0);
    rmSync(join(dir, "dbwarden", "environments", "local.yaml"));
    rmSync(join(dir, "dbwarden", "workflows", "demo-revenue-review.yaml"));
    const missing = await cli(dir, "plan", "--stack", "local");
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /dbwarden\/environments\/local\.yaml: error: no environment for stack "local" \(known stacks: prod; `npx dbwarden init --stack local` creates the local stack \(dbwarden\/environments\/local\.yaml, with a demo workflow\)\)/,
    );
    const local = await cli(dir, "init", "--stack", "local");
    assert.equal(local.code, 0, local.stderr);
    assert.ok(
      local.stdout.startsWith("Created dbwarden/:\n  dbwarden/environments/local.yaml\n  dbwarden/workflows/demo-revenue-review.yaml\n\n"),
      local.stdout,
    );
    assert.doesNotMatch(local.stdout, /CHANGE/);
    assert.ok(!existsSync(join(dir, "Pulumi.yaml")));
    assert.equal((await cli(dir, "plan", "--stack", "local")).code, 0);
  });

  it("--dir, --stack and --host; package.json's setting is where it creates by default", async () => {
    const dir = fresh();
    const init = await cli(dir, "init", "--dir", "infra/access", "--stack", "staging", "--host", "aws-ecs");
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /The CLI finds this folder once package\.json says so: "dbwarden": \{ "specs": "infra\/access" \}/);
    assert.ok(existsSync(join(dir, "infra", "access", "environments", "staging.yaml")));
    assert.match(readFileSync(join(dir, "Pulumi.yaml"), "utf8"), /^main: infra\/access\/index\.cjs\nstackConfigDir: infra\/access\n$/m);
    writeFileSync(join(dir, "package.json"), JSON.stringify({ dbwarden: { specs: "infra/access" } }));
    assert.equal((await cli(dir, "plan", "--stack", "staging")).code, 0);
    const configured = fresh();
    writeFileSync(join(configured, "package.json"), JSON.stringify({ dbwarden: { specs: "ops/specs" } }));
    assert.equal((await cli(configured, "init")).code, 0);
    assert.ok(existsSync(join(configured, "ops", "specs", "environments", "dev.yaml")));
    const bad = await cli(fresh(), "init", "--stack", "Prod_1");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--stack must be lower-case letters and digits/);
    const host = await cli(fresh(), "init", "--host", "local");
    assert.equal(host.code, 2);
    assert.match(host.stderr, /--host.*Allowed choices are aws-ecs, gcp-cloudrun/);
  });

  it("--host gcp-cloudrun: a Cloud SQL target and a Cloud Run host that plan as written", async () => {
    const dir = fresh();
    const init = await cli(dir, "init", "--stack", "staging", "--host", "gcp-cloudrun");
    assert.equal(init.code, 0, init.stderr);
    const environment = readFileSync(join(dir, "dbwarden", "environments", "staging.yaml"), "utf8");
    assert.match(environment, /platform: gcp-cloudsql/);
    assert.match(environment, /platform: gcp-cloudrun/);
    const plan = await cli(dir, "plan", "--stack", "staging");
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /runs on GCP Cloud Run in my-project-staging\/europe-west1/);
  });
});
