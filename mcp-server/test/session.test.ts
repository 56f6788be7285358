/**
 * The pipelined session (engines/postgres/session.ts) against a real PostgreSQL: a call is one
 * write (setup, the guard re-resolving names, the statement, Sync, then the reset), answered before
 * the reset completes. What must still hold: names resolved in the statement's own transaction
 * (a name that now resolves elsewhere is checked again, never run on the old resolution), every
 * statement inside the read-only transaction, and a connection handed to the next call only once
 * it is reset (or destroyed when in doubt).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { openClouds } from "../src/clouds/registry.ts";
import { parseRuntime, type AccessPlan, type RuntimeConfig } from "../src/config.ts";
import { credentialSources } from "../src/credentials.ts";
import type { Engine, EngineCall, ToolError } from "../src/index.ts";
import type { Identity } from "../src/identity.ts";
import { createPostgresEngine, type PgStatement } from "../src/engines/postgres/index.ts";
import { CappedRows } from "../src/engines/postgres/fetch.ts";
import { Transaction } from "../src/engines/postgres/session.ts";
import pg from "pg";
import { workflowScope } from "../src/scope.ts";
import { startFixture, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
let runtime: RuntimeConfig;
const engines: Engine<PgStatement>[] = [];
const noCredentials = credentialSources(
  openClouds({
    aws: {
      secrets: { getSecret: () => Promise.reject(new Error("no secrets in this test")) },
      rdsTokens: { getAuthToken: () => Promise.reject(new Error("no tokens in this test")) },
    },
  }),
);
const CAPS = { maxRows: 10, maxBytes: 10_000 };

/** An engine over a plan whose cs-usage-drop workflow has one connection per login (pool of 1). */
async function engine(check: boolean): Promise<{ engine: Engine<PgStatement>; cs: Identity }> {
  const plan: AccessPlan = structuredClone(fx.plan);
  const workflow = plan.workflows.find((w) => w.name === "cs-usage-drop")!;
  workflow.limits.concurrentCalls = 1;
  const e = (await createPostgresEngine({ plan, targets: plan.targets, runtime, credentials: noCredentials, check })) as Engine<PgStatement>;
  engines.push(e);
  return { engine: e, cs: { workflow, client: workflow.clients[0]!, principal: "test" } };
}

function callOf(who: Identity): EngineCall {
  return { identity: who, requestId: randomUUID(), scope: workflowScope(who.workflow.tables), timeoutMs: who.workflow.limits.statementTimeoutMs };
}

async function run(e: Engine<PgStatement>, who: Identity, sql: string): Promise<unknown[][]> {
  const call = callOf(who);
  return (await e.execute(call, await e.check(call, { tool: "query", sql }), [], CAPS)).rows.values();
}

before(async () => {
  fx = await startFixture();
  runtime = parseRuntime(fx.runtime(), fx.plan);
});
after(async () => {
  await Promise.allSettled(engines.map((e) => e.close()));
  await fx?.stop();
});

