/**
 * Drift detection: out-of-band changes of every kind are reported in words, and reconciling (the
 * same as `drift --fix`) clears them. Also the CLI: exit 0 / 3, --json, --fix.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type pg from "pg";
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/io.ts";
import type { AccessPlan } from "../../src/plan/index.ts";
import { loginConnectionLimit, roleMarker } from "../../src/postgres/model.ts";
import { detectDrift, formatDriftReport } from "../../src/postgres/drift.ts";
import { reconcile } from "../../src/postgres/reconcile.ts";
import { readEffectiveAccess } from "../../src/postgres/effective.ts";
import { startLocalStack } from "../../src/local/stack.ts";
import type { TestPostgres } from "../support/postgres.ts";
import { NOW, ROOT, allRoles, assertDenied, connectAs, csRoles, startDemoDatabase } from "./helpers.ts";

const DATABASE = "dbwarden_demo";

function captureIO(env: NodeJS.ProcessEnv = {}, cwd = ROOT): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), progress: (t) => stderr.push(t), now: () => NOW, cwd, env };
}

/** A copy of the project's stacks where cs-usage-drop excludes `quantty`, meaning `quantity`: it validates. */
function typoProject(): string {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-typo-"));
  cpSync(join(ROOT, "stacks"), join(root, "stacks"), { recursive: true });
  const workflow = join(root, "stacks", "workflows", "cs-usage-drop.yaml");
  const text = readFileSync(workflow, "utf8");
  assert.ok(text.includes("exclude: [ip_address]"));
  writeFileSync(workflow, text.replace("exclude: [ip_address]", "exclude: [ip_address, quantty]"));
  return root;
}

const QUANTTY = 'workflow cs-usage-drop excludes analytics.usage_events.quantty, which does not exist in database dbwarden_demo (did you mean "quantity"?)';

// One database for the file: reconciled with the local plan first; every test leaves it clean.
let db: TestPostgres;
let admin: pg.Client;
let plan: AccessPlan;
let passwords: Record<string, string>;
let cs: { group: string; login: string };

before(async () => {
  ({ db, admin, plan, passwords } = await startDemoDatabase(DATABASE));
  await reconcile(admin, plan, { target: "app", passwords });
  cs = csRoles(plan);
});
after(() => db?.stop());

async function expectDrift(change: string, expected: Array<{ kind: string; match: RegExp }>) {
  await admin.query(change);
  const report = await detectDrift(admin, plan, { target: "app" });
  assert.equal(report.drift, true, `no drift reported after: ${change}`);
  for (const e of expected) {
    assert.ok(
      report.differences.some((d) => d.kind === e.kind && e.match.test(d.message)),
      `expected a ${e.kind} difference matching ${e.match} after "${change}"; got:\n${formatDriftReport(report)}`,
    );
  }
  // The fix is the reconciler; afterwards nothing is left.
  const fixed = await reconcile(admin, plan, { target: "app" });
  assert.equal(fixed.changed, true);
  const clean = await detectDrift(admin, plan, { target: "app" });
  assert.deepEqual(clean.differences, [], formatDriftReport(clean));
  return report;
}

