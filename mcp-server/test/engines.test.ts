/**
 * The engine seam: which engine serves a target (the registry, from the contract's capability
 * table), the PostgreSQL engine through the interface alone against a real PostgreSQL, and the
 * dispatcher and tools taking every dialect word from the engine.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { ConfigError, ToolError, type AuditRecord, type CheckedStatement, type Engine, type EngineCall, type EngineText } from "../src/index.ts";
import { openClouds } from "../src/clouds/registry.ts";
import { parseRuntime, type AccessPlan, type RuntimeConfig, type TablePlan } from "../src/config.ts";
import { credentialSources } from "../src/credentials.ts";
import { Dispatcher, type Identity } from "../src/dispatcher.ts";
import { createPostgresEngine, type PgStatement } from "../src/engines/postgres/index.ts";
import { ENGINE_FACTORIES, openEngines, planEngines, type EnginePlan } from "../src/engines/registry.ts";
import { JsonRows } from "../src/results.ts";
import { workflowScope } from "../src/scope.ts";
import { createMcpServer } from "../src/tools.ts";
import { startFixture, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
let runtime: RuntimeConfig;
let checked: Engine<PgStatement>;
let unchecked: Engine<PgStatement>;

const noCredentials = credentialSources(
  openClouds({
    aws: {
      secrets: { getSecret: () => Promise.reject(new Error("no secrets in this test")) },
      rdsTokens: { getAuthToken: () => Promise.reject(new Error("no tokens in this test")) },
    },
  }),
);

function identity(workflow: string, plan: AccessPlan = fx.plan): Identity {
  const w = plan.workflows.find((x) => x.name === workflow)!;
  return { workflow: w, client: w.clients[0]!, principal: "test" };
}
function callOf(who: Identity, overrides: Partial<EngineCall> = {}): EngineCall {
  return { identity: who, requestId: randomUUID(), scope: workflowScope(who.workflow.tables), timeoutMs: who.workflow.limits.statementTimeoutMs, ...overrides };
}
function table(who: Identity, name: string): TablePlan {
  return who.workflow.tables.find((t) => `${t.schema}.${t.table}` === name)!;
}
/** The fixture's plan with its one target moved to another platform. */
function planOn(platform: "snowflake" | "bigquery"): AccessPlan {
  const plan = structuredClone(fx.plan);
  const target = plan.targets.find((t) => t.name === "app")!;
  target.platform = platform;
  target.platformSettings =
    platform === "snowflake" ? { platform, account: "acme-eu", warehouse: "AGENTS", adminSecret: null } : { platform, location: "EU", maximumBytesBilled: 1e9 };
  return plan;
}

before(async () => {
  fx = await startFixture();
  runtime = parseRuntime(fx.runtime(), fx.plan);
  const options = { plan: fx.plan, targets: fx.plan.targets, runtime, credentials: noCredentials };
  checked = (await createPostgresEngine({ ...options, check: true })) as Engine<PgStatement>;
  unchecked = (await createPostgresEngine({ ...options, check: false })) as Engine<PgStatement>;
});
after(async () => {
  await Promise.allSettled([checked?.close(), unchecked?.close()]);
  await fx?.stop();
});