describe("the pipelined session", { timeout: 60_000 }, () => {
  test("a name that resolves to another table since it was checked is checked again, in the statement's own transaction", async () => {
    const { engine: e, cs } = await engine(true);
    assert.deepEqual(await run(e, cs, "SELECT count(*) FROM accounts"), [["200"]]);
    assert.deepEqual(await run(e, cs, "SELECT count(*) FROM accounts"), [["200"]], "the second call goes out with the guard");
    // `accounts` now resolves to analytics.accounts (first on the workflow's search_path), a table
    // outside the workflow that its role may read: only the check stands between them.
    const admin = await fx.db.admin("dbwarden_demo");
    const group = cs.workflow.roles.group.replaceAll('"', '""');
    await admin.query(
      `CREATE TABLE analytics.accounts (id int, secret text); INSERT INTO analytics.accounts ` +
        `VALUES (1, 'leak'); GRANT SELECT ON analytics.accounts TO "${group}"`,
    );
    try {
      await assert.rejects(
        run(e, cs, "SELECT count(*) FROM accounts"),
        (err: ToolError) => err.code === "DENIED" && /analytics\.accounts\) is not in this workflow's scope/.test(err.message),
      );
      await assert.rejects(run(e, cs, "SELECT * FROM accounts"), (err: ToolError) => err.code === "DENIED");
    } finally {
      await admin.query("DROP TABLE analytics.accounts");
    }
    assert.deepEqual(await run(e, cs, "SELECT count(*) FROM accounts"), [["200"]]);
  });

  test("the next call gets the connection only once it is reset, even when it was waiting for it", async () => {
    const { engine: e, cs } = await engine(false);
    const first = run(
      e,
      cs,
      "SELECT pg_backend_pid(), pg_advisory_lock(4242), set_config('work_mem', '77MB', false), set_config('search_path', 'billing', false)",
    );
    const second = run(
      e,
      cs,
      "SELECT pg_backend_pid(), current_setting('work_mem'), current_setting('search_path'), " +
        "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())",
    );
    const [a, b] = await Promise.all([first, second]);
    const pid1 = a[0]![0];
    const [pid2, workMem, searchPath, locks] = b[0]!;
    assert.equal(pid2, pid1, "one connection (a pool of one) served both calls");
    assert.deepEqual([workMem, searchPath, locks], ["4MB", "analytics, app, support", "0"]);
  });

  test("a statement that ends the read-only transaction (possible only with the check off) fails, and its connection is destroyed", async () => {
    const { engine: e, cs } = await engine(false);
    const pid1 = (await run(e, cs, "SELECT pg_backend_pid()"))[0]![0];
    for (const sql of ["COMMIT", "ROLLBACK"]) {
      await assert.rejects(run(e, cs, sql), (err: ToolError) => err.code === "DENIED" && /ended the read-only transaction/.test(err.message), sql);
    }
    const pid2 = (await run(e, cs, "SELECT pg_backend_pid()"))[0]![0];
    assert.notEqual(pid2, pid1, "a new connection: the doubtful one was not reused");
  });

  test("the statement never runs unless the whole setup is in effect: a failed setup skips everything up to the Sync", async () => {
    const role = "dbw_cs_usage_drop__claude_cs";
    const pool = new pg.Pool({ host: fx.db.host, port: fx.db.port, database: "dbwarden_demo", user: role, password: fx.passwords[role], max: 1 });
    const application = "dbwarden/test/setup-check";
    const setApplication = `SET LOCAL application_name = '${application}'`;
    const attempt = async (setup: string) => {
      const tx = new Transaction(await pool.connect(), application, setup);
      const rows = new CappedRows(10, 10_000);
      const outcome = await tx.send([{ text: "SELECT 'the statement ran'", reader: rows }], { last: true }).then(
        () => "answered",
        (e: Error & { code?: string }) => e.code ?? e.message,
      );
      tx.end(false);
      return { outcome, rows: rows.result().rows.values() };
    };
    try {
      assert.deepEqual(await attempt(`BEGIN READ ONLY; ${setApplication}`), { outcome: "answered", rows: [["the statement ran"]] });
      // BEGIN never ran: no transaction is open, the guard's own statement runs in autocommit and refuses.
      assert.deepEqual(await attempt(`SELECT 1 / 0; BEGIN READ ONLY; ${setApplication}`), { outcome: "22012", rows: [] });
      // SET LOCAL outside a transaction block lasts only until the end of its Query.
      const outside = await attempt(setApplication);
      assert.deepEqual(outside.rows, []);
      assert.notEqual(outside.outcome, "answered");
      // A failure after BEGIN aborts the transaction: the guard is refused ("in failed transaction").
      assert.deepEqual(await attempt(`BEGIN READ ONLY; SELECT 1 / 0; ${setApplication}`), { outcome: "22012", rows: [] });
      // A transaction that is not read-only.
      assert.deepEqual(await attempt(`BEGIN; ${setApplication}`), { outcome: "22012", rows: [] });
    } finally {
      await pool.end();
    }
  });
});
