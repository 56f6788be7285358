/**
 * `dbwarden up --url`: the demo dataset goes only into a database `up` creates, or with `--demo`.
 * A database of one's own is not filled with five demo schemas.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type pg from "pg";
import { startTestPostgres, type TestPostgres } from "../support/postgres.ts";
import { interrupt, runBin, startBin, startUp, tempProject, waitFor } from "./support.ts";

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

  test("--url with a password is refused (it would stay in the process arguments), naming --url-env and --url-file", async () => {
    const run = await runBin(root, ["up", "--url", db.url("postgres")]);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /--url holds a password, which would stay in the process arguments .*pass --url-env <NAME>, or in a file \(mode 0600\) and pass --url-file <path>/,
    );
    assert.ok(!(run.stdout + run.stderr).includes(db.adminPassword), "the password is not echoed");
    const unset = await runBin(root, ["up", "--url-env", "NO_SUCH_VARIABLE_SET"]);
    assert.equal(unset.code, 2);
    assert.match(unset.stderr, /--url-env NO_SUCH_VARIABLE_SET: the environment variable NO_SUCH_VARIABLE_SET is not set/);
  });

  test("an existing database with a table of its own: no demo schemas, and the refusal says --demo", async () => {
    const run = startBin(root, ["up", "--url-env", "ADMIN_URL", "--mcp-port", "0"], { ADMIN_URL: db.url("postgres") });
    await waitFor("up to exit (or, wrongly, to be ready)", () => run.child.exitCode !== null || run.stdout().includes("is ready"));
    if (run.child.exitCode === null) await interrupt(run);
    const result = { code: await run.exited, stdout: run.stdout(), stderr: run.stderr() };
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /Not loading the demo dataset into dbwarden_demo: the database existed before \(pass --demo to load it\)/);
    assert.match(result.stderr, /the plan cannot be applied to this database; nothing was changed/);
    assert.match(result.stderr, /`dbwarden up --url-env <NAME> --demo` loads it/);
    assert.ok(!(result.stdout + result.stderr).includes(db.adminPassword), "no secret printed");
    assert.deepEqual(await schemas(), []);
    assert.deepEqual((await admin.query("select note from public.mine")).rows, [{ note: "my own data" }]);
  });

  test("--demo loads them, and the stack serves", async () => {
    const up = await startUp(root, ["--url-env", "ADMIN_URL", "--demo"], { ADMIN_URL: db.url("postgres") });
    try {
      // The password is nowhere in the process arguments, which every user of the machine can read.
      assert.ok(!readFileSync(`/proc/${up.child.pid}/cmdline`, "utf8").includes(db.adminPassword));
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
    // From a file this time (mode 0600, as the help says).
    const urlFile = join(root, "admin-url");
    writeFileSync(urlFile, `${db.url("postgres")}\n`, { mode: 0o600 });
    const up = await startUp(root, ["--url-file", urlFile]);
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
