/**
 * `logging.statements: pgaudit` on a PostgreSQL that does not load pgaudit (here the embedded one,
 * PostgreSQL 18, which ships none, given by URL): `dbwarden up` refuses before it changes anything,
 * naming `shared_preload_libraries`; a running stack refuses a reload to such a spec and keeps
 * serving what it served. The stack on a PostgreSQL that does preload it: test/audit/pgaudit.test.ts.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pgauditPreloadProblem, preloadsPgaudit } from "../../src/local/pgaudit.ts";
import { startLocalStack } from "../../src/local/stack.ts";
import { PGAUDIT_SETTINGS } from "../../src/postgres/model.ts";
import { examplePlan } from "../components/support/plans.ts";
import { startTestPostgres, type TestPostgres } from "../support/postgres.ts";
import { tempProject } from "./support.ts";

const NOW = new Date("2026-11-21T00:00:00Z");

describe("the pgaudit preload check", () => {
  const target = { ...examplePlan("local").targets[0]!, logging: { statements: "pgaudit" as const, retentionDays: 7 } };
  const context = { environmentFile: "stacks/environments/local.yaml", server: "the PostgreSQL at db:5432", embedded: false };

  it("reads shared_preload_libraries as PostgreSQL does: a comma-separated list, names possibly quoted", () => {
    for (const value of ["pgaudit", "pg_stat_statements, pgaudit", '"pgaudit",auto_explain']) assert.ok(preloadsPgaudit(value), value);
    for (const value of ["", "pg_stat_statements", "pgaudit_extra", "pg_audit"]) assert.ok(!preloadsPgaudit(value), value);
  });

  it("names the file, the field, the setting and both ways out; nothing for a target logging otherwise or a server preloading it", () => {
    assert.equal(
      pgauditPreloadProblem(target, "pg_stat_statements", context),
      "stacks/environments/local.yaml: targets.app.logging.statements is pgaudit, but the PostgreSQL at db:5432 does not load pgaudit: " +
        "shared_preload_libraries is 'pg_stat_statements' (it must list pgaudit), so the agents' statements would not be logged. " +
        "Add pgaudit to shared_preload_libraries (postgresql.conf, or ALTER SYSTEM SET shared_preload_libraries = " +
        "'pgaudit') with the pgaudit package installed (Debian: postgresql-<major>-pgaudit), then restart PostgreSQL; " +
        "or set targets.app.logging.statements: log-statement. Nothing was changed.",
    );
    assert.match(
      pgauditPreloadProblem(target, "", { ...context, embedded: true })!,
      /The embedded PostgreSQL cannot load pgaudit: run `dbwarden up --url postgres:\/\/\.\.\.`/,
    );
    assert.equal(pgauditPreloadProblem(target, "pgaudit", context), null);
    assert.equal(pgauditPreloadProblem({ ...target, logging: { statements: "log-statement", retentionDays: 7 } }, "", context), null);
  });
});

describe("dbwarden up with logging.statements: pgaudit on a PostgreSQL without pgaudit", () => {
  let db: TestPostgres;
  const roots: string[] = [];
  const project = (statements: "pgaudit" | "log-statement") => {
    const root = tempProject("dbwarden-statement-logging-");
    roots.push(root);
    const env = join(root, "stacks/environments/local.yaml");
    writeFileSync(env, readFileSync(env, "utf8").replace("statements: log-statement", `statements: ${statements}`));
    return root;
  };

  before(async () => {
    db = await startTestPostgres();
  });
  after(async () => {
    await db?.stop();
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  const agentRoles = async () => (await (await db.admin()).query("SELECT rolname FROM pg_catalog.pg_roles WHERE rolname LIKE 'dbw\\_%'")).rowCount;

  it("refuses before anything is created, naming shared_preload_libraries", async () => {
    const root = project("pgaudit");
    await assert.rejects(
      startLocalStack({ root, url: db.url("postgres"), now: NOW, progress: () => {}, mcp: false }),
      /stacks\/environments\/local\.yaml: targets\.app\.logging\.statements is pgaudit, but the PostgreSQL at 127\.0\.0\.1:\d+ does not load pgaudit: shared_preload_libraries is '' \(it must list pgaudit\)/,
    );
    const admin = await db.admin();
    assert.equal((await admin.query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = 'dbwarden_demo'")).rowCount, 0, "no database created");
    assert.equal(await agentRoles(), 0, "no role created");
  });

  it("a running stack refuses a reload to pgaudit there and keeps what it served", async () => {
    const root = project("log-statement");
    const stack = await startLocalStack({ root, url: db.url("postgres"), now: NOW, progress: () => {}, mcp: false, demo: true });
    try {
      const env = join(root, "stacks/environments/local.yaml");
      writeFileSync(env, readFileSync(env, "utf8").replace("statements: log-statement", "statements: pgaudit"));
      const report = await stack.reload(() => {});
      assert.equal(report.ok, false);
      assert.match(report.error!, /does not load pgaudit: shared_preload_libraries is ''/);
      assert.equal(stack.plan.targets[0]!.logging.statements, "log-statement", "still the plan it served");
      const settings = (await (await db.admin()).query<{ setconfig: string[] }>("SELECT setconfig FROM pg_catalog.pg_db_role_setting")).rows.flatMap(
        (r) => r.setconfig,
      );
      assert.ok(settings.includes("log_statement=all"));
      assert.ok(!settings.some((s) => Object.keys(PGAUDIT_SETTINGS).some((name) => s.startsWith(`${name}=`))), "no pgaudit setting applied");
    } finally {
      await stack.stop();
    }
  });
});