describe("the registry: an engine per target, from the contract's capability table", { timeout: 60_000 }, () => {
  test("PostgreSQL targets are served by the postgres engine", () => {
    const planned = planEngines(fx.plan);
    assert.deepEqual(
      planned.map((p) => [p.engine, p.targets.map((t) => t.name)]),
      [["postgres", ["app"]]],
    );
  });

  test("a target whose engine is not implemented is a startup error naming the target and platform, before anything opens", () => {
    // Every engine the contract names is implemented now: a registry without BigQuery's stands in for a new platform's.
    const withoutBigQuery = { ...ENGINE_FACTORIES, bigquery: null };
    assert.throws(
      () => planEngines(planOn("bigquery"), withoutBigQuery),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message.includes(`target "app" is on platform "bigquery" (BigQuery)`) &&
        e.message.includes(`"bigquery" engine, which this server does not implement`),
    );
    assert.deepEqual(
      Object.entries(ENGINE_FACTORIES)
        .filter(([, factory]) => factory === null)
        .map(([engine]) => engine),
      [],
      "every engine of the contract has a factory",
    );
  });

  test("when one engine fails to open, those already open are closed", async () => {
    let closed = 0;
    const opened = { close: async () => void closed++ } as unknown as Engine;
    const planned: EnginePlan[] = [
      { engine: "postgres", factory: async () => opened, targets: [] },
      { engine: "bigquery", factory: async () => Promise.reject(new ConfigError("no project")), targets: [] },
    ];
    await assert.rejects(openEngines(planned, { plan: fx.plan, runtime, credentials: noCredentials, check: true }), /no project/);
    assert.equal(closed, 1);
  });
});

describe("the PostgreSQL engine through the interface", { timeout: 60_000 }, () => {
  test("ready and endpoint", async () => {
    await checked.ready(identity("cs-usage-drop"));
    assert.equal(checked.endpoint("app"), `${fx.db.host}:${fx.db.port}/dbwarden_demo`);
  });

  test("describe: every live column in order, with the database's types and comments", async () => {
    const demo = await fx.db.admin("dbwarden_demo");
    await demo.query("COMMENT ON TABLE app.users IS 'People who sign in'");
    await demo.query("COMMENT ON COLUMN app.users.role IS 'owner, admin or member'");
    const inc = identity("eng-incident-investigation");
    const live = await checked.describe(callOf(inc), table(inc, "app.users"));
    assert.equal(live.comment, "People who sign in");
    assert.deepEqual(
      live.columns.map((c) => c.name),
      ["id", "account_id", "email", "full_name", "password_hash", "role"],
    );
    assert.equal(live.columns[0]!.type, "integer");
    assert.equal(live.columns.find((c) => c.name === "role")!.comment, "owner, admin or member");
    assert.equal(live.columns.find((c) => c.name === "email")!.comment, null);
    const gone = await checked.describe(callOf(inc), { ...table(inc, "app.users"), table: "no_such_table" });
    assert.deepEqual(gone, { comment: null, columns: [] });
  });

  test("check: the parse gives the audit facts and refuses before anything runs; with the check off, size only", async () => {
    const call = callOf(identity("cs-usage-drop"));
    const sql = "SELECT id FROM app.accounts WHERE name = 'Account 7' AND id > $1";
    const statement = await checked.check(call, { tool: "query", sql });
    assert.match(statement.fingerprint ?? "", /^[0-9a-f]+$/);
    assert.doesNotMatch(statement.redacted, /Account 7/);
    assert.equal(statement.parameters, 1);
    await assert.rejects(checked.check(call, { tool: "query", sql: "DELETE FROM app.accounts" }), (e: ToolError) => e.code === "DENIED");
    const raw = await unchecked.check(call, { tool: "query", sql });
    assert.deepEqual([raw.fingerprint, raw.redacted, raw.parameters], [null, `[not parsed: ${sql.length} chars]`, 0]);
  });

  test("execute: names resolved and scoped in the statement's own transaction; rows and bytes capped", async () => {
    const cs = identity("cs-usage-drop");
    const call = callOf(cs);
    const outOfScope = await checked.check(call, { tool: "query", sql: "SELECT id FROM app.users" });
    await assert.rejects(
      checked.execute(call, outOfScope, [], { maxRows: 10, maxBytes: 10_000 }),
      (e: ToolError) => e.code === "DENIED" && /not in this workflow's scope/.test(e.message),
    );
    const big = await checked.check(call, { tool: "query", sql: "SELECT n FROM analytics.big" });
    const rows = await checked.execute(callOf(cs), big, [], { maxRows: 5, maxBytes: 1_000_000 });
    assert.deepEqual([rows.rows.values(), rows.truncated, rows.columns], [[[1], [2], [3], [4], [5]], true, [{ name: "n", type: "integer" }]]);
    const bytes = await checked.execute(callOf(cs), big, [], { maxRows: 1_000, maxBytes: 100 });
    assert.ok(bytes.truncated && bytes.bytes <= 100 && bytes.rows.length > 0 && bytes.rows.length < 1_000, JSON.stringify(bytes.bytes));
    const bound = await checked.check(call, { tool: "query", sql: "SELECT name FROM app.accounts WHERE id = $1" });
    assert.deepEqual((await checked.execute(callOf(cs), bound, [7], { maxRows: 10, maxBytes: 10_000 })).rows.values(), [["Account 7"]]);
  });

  test("explain: the plan as text, generic when the statement has parameters", async () => {
    const cs = identity("cs-usage-drop");
    const statement = await checked.check(callOf(cs), { tool: "explain", sql: "SELECT name FROM app.accounts WHERE id = $1" });
    const plan = await checked.explain(callOf(cs), statement, { maxRows: 100, maxBytes: 100_000 });
    assert.match(plan, /Scan/);
    assert.match(plan, /\$1/);
  });

  test("cancel stops the request's running statement and the connection is not reused", async () => {
    const cs = identity("cs-usage-drop");
    const call = callOf(cs, { timeoutMs: 120_000 });
    const sleep = await unchecked.check(call, { tool: "query", sql: "SELECT pg_sleep(60)" });
    const running = unchecked.execute(call, sleep, [], { maxRows: 1, maxBytes: 1_000 });
    const outcome = running.then(
      () => "finished",
      (e: ToolError) => `${e.code}/${e.errorClass}`,
    );
    const admin = await fx.db.admin("dbwarden_demo");
    let pid: number | undefined;
    while (pid === undefined) {
      const res = await admin.query("SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1 AND query LIKE '%pg_sleep%' AND state = 'active'", [
        `%${call.requestId.slice(0, 20)}%`,
      ]);
      pid = res.rows[0]?.pid;
      if (pid === undefined) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await unchecked.cancel(call.requestId), true);
    assert.equal(await outcome, "TIMEOUT/cancelled");
    assert.equal(await unchecked.cancel(call.requestId), false, "nothing runs for it any more");
    assert.equal(await unchecked.cancel(randomUUID()), false);
    for (let left = true; left;) {
      left = (await admin.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid])).rows.length > 0;
      if (left) await new Promise((r) => setTimeout(r, 20));
    }
    const again = await unchecked.check(call, { tool: "query", sql: "SELECT 1 AS one" });
    assert.deepEqual((await unchecked.execute(callOf(cs), again, [], { maxRows: 1, maxBytes: 1_000 })).rows.values(), [[1]]);
  });
});