describe("drift: out-of-band changes are reported in words and reconciled away", { timeout: 120_000 }, () => {
  test("a freshly reconciled database has no drift", async () => {
    const report = await detectDrift(admin, plan, { target: "app" });
    assert.equal(report.drift, false);
    assert.match(formatDriftReport(report), /^No drift/);
  });

  test("an extra GRANT on another workflow's table", async () => {
    await expectDrift(`GRANT SELECT ON billing.invoices TO ${cs.group}`, [
      { kind: "privilege", match: new RegExp(`^${cs.group} can read billing\\.invoices \\(not in the plan\\)`) },
    ]);
  });

  test("a write privilege granted directly to a login", async () => {
    await expectDrift(`GRANT UPDATE ON app.accounts TO ${cs.login}`, [
      { kind: "privilege", match: /can update app\.accounts \(granted directly to the login/ },
    ]);
  });

  test("membership in a powerful predefined role", async () => {
    await expectDrift(`GRANT pg_read_server_files TO ${cs.login}`, [{ kind: "membership", match: /is a member of pg_read_server_files.*read any file/ }]);
  });

  test("membership in a role that holds other grants, and what it reaches", async () => {
    await admin.query(`CREATE ROLE analyst NOLOGIN; GRANT USAGE ON SCHEMA billing TO analyst; GRANT SELECT ON billing.invoices TO analyst`);
    const agent = await connectAs(db, cs.login, passwords[cs.login]!, DATABASE);
    try {
      await admin.query(`GRANT analyst TO ${cs.login}`);
      // The escalation is real before the fix...
      await agent.query("SELECT card_last4 FROM billing.invoices LIMIT 1");
      await expectDrift("SELECT 1", [{ kind: "membership", match: /is a member of analyst.*reaches billing\.invoices/ }]);
      // ...and gone after it, for the very session that had it.
      await assertDenied(agent, "SELECT card_last4 FROM billing.invoices LIMIT 1");
    } finally {
      await agent.end();
      await admin.query("DROP OWNED BY analyst; DROP ROLE analyst");
    }
  });

  test("a dropped column grant", async () => {
    await expectDrift(`REVOKE SELECT (quantity) ON analytics.usage_events FROM ${cs.group}`, [
      { kind: "privilege", match: new RegExp(`^${cs.group} cannot read analytics\\.usage_events\\.quantity: the plan grants it`) },
    ]);
  });

  test("a table-level grant replacing column grants (would expose excluded columns)", async () => {
    await expectDrift(`GRANT SELECT ON analytics.usage_events TO ${cs.group}`, [
      { kind: "privilege", match: /can read analytics\.usage_events \(not in the plan\)/ },
    ]);
    const agent = await connectAs(db, cs.login, passwords[cs.login]!, DATABASE);
    try {
      await assertDenied(agent, "SELECT ip_address FROM analytics.usage_events LIMIT 1");
      await agent.query("SELECT quantity FROM analytics.usage_events LIMIT 1");
    } finally {
      await agent.end();
    }
  });

  test("a changed and an added setting", async () => {
    await expectDrift(`ALTER ROLE ${cs.login} SET statement_timeout = 0; ALTER ROLE ${cs.login} SET search_path = billing`, [
      { kind: "setting", match: /has statement_timeout = 0 \(the plan says 15000\)/ },
      { kind: "setting", match: /has search_path = billing, which the plan does not set/ },
    ]);
  });

  test("a removed log_statement setting", async () => {
    await expectDrift(`ALTER ROLE ${cs.login} RESET log_statement`, [{ kind: "setting", match: /does not have log_statement = all set/ }]);
  });

  test("grants to PUBLIC: on a table, a column, a scoped schema and the database", async () => {
    await expectDrift(
      `GRANT SELECT ON app.users TO PUBLIC; GRANT SELECT (card_last4) ON billing.invoices TO PUBLIC; ` +
        `GRANT CREATE ON SCHEMA app TO PUBLIC; GRANT TEMPORARY ON DATABASE ${DATABASE} TO PUBLIC`,
      [
        { kind: "public", match: /^PUBLIC \(every role, so every agent too\) can read app\.users/ },
        { kind: "public", match: /can read column billing\.invoices\.card_last4/ },
        { kind: "public", match: /can create objects in schema app/ },
        { kind: "public", match: /can create temporary tables in database dbwarden_demo/ },
      ],
    );
  });

  test("role attributes beyond LOGIN", async () => {
    await expectDrift(`ALTER ROLE ${cs.login} CREATEROLE BYPASSRLS CONNECTION LIMIT 50; ALTER ROLE ${cs.group} LOGIN`, [
      {
        kind: "role-attribute",
        match: new RegExp(
          `has CREATEROLE.*has BYPASSRLS.*connection limit 50 \\(the plan says ${loginConnectionLimit(
            plan,
            plan.workflows.find((w) => w.name === "cs-usage-drop")!,
          )}\\)`,
        ),
      },
      { kind: "role-attribute", match: /can LOG IN, but a group role must not/ },
    ]);
  });

  test("superuser", async () => {
    await expectDrift(`ALTER ROLE ${cs.login} SUPERUSER`, [{ kind: "role-attribute", match: /is SUPERUSER/ }]);
  });

  test("ownership of a table", async () => {
    await admin.query("CREATE TABLE app.scratch (x int)");
    await expectDrift(`ALTER TABLE app.scratch OWNER TO ${cs.group}`, [{ kind: "ownership", match: /owns table app\.scratch/ }]);
    assert.equal((await admin.query(`select pg_get_userbyid(relowner) as o from pg_class where oid = 'app.scratch'::regclass`)).rows[0].o, "postgres");
    await admin.query("DROP TABLE app.scratch");
  });

  test("default privileges that would hand future tables to an agent", async () => {
    await expectDrift(`ALTER DEFAULT PRIVILEGES IN SCHEMA billing GRANT SELECT ON TABLES TO ${cs.group}`, [
      { kind: "default-privilege", match: /will get SELECT on every new table that postgres creates in schema billing/ },
    ]);
  });

  test("another role made a member of an agent group", async () => {
    await admin.query("CREATE ROLE intern LOGIN");
    await expectDrift(`GRANT ${cs.group} TO intern`, [{ kind: "member", match: /intern is a member of dbw_cs_usage_drop/ }]);
    await admin.query("DROP ROLE intern");
  });

  test("a login removed from its group", async () => {
    await expectDrift(`REVOKE ${cs.group} FROM ${cs.login}`, [{ kind: "membership", match: /is not a member of its group/ }]);
  });

  test("a role left over from a workflow no longer in the plan is dropped", async () => {
    const marker = roleMarker("local", "app", "old-workflow", "group");
    await expectDrift(`CREATE ROLE dbw_old_workflow NOLOGIN; COMMENT ON ROLE dbw_old_workflow IS '${marker}'; GRANT SELECT ON app.users TO dbw_old_workflow`, [
      { kind: "stale-role", match: /dbw_old_workflow is left over from workflow old-workflow/ },
    ]);
    assert.equal((await admin.query(`select count(*)::int as n from pg_roles where rolname = 'dbw_old_workflow'`)).rows[0].n, 0);
  });

  test("a missing role", async () => {
    await expectDrift(`DROP ROLE ${plan.workflows[1]!.roles.logins[0]!.role}`, [{ kind: "missing-role", match: /does not exist/ }]);
  });
});

describe("drift: scale, the plan's own problems, and the CLI", { timeout: 120_000 }, () => {
  test("drift reads the catalog in a fixed number of round trips, whatever the number of tables", async () => {
    await admin.query("CREATE SCHEMA wide");
    await admin.query(
      `DO $$ BEGIN FOR i IN 1..300 LOOP EXECUTE format('CREATE TABLE IF NOT EXISTS wide.t%s (x ` +
        `int)', i); EXECUTE format('GRANT SELECT ON wide.t%s TO PUBLIC', i); END LOOP; END $$`,
    );
    let queries = 0;
    const original = admin.query.bind(admin);
    (admin as unknown as { query: unknown }).query = (...args: Parameters<typeof admin.query>) => {
      queries += 1;
      return (original as (...a: unknown[]) => unknown)(...args);
    };
    let report;
    try {
      report = await detectDrift(admin, plan, { target: "app" });
    } finally {
      (admin as unknown as { query: unknown }).query = original;
    }
    assert.equal(report.differences.filter((d) => d.kind === "public").length, 300);
    // 14 reads, and 2 more for the governed views the local plan has (none where there are none).
    assert.ok(queries <= 16, `${queries} queries for 300 tables`);
    await reconcile(admin, plan, { target: "app" });
    await admin.query("DROP SCHEMA wide CASCADE");
    assert.equal((await detectDrift(admin, plan, { target: "app" })).drift, false);
  });

  test("a rule naming a column the table lacks (quantty): drift reports it, exit 3; up refuses and changes nothing", async () => {
    const root = typoProject();
    const url = db.url("postgres");
    try {
      const before = await readEffectiveAccess(admin, allRoles(plan));
      let io = captureIO({}, root);
      assert.equal(await main(["drift", "--stack", "local", "--url", url], io), 3);
      assert.ok(io.stdout.join("").includes(`Objects the plan needs but the database lacks:\n  - ${QUANTTY}\n`), io.stdout.join(""));
      io = captureIO({}, root);
      assert.equal(await main(["drift", "--stack", "local", "--url", url, "--json"], io), 3);
      assert.deepEqual(JSON.parse(io.stdout.join("")).targets[0].differences, [{ kind: "missing-object", role: cs.group, message: QUANTTY, fix: [] }]);
      // `dbwarden up` (here without its MCP server) refuses the plan with the same message.
      await assert.rejects(startLocalStack({ root, stack: "local", now: NOW, url, mcp: false, progress: () => {} }), (error: Error) => {
        assert.ok(error.message.includes(`nothing was changed:\n  - ${QUANTTY}`), error.message);
        return true;
      });
      assert.deepEqual(await readEffectiveAccess(admin, allRoles(plan)), before, "nothing changed");
      assert.equal((await detectDrift(admin, plan, { target: "app" })).drift, false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("CLI: exit 0 when clean, 3 with a plain-words report, --json, then --fix clears it", async () => {
    const url = db.url("postgres");
    let io = captureIO();
    assert.equal(await main(["drift", "--stack", "local", "--url", url], io), 0);
    assert.match(io.stdout.join(""), /No drift: environment local, target app \(database dbwarden_demo\)/);

    await admin.query(`GRANT pg_read_all_data TO ${cs.login}; GRANT SELECT ON app.users TO PUBLIC`);
    io = captureIO({ DBWARDEN_DATABASE_URL: url });
    assert.equal(await main(["drift", "--stack", "local"], io), 3);
    const text = io.stdout.join("");
    assert.match(text, /Drift found in environment local, target app/);
    assert.match(text, /is a member of pg_read_all_data, which the plan does not give it: it can read every table/);
    assert.match(text, /PUBLIC \(every role, so every agent too\) can read app\.users/);
    assert.ok(!text.includes(db.adminPassword), "no secret in the report");

    io = captureIO();
    assert.equal(await main(["drift", "--stack", "local", "--url", url, "--json"], io), 3);
    const json = JSON.parse(io.stdout.join(""));
    assert.equal(json.drift, true);
    assert.deepEqual(json.targets[0].differences.map((d: { kind: string }) => d.kind).sort(), ["membership", "public"]);
    assert.ok(json.targets[0].differences.every((d: { fix: string[] }) => d.fix.length > 0));

    io = captureIO();
    assert.equal(await main(["drift", "--stack", "local", "--url", url, "--fix"], io), 0);
    assert.match(io.stdout.join(""), /No drift/);

    io = captureIO();
    assert.equal(await main(["drift", "--stack", "prod", "--fix", "--url", url], io), 2);
    assert.match(io.stderr.join(""), /--fix changes the database, so it is for the local stack only/);
  });
});
