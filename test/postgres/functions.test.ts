/**
 * Functions are access: "the database alone holds for data" must hold for routines too. A DBA
 * creates, after `up`, a SECURITY DEFINER function in a schema a workflow reads, owned by the
 * schema's owner, that returns a column the workflow excludes (a sensitive one). PostgreSQL gives
 * PUBLIC EXECUTE on it by default, so without care every agent could call it.
 *
 * Proven on a real PostgreSQL, logged in directly as the agent's login (no MCP server, no parser:
 * the database alone), and then end to end through the real MCP server with its parser check off:
 * - with the spec's words (`publicPrivileges.revoke`): the agent cannot execute it (a function
 *   created later included, through the schema owner's default privileges), and drift is clean;
 * - without them: drift reports it (exit 3), the plan says why it was not revoked, and nothing is run.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type pg from "pg";
import { buildRuntimeConfig } from "@dbwarden/contract";
import { startServer, type RunningServer } from "@dbwarden/mcp-server";
import { call, httpClient } from "../../mcp-server/test/support/fixture.ts";
import { publicLeftNote } from "../../src/plan/build.ts";
import { detectDrift, formatDriftReport } from "../../src/postgres/drift.ts";
import { reconcile } from "../../src/postgres/reconcile.ts";
import { assertDenied, connectAs, demoDatabaseOfSuite, leavingPublic } from "./helpers.ts";

const DATABASE = "dbwarden_demo";
/** cs-usage-drop reads app.accounts but not billing_email (sensitive): what the DBA's function returns. */
const EXCLUDED = "billing_email";

/** The schema `app` owned by a DBA role (not a superuser), who may read the table its function reads. */
async function dbaOwnsApp(admin: pg.Client): Promise<void> {
  await admin.query(`CREATE ROLE app_owner NOLOGIN; ALTER SCHEMA app OWNER TO app_owner; GRANT SELECT ON app.accounts TO app_owner`);
}

/** What a DBA does after `up`: a SECURITY DEFINER function in the workflow's schema, owned by the schema owner. */
async function createDbaFunction(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`SET ROLE app_owner`);
  try {
    await admin.query(`CREATE FUNCTION app.${name}() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER STABLE AS $$ SELECT ${EXCLUDED} FROM app.accounts $$`);
  } finally {
    await admin.query(`RESET ROLE`);
  }
}

