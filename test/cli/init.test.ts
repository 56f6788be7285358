/**
 * `dbwarden init`: a spec folder to start from that validates and plans as written, each YAML file
 * pointing editors at the schema shipped with dbwarden, every placeholder marked CHANGE; existing
 * files never overwritten (nothing written at all); --dir and package.json's setting honoured.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { DEFAULT_MCP_IMAGE } from "../../src/version.ts";
import { runCli } from "../support/cli.ts";

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

describe("dbwarden init", () => {
  it("creates dbwarden/ that validates and plans as written; the YAML files name dbwarden's schema", async () => {
    const dir = fresh();
    const init = await cli(dir, "init");
    assert.equal(init.code, 0, init.stderr);
    assert.ok(
      init.stdout.startsWith(
        ["Created dbwarden/:", "  dbwarden/environments/dev.yaml", "  dbwarden/workflows/orders-weekly-summary.yaml", "  dbwarden/catalog/dev.json", ""].join(
          "\n",
        ),
      ),
      init.stdout,
    );
    for (const file of ["environments/dev.yaml", "workflows/orders-weekly-summary.yaml"]) {
      const path = join(dir, "dbwarden", file);
      const [first] = readFileSync(path, "utf8").split("\n");
      const schema = /^# yaml-language-server: \$schema=(\S+)$/.exec(first!)?.[1];
      assert.ok(schema, `${file} starts with the schema comment`);
      assert.equal(resolve(dirname(path), schema), join(ROOT, "schema", "dbwarden.schema.json"), "the schema of the dbwarden that ran init");
    }
    const environment = readFileSync(join(dir, "dbwarden", "environments", "dev.yaml"), "utf8");
    assert.ok(environment.includes(`image: ${DEFAULT_MCP_IMAGE} `), "the MCP server image released with this version");
    assert.ok((environment.match(/CHANGE/g) ?? []).length >= 10, "every placeholder is marked");
    assert.equal((await cli(dir, "validate")).code, 0);
    const plan = await cli(dir, "plan", "--stack", "dev");
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /SELECT on public\.orders \(created_at, id, status, total_cents\)/);
  });

  it("never overwrites: with one file present, nothing is written and it exits 1 naming it", async () => {
    const dir = fresh();
    mkdirSync(join(dir, "dbwarden", "workflows"), { recursive: true });
    writeFileSync(join(dir, "dbwarden", "workflows", "orders-weekly-summary.yaml"), "mine\n");
    const init = await cli(dir, "init");
    assert.equal(init.code, 1);
    assert.match(init.stderr, /not overwriting what exists: dbwarden\/workflows\/orders-weekly-summary\.yaml; nothing was written/);
    assert.equal(readFileSync(join(dir, "dbwarden", "workflows", "orders-weekly-summary.yaml"), "utf8"), "mine\n");
    assert.ok(!existsSync(join(dir, "dbwarden", "environments")), "nothing half-applied");
  });

  it("--dir and --stack; package.json's setting is where it creates by default", async () => {
    const dir = fresh();
    const init = await cli(dir, "init", "--dir", "infra/access", "--stack", "staging");
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /The CLI finds this folder once package\.json says so: "dbwarden": \{ "specs": "infra\/access" \}/);
    assert.ok(existsSync(join(dir, "infra", "access", "environments", "staging.yaml")));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ dbwarden: { specs: "infra/access" } }));
    assert.equal((await cli(dir, "plan", "--stack", "staging")).code, 0);
    const configured = fresh();
    writeFileSync(join(configured, "package.json"), JSON.stringify({ dbwarden: { specs: "ops/specs" } }));
    assert.equal((await cli(configured, "init")).code, 0);
    assert.ok(existsSync(join(configured, "ops", "specs", "environments", "dev.yaml")));
    const bad = await cli(fresh(), "init", "--stack", "Prod_1");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--stack must be lower-case letters and digits/);
  });
});
