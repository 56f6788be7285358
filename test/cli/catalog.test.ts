/**
 * `dbwarden catalog --stack <env> --url <admin url>` through the real bin, on a real PostgreSQL:
 * it writes exactly the committed format from the live database (the planned tables only, sorted,
 * the same bytes every time), refuses a missing planned table (naming it, writing nothing), never
 * prints the URL; and `dbwarden drift` says when the committed snapshot went stale, and how to
 * refresh it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type pg from "pg";
import { entryColumns, formatCatalog, loadCatalog } from "../../src/postgres/snapshot.ts";
import { startTestPostgres, type TestPostgres } from "../support/postgres.ts";
import { ROOT } from "../postgres/helpers.ts";

const BIN = join(ROOT, "bin", "dbwarden.js");
const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

function dbwarden(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, DBWARDEN_DATABASE_URL: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("dbwarden catalog (the real bin, a real PostgreSQL)", { timeout: 150_000 }, () => {
  let db: TestPostgres;
  let admin: pg.Client;
  let url: string;
  const root = mkdtempSync(join(tmpdir(), "dbwarden-catalog-"));
  // What `dbwarden catalog` writes for the committed prod.json's tables created as text columns: the
  // committed format with each column's type, the form the masks' type checks read.
  const committed = formatCatalog(
    Object.fromEntries(
      Object.entries(loadCatalog("prod", ROOT)).map(([table, entry]) => [table, Object.fromEntries(entryColumns(entry).map((c) => [c, "text"]))]),
    ),
  );
  const file = join(root, "stacks", "catalog", "prod.json");

  before(async () => {
    cpSync(join(ROOT, "stacks"), join(root, "stacks"), { recursive: true });
    rmSync(file);
    db = await startTestPostgres();
    await db.createDatabase("app");
    admin = await db.admin("app");
    // The prod primary's tables, with the committed snapshot's columns in its order, and one table no workflow reads.
    const snapshot = loadCatalog("prod", ROOT);
    for (const schema of new Set(Object.keys(snapshot).map((k) => k.split(".")[0]!))) await admin.query(`CREATE SCHEMA ${ident(schema)}`);
    for (const [key, columns] of Object.entries(snapshot)) {
      const [schema, table] = key.split(".") as [string, string];
      await admin.query(
        `CREATE TABLE ${ident(schema)}.${ident(table)} (${entryColumns(columns)
          .map((c) => `${ident(c)} text`)
          .join(", ")})`,
      );
    }
    await admin.query(`CREATE TABLE app.internal_notes (id int, body text)`);
    url = db.url("app");
  });
  after(async () => {
    await db?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test("writes exactly the planned tables' columns in the committed format, the same bytes every time, never the URL", async () => {
    const first = await dbwarden(root, ["catalog", "--stack", "prod", "--url", url]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(readFileSync(file, "utf8"), committed, "byte for byte the committed prod.json's tables, typed");
    assert.doesNotMatch(readFileSync(file, "utf8"), /internal_notes/);
    assert.match(first.stdout, /^Wrote stacks\/catalog\/prod\.json: the columns of 5 tables the workflows of prod read/);
    for (const text of [first.stdout, first.stderr]) {
      assert.ok(!text.includes(url) && !text.includes(db.adminPassword), "the URL (and its password) is never printed");
    }
    const second = await dbwarden(root, ["catalog", "--stack", "prod", "--url", url]);
    assert.equal(second.code, 0);
    assert.equal(readFileSync(file, "utf8"), committed);
  });

  test("drift says when the snapshot is stale (columns added and removed), and how to refresh it; catalog refreshes it", async () => {
    await admin.query(`ALTER TABLE app.users ADD COLUMN phone text; ALTER TABLE app.users DROP COLUMN last_login_at`);
    try {
      const drift = await dbwarden(root, ["drift", "--stack", "prod", "--url", url, "--json"]);
      assert.equal(drift.code, 3, drift.stderr);
      const stale = JSON.parse(drift.stdout).targets[0].differences.filter((d: { kind: string }) => d.kind === "stale-catalog");
      assert.deepEqual(stale, [
        {
          kind: "stale-catalog",
          role: "",
          message:
            "stacks/catalog/prod.json is stale for app.users (columns added in the database: phone; columns it lists that the table no longer has: " +
            "last_login_at): the Pulumi component grants from it. Refresh it with `dbwarden catalog --stack prod --url <admin url>` and review the diff",
          fix: [],
        },
      ]);
      assert.ok(!drift.stdout.includes(db.adminPassword));
      // From a folder inside the project, the same project and the same committed snapshot.
      const inside = await dbwarden(join(root, "stacks", "workflows"), ["drift", "--stack", "prod", "--url", url, "--json"]);
      assert.deepEqual(
        JSON.parse(inside.stdout).targets[0].differences.filter((d: { kind: string }) => d.kind === "stale-catalog"),
        stale,
      );
      const refresh = await dbwarden(root, ["catalog", "--stack", "prod", "--url", url]);
      assert.equal(refresh.code, 0, refresh.stderr);
      assert.deepEqual(entryColumns(loadCatalog("prod", root)["app.users"]!), [
        "id",
        "account_id",
        "email",
        "full_name",
        "password_hash",
        "role",
        "created_at",
        "phone",
      ]);
      const after = await dbwarden(root, ["drift", "--stack", "prod", "--url", url, "--json"]);
      assert.deepEqual(
        JSON.parse(after.stdout).targets[0].differences.filter((d: { kind: string }) => d.kind === "stale-catalog"),
        [],
      );
    } finally {
      await admin.query(`ALTER TABLE app.users DROP COLUMN phone; ALTER TABLE app.users ADD COLUMN last_login_at text`);
      await dbwarden(root, ["catalog", "--stack", "prod", "--url", url]);
    }
    // Dropping and adding back moved last_login_at to the end: the snapshot follows the database's order.
    assert.deepEqual(entryColumns(loadCatalog("prod", root)["app.users"]!).at(-1), "last_login_at");
  });

  test("a planned table the database lacks is an error naming it, and nothing is written", async () => {
    const before = readFileSync(file, "utf8");
    await admin.query(`ALTER TABLE support.tickets RENAME TO tickets_old`);
    try {
      const run = await dbwarden(root, ["catalog", "--stack", "prod", "--url", url]);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /cannot write stacks\/catalog\/prod\.json; nothing was written:\n {2}- table support\.tickets, read by workflows cs-usage-drop, eng-incident-investigation, does not exist in database app \(target app\)/,
      );
      assert.ok(!run.stderr.includes(url) && !run.stderr.includes(db.adminPassword));
      assert.equal(readFileSync(file, "utf8"), before);
    } finally {
      await admin.query(`ALTER TABLE support.tickets_old RENAME TO tickets`);
    }
  });

  test("usage: --stack is required (exit 2)", async () => {
    const run = await dbwarden(root, ["catalog", "--url", url]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--stack/);
  });
});