describe("with the spec's words: no agent can execute the DBA's SECURITY DEFINER function", { timeout: 150_000 }, () => {
  const demo = demoDatabaseOfSuite(DATABASE, async (demo) => {
    await dbaOwnsApp(demo.admin);
    // A function that existed before `up`: PUBLIC's EXECUTE on it is taken away by the apply.
    await demo.admin.query(`CREATE FUNCTION app.account_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM app.accounts $$`);
    const before = await detectDrift(demo.admin, demo.plan, { target: "app" });
    assert.ok(
      before.differences.some(
        (d) => d.kind === "function" && d.message.startsWith("PUBLIC (every role, so every agent too) can execute function app.account_count()"),
      ),
    );
    assert.ok(
      before.differences.some(
        (d) => d.kind === "default-privilege" && /every new function that app_owner creates in schema app \(PostgreSQL's default\)/.test(d.message),
      ),
    );
    const applied = await reconcile(demo.admin, demo.plan, { target: "app", passwords: demo.passwords });
    assert.ok(
      applied.statements.includes(`ALTER DEFAULT PRIVILEGES FOR ROLE "app_owner" REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`),
      applied.statements.join("\n"),
    );
  });

  test("the database alone: logged in as the agent, the function created after the apply cannot be executed", async () => {
    await createDbaFunction(demo.admin, "account_emails");
    const agent = await connectAs(demo.db, demo.cs.login, demo.passwords[demo.cs.login]!, DATABASE);
    try {
      await assertDenied(agent, "SELECT app.account_emails()");
      await assertDenied(agent, "SELECT * FROM app.account_emails()");
      await assertDenied(agent, "SELECT app.account_count()");
      await assertDenied(agent, `SELECT ${EXCLUDED} FROM app.accounts LIMIT 1`);
      // What the plan grants still works.
      assert.equal((await agent.query("SELECT count(plan) AS n FROM app.accounts")).rows[0].n, "200");
    } finally {
      await agent.end();
    }
    const report = await detectDrift(demo.admin, demo.plan, { target: "app" });
    assert.deepEqual(report.differences, [], formatDriftReport(report));
  });

  test("a function made executable by hand is drift, and the fix revokes it", async () => {
    await demo.admin.query(`GRANT EXECUTE ON FUNCTION app.account_emails() TO PUBLIC; GRANT EXECUTE ON FUNCTION app.account_count() TO ${demo.cs.group}`);
    const report = await detectDrift(demo.admin, demo.plan, { target: "app" });
    const functions = report.differences.filter((d) => d.kind === "function");
    assert.deepEqual(
      functions.map((d) => [d.role, d.message, d.fix]),
      [
        [
          demo.cs.group,
          `${demo.cs.group} can execute function app.account_count() (not in the plan: agents execute nothing)`,
          [`REVOKE EXECUTE ON ROUTINE "app"."account_count"() FROM "${demo.cs.group}"`],
        ],
        [
          "PUBLIC",
          "PUBLIC (every role, so every agent too) can execute function app.account_emails(), which runs with the privileges of its " +
            "owner app_owner (SECURITY DEFINER) and so reads whatever app_owner can, excluded columns included (granted to PUBLIC)",
          [`REVOKE EXECUTE ON ROUTINE "app"."account_emails"() FROM PUBLIC`],
        ],
      ],
    );
    await reconcile(demo.admin, demo.plan, { target: "app" });
    assert.equal((await detectDrift(demo.admin, demo.plan, { target: "app" })).drift, false);
  });

  test("end to end: the real MCP server with its parser check off returns nothing out of scope through any function", async () => {
    await createDbaFunction(demo.admin, "account_emails_later");
    const dir = mkdtempSync(join(tmpdir(), "dbwarden-fn-"));
    const apiKey = `dbw_${createHash("sha256").update(dir).digest("base64url")}`;
    const mcpPlan = structuredClone(demo.plan);
    for (const w of mcpPlan.workflows) for (const c of w.clients) c.sourceCidrs = [];
    const runtime = buildRuntimeConfig({
      plan: mcpPlan,
      listen: { host: "127.0.0.1", port: 0 },
      databases: { app: { host: demo.db.host, port: demo.db.port, database: DATABASE, sslmode: "disable" } },
      logins: Object.fromEntries(Object.entries(demo.passwords).map(([role, password]) => [role, { password }])),
      apiKeys: { inline: [{ client: demo.cs.client, workflow: "cs-usage-drop", sha256: createHash("sha256").update(apiKey).digest("hex") }] },
      audit: { file: join(dir, "audit.log") },
    });
    let server: RunningServer | undefined;
    try {
      server = await startServer({ plan: mcpPlan, runtime, unsafeDisableSqlCheck: true, log: () => {} });
      const client = await httpClient(server.url, apiKey);
      try {
        const functions = (
          await demo.admin.query(
            `select p.oid::regprocedure::text as f from pg_proc p join pg_namespace n on n.oid = ` +
              `p.pronamespace where n.nspname !~ '^pg_' and n.nspname <> 'information_schema' order by 1`,
          )
        ).rows.map((r) => r.f as string);
        assert.deepEqual(functions, ["app.account_count()", "app.account_emails()", "app.account_emails_later()"]);
        for (const f of functions) {
          for (const sql of [`SELECT ${f}`, `SELECT * FROM ${f}`]) {
            const out = await call(client, "query", { sql });
            assert.match(out.text, /^DENIED: /, `${sql}: ${out.text}`);
            assert.doesNotMatch(out.text, /@example\.com/);
          }
        }
        const ok = await call(client, "query", { sql: "SELECT id, plan FROM app.accounts ORDER BY id LIMIT 2" });
        assert.equal(ok.isError, false, ok.text);
      } finally {
        await client.close();
      }
    } finally {
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("without the spec's words: drift reports the DBA's function, and the plan says why it was not revoked", { timeout: 120_000 }, () => {
  const demo = demoDatabaseOfSuite(DATABASE, async (demo) => {
    demo.plan = leavingPublic(demo.plan);
    demo.plan.notes.push(publicLeftNote("app", DATABASE));
    await dbaOwnsApp(demo.admin);
    await reconcile(demo.admin, demo.plan, { target: "app", passwords: demo.passwords });
  });

  test("the agent can execute it (PostgreSQL's default, left alone), and drift says so in words, with nothing to run", async () => {
    assert.equal((await detectDrift(demo.admin, demo.plan, { target: "app" })).drift, false);
    await createDbaFunction(demo.admin, "account_emails");
    await demo.admin.query(`CREATE FUNCTION app.plans() RETURNS SETOF text LANGUAGE sql STABLE AS $$ SELECT plan FROM app.accounts $$`);
    const agent = await connectAs(demo.db, demo.cs.login, demo.passwords[demo.cs.login]!, DATABASE);
    try {
      const leaked = await agent.query("SELECT * FROM app.account_emails() LIMIT 1");
      assert.match(leaked.rows[0].account_emails, /@/, "the leak the report is about is real");
    } finally {
      await agent.end();
    }
    const report = await detectDrift(demo.admin, demo.plan, { target: "app" });
    assert.equal(report.drift, true);
    assert.deepEqual(
      report.differences.map((d) => [d.kind, d.message, d.fix]),
      [
        [
          "function",
          "PUBLIC (every role, so every agent too) can execute function app.account_emails(), " +
            "which runs with the privileges of its owner app_owner (SECURITY DEFINER) and so reads " +
            "whatever app_owner can, excluded columns included (PUBLIC is not dbwarden's on this " +
            "target: revoke it by hand, or say why dbwarden may in targets.app.publicPrivileges.revoke)",
          [],
        ],
      ],
    );
    // A function that runs with the agent's own rights reveals nothing more: a notice.
    assert.ok(
      report.notices.some(
        (n) =>
          n.message === "every agent can execute 1 routine of schema app through PUBLIC, each with the agent's own privileges (SECURITY INVOKER): app.plans()",
      ),
      formatDriftReport(report),
    );
    assert.match(formatDriftReport(report), /Routines the agents can execute:\n {2}- PUBLIC .* app\.account_emails\(\)/);
    // Why it was not revoked, for the reviewer.
    assert.ok(demo.plan.notes.some((n) => n.startsWith(`PUBLIC's privileges on ${DATABASE} are not changed: whatever PUBLIC holds, every agent holds.`)));
    // `drift --fix` (the reconciler) leaves it to the database's owners.
    assert.equal((await reconcile(demo.admin, demo.plan, { target: "app" })).changed, false);
    assert.equal((await detectDrift(demo.admin, demo.plan, { target: "app" })).differences.length, 1);
  });
});