describe("the dispatcher and tools take every dialect word from the engine", { timeout: 60_000 }, () => {
  /** An engine of another dialect, in process: `?` parameters, its own words, one fixed row. */
  function fakeEngine(): Engine & { executed: string[] } {
    const text: EngineText = {
      statement: "one FakeSQL query, ?-style params",
      query: "Run one FakeSQL query.",
      querySql: "One FakeSQL query.",
      queryParams: "Values for ?, ?, ...",
      explain: "The FakeSQL plan.",
      explainSql: "One FakeSQL query.",
      param: (n) => `?${n}`,
    };
    const executed: string[] = [];
    return {
      name: "bigquery",
      text,
      executed,
      setRuntime: async () => {},
      endpoint: () => "fake",
      ready: async () => {},
      describe: async (_call, table) => {
        if (table.table === "tickets") throw new ToolError("DENIED", "DENIED: the engine refused to describe it.");
        return { comment: null, columns: [{ name: "id", type: "INT64", comment: null }] };
      },
      check: async (_call, request): Promise<CheckedStatement> => ({
        fingerprint: "f00d",
        redacted: request.sql.slice(0, 20),
        parameters: (request.sql.match(/\?/g) ?? []).length,
      }),
      execute: async (_call, statement) => {
        executed.push(statement.redacted);
        return { columns: [{ name: "id", type: "INT64" }], rows: JsonRows.from(["[1]"]), truncated: false, bytes: 3 };
      },
      explain: async () => "FAKE PLAN",
      cancel: async () => false,
      close: async () => {},
    };
  }

  test("a query through another engine: its checks, its parameter words, its rows, the same audit line", async () => {
    const engine = fakeEngine();
    const records: AuditRecord[] = [];
    const engines = await openEngines([{ engine: "bigquery", factory: async () => engine, targets: fx.plan.targets }], {
      plan: fx.plan,
      runtime,
      credentials: noCredentials,
      check: true,
    });
    const dispatcher = new Dispatcher(fx.plan, engines, { write: async (r) => void records.push(r), close: async () => {} });
    const cs = identity("cs-usage-drop");
    const missing = await dispatcher.call(cs, "query", { sql: "SELECT ? AS x" }, "stdio");
    assert.deepEqual(missing.content[0]!.text, "INVALID: the statement uses ?1 but 0 param(s) were given.");
    const badParams = await dispatcher.call(cs, "query", { sql: "SELECT 1", params: "x" }, "stdio");
    assert.match(badParams.content[0]!.text, /\(\?1, \?2, \.\.\.\)/);
    const ok = await dispatcher.call(cs, "query", { sql: "SELECT ? AS x", params: [1] }, "stdio");
    assert.deepEqual(JSON.parse(ok.content[0]!.text).rows, [[1]]);
    assert.deepEqual(engine.executed, ["SELECT ? AS x"]);
    const line = records.at(-1)!;
    assert.deepEqual([line.verdict, line.fingerprint, line.statement, line.rows, line.bytes], ["allowed", "f00d", "SELECT ? AS x", 1, 3]);

    const mcp = createMcpServer(dispatcher, cs, "stdio");
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await mcp.connect(serverSide);
    const client = new Client({ name: "engine-test", version: "0.0.0" });
    await client.connect(clientSide);
    try {
      assert.match(client.getInstructions() ?? "", /then query \(one FakeSQL query, \?-style params\)\./);
      assert.doesNotMatch(client.getInstructions() ?? "", /PostgreSQL/);
      const { tools } = await client.listTools();
      const query = tools.find((t) => t.name === "query")!;
      assert.equal(query.description, "Run one FakeSQL query. Returns columns, rows, rowCount and truncated.");
      assert.equal((query.inputSchema.properties as Record<string, { description?: string }>).params!.description, "Values for ?, ?, ...");
      assert.equal(tools.find((t) => t.name === "explain")!.description, "The FakeSQL plan.");
      const described = await client.callTool({ name: "describe_table", arguments: { table: "app.accounts" } });
      const columns = JSON.parse((described.content as Array<{ text: string }>)[0]!.text).columns;
      assert.deepEqual(
        columns.map((c: { name: string; type: string }) => [c.name, c.type]),
        [["id", "INT64"]],
      );
      // A refusal reads its code once, however the engine worded it (issue 18: "DENIED: DENIED: ...").
      const refused = await client.callTool({ name: "describe_table", arguments: { table: "support.tickets" } });
      assert.equal((refused.content as Array<{ text: string }>)[0]!.text, "DENIED: the engine refused to describe it.");
      const outOfScope = await client.callTool({ name: "describe_table", arguments: { table: "app.secrets" } });
      assert.match((outOfScope.content as Array<{ text: string }>)[0]!.text, /^DENIED: table "app\.secrets" is not in this workflow's scope/);
    } finally {
      await client.close();
      await dispatcher.close();
    }
  });
});
