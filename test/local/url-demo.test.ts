/**
 * `dbwarden up --url`: the demo dataset goes only into a database `up` creates, or with `--demo`.
 * A database of one's own is not filled with five demo schemas.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type pg from "pg";
import { startTestPostgres, type TestPostgres } from "../support/postgres.ts";
import { interrupt, startBin, startUp, tempProject, waitFor } from "./support.ts";

const DEMO_SCHEMAS = ["analytics", "app", "billing", "support"];

describe("dbwarden up --url and the demo dataset", { timeout: 150_000 }, () => {
  const root = tempProject("dbwarden-urldemo-");
  let db: TestPostgres;
  let admin: pg.Client;
  const schemas = async () =>
    (await admin.query<{ nspname: string }>("select nspname from pg_namespace where nspname = any($1) order by 1", [DEMO_SCHEMAS])).rows.map((r) => r.nspname);
  before(async () => {
    db = await startTestPostgres();
    await db.createDatabase("dbwarden_demo");
    admin = await db.admin("dbwarden_demo");
    await admin.query("CREATE TABLE public.mine (id int PRIMARY KEY, note text); INSERT INTO public.mine VALUES (1, 'my own data')");
  });
  after(async () => {
    await db?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test("an existing database with a table of its own: no demo schemas, and the refusal says --demo", async () => {
    const run = startBin(root, ["up", "--url", db.url("postgres"), "--mcp-port", "0"]);
    await waitFor("up to exit (or, wrongly, to be ready)", () => run.child.exitCode !== null || run.stdout().includes("is ready"));
    if (run.child.exitCode === null) await interrupt(run);
    const result = { code: await run.exited, stdout: run.stdout(), stderr: run.stderr() };
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /Not loading the demo dataset into dbwarden_demo: the database existed before \(pass --demo to load it\)/);
    assert.match(result.stderr, /the plan cannot be applied to this database; nothing was changed/);
    assert.match(result.stderr, /`dbwarden up --url \.\.\. --demo` loads it/);
    assert.ok(!(result.stdout + result.stderr).includes(db.adminPassword), "no secret printed");
    assert.deepEqual(await schemas(), []);
    assert.deepEqual((await admin.query("select note from public.mine")).rows, [{ note: "my own data" }]);
  });

  test("--demo loads them, and the stack serves", async () => {
    const up = await startUp(root, ["--url", db.url("postgres"), "--demo"]);
    try {
      assert.match(up.stderr(), /Loading the demo dataset into dbwarden_demo/);
      assert.deepEqual(await schemas(), DEMO_SCHEMAS);
      assert.deepEqual((await admin.query("select note from public.mine")).rows, [{ note: "my own data" }]);
    } finally {
      assert.equal(await interrupt(up), 0);
    }
  });

  test("a database `up` creates gets the demo dataset without --demo", async () => {
    await admin.end();
    const maintenance = await db.admin("postgres");
    await maintenance.query("DROP DATABASE dbwarden_demo WITH (FORCE)");
    const up = await startUp(root, ["--url", db.url("postgres")]);
    try {
      assert.match(up.stderr(), /Creating database dbwarden_demo/);
      assert.match(up.stderr(), /Loading the demo dataset into dbwarden_demo/);
    } finally {
      assert.equal(await interrupt(up), 0);
    }
    admin = await db.admin("dbwarden_demo");
    assert.deepEqual(await schemas(), DEMO_SCHEMAS);
  });
});
