/**
 * The Snowflake engine through the engine interface and the dispatcher, over a fake of its driver
 * that answers as snowflake-sdk does (test/support/snowflake-fake.ts): the engine's own parse
 * (scope, multi-statement, non-read statements), the rewrite to the granted object (the base table
 * or the workflow's secure view), the per-call query tag and timeout, row and byte caps with
 * `streamRows`' inclusive end, Snowflake's timeout and cancel, key-pair logins that survive a key
 * rotation, and the audit line.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { openClouds } from "../src/clouds/registry.ts";
import { parsePlan, parseRuntime, type AccessPlan, type RuntimeConfig } from "../src/config.ts";
import { credentialSources } from "../src/credentials.ts";
import { Dispatcher, type Identity } from "../src/dispatcher.ts";
import type { AuditRecord } from "../src/audit.ts";
import type { EngineCall } from "../src/engines/engine.ts";
import { openEngines, planEngines } from "../src/engines/registry.ts";
import { SnowflakeEngine, privateKeyOf, snowflakeEngineFactory } from "../src/engines/snowflake/index.ts";
import { analyzeSnowflakeSql, rewriteReferences, tokenize } from "../src/engines/snowflake/sqlcheck.ts";
import { workflowScope } from "../src/scope.ts";
import { FakeSnowflake } from "./support/snowflake-fake.ts";

const ORDERS = '"ANALYTICS"."SALES"."ORDERS"';
const VIEW = '"ANALYTICS"."DBWARDEN"."DBW_REVENUE__SALES__CUSTOMERS"';

function snowflakePlan(): AccessPlan {
  const limits = { statementTimeoutMs: 30_000, maxRows: 3, maxResultBytes: 1_000_000, callsPerMinute: 100, concurrentCalls: 4, maxBytesBilled: null };
  return parsePlan({
    apiVersion: "plan.dbwarden.dev/v4",
    kind: "AccessPlan",
    environment: "test",
    owner: "data",
    asOf: "2026-12-01",
    targets: [
      {
        name: "warehouse",
        platform: "snowflake",
        database: "ANALYTICS",
        network: { vpcId: null, subnetIds: [], allowedCidrs: ["198.51.100.7/32"], privateOnly: true, publicInternetJustification: null },
        credentials: { mode: "keypair", rotationDays: 30 },
        logging: { statements: "query-history", retentionDays: 90 },
        replica: { mode: "none" },
        sensitiveColumns: ["SALES.CUSTOMERS.EMAIL"],
        platformSettings: { platform: "snowflake", account: "myorg-prod", warehouse: "AGENTS_XS", adminSecret: null },
        publicPrivileges: { revoke: null },
      },
    ],
    workflows: [
      {
        name: "revenue",
        owner: "data",
        description: "revenue questions",
        target: "warehouse",
        expires: null,
        tables: [
          { schema: "SALES", table: "CUSTOMERS", description: null, rule: { access: "all-except", except: ["EMAIL"] }, columns: [], rowFilter: null },
          { schema: "SALES", table: "ORDERS", description: "one row per order", rule: { access: "all" }, columns: [], rowFilter: null },
        ],
        roles: { group: "dbw_revenue", logins: [{ client: "claude", role: "dbw_revenue__claude", secretName: "dbwarden/test/revenue/claude" }] },
        limits,
        clients: [
          {
            name: "claude",
            auth: "api-key",
            subject: null,
            group: null,
            sourceCidrs: [],
            loginRole: "dbw_revenue__claude",
            secretName: "dbwarden/test/revenue/claude",
            attributes: {},
          },
        ],
        reportingViews: [],
        governedSchema: null,
        tools: ["list_tables", "describe_table", "query", "explain"],
      },
    ],
    mcpServer: { image: null, port: 0, replicas: 1, allowedCidrs: [], hostnames: [], auditRetentionDays: 30, oidc: null, host: { platform: "local" } },
    notes: [],
  });
}

const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbwarden/test/revenue/claude-AbCdEf";

function keyPair(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
}

/** A fake account with the workflow's grants as the components make them, and a secret store holding the login's key. */
function world(plan = snowflakePlan()) {
  const fake = new FakeSnowflake();
  const first = keyPair();
  fake.users.set("DBW_REVENUE__CLAUDE", { keys: [first.publicKey, null] });
  fake.objects.set(ORDERS, {
    columns: [
      { name: "ID", type: "fixed" },
      { name: "AMOUNT", type: "real" },
    ],
    rows: Array.from({ length: 10 }, (_, i) => ({ ID: i + 1, AMOUNT: (i + 1) * 10 })),
  });
  fake.objects.set(VIEW, { columns: [{ name: "ID", type: "fixed" }], rows: [{ ID: 1 }] });
  fake.objects.set('"ANALYTICS"."SALES"."CUSTOMERS"', {
    columns: [
      { name: "ID", type: "fixed" },
      { name: "EMAIL", type: "text" },
    ],
    rows: [{ ID: 1, EMAIL: "a@example.com" }],
  });
  fake.objects.set('"ANALYTICS"."SALES"."SLOW"', { columns: [{ name: "ID", type: "fixed" }], rows: [], slow: true });
  fake.grants.set("DBW_REVENUE", new Set([ORDERS, VIEW]));
  /** The store's value; `fresh`: what a read past the cache finds (a rotation wrote it). */
  const secrets = { value: JSON.stringify({ privateKey: first.privateKey }), fresh: null as string | null, reads: [] as boolean[] };
  const credentials = credentialSources(
    openClouds({
      aws: {
        secrets: {
          getSecret: async (arn, options) => {
            assert.equal(arn, SECRET_ARN);
            secrets.reads.push(options.fresh === true);
            return options.fresh && secrets.fresh !== null ? secrets.fresh : secrets.value;
          },
        },
        rdsTokens: { getAuthToken: () => Promise.reject(new Error("no tokens here")) },
      },
    }),
  );
  const runtime: RuntimeConfig = parseRuntime(
    {
      listen: { host: "127.0.0.1", port: 0 },
      databases: { warehouse: { snowflakeAccount: { account: "myorg-prod", warehouse: "AGENTS_XS", database: "ANALYTICS" } } },
      logins: { dbw_revenue__claude: { awsSecretArn: SECRET_ARN } },
      apiKeys: [],
      audit: { stream: "stderr" },
    },
    plan,
  );
  const engine = new SnowflakeEngine({ plan, targets: plan.targets, runtime, credentials, check: true }, fake);
  const who: Identity = { workflow: plan.workflows[0]!, client: plan.workflows[0]!.clients[0]!, principal: "test" };
  const call = (overrides: Partial<EngineCall> = {}): EngineCall => ({
    identity: who,
    requestId: randomUUID(),
    scope: workflowScope(who.workflow.tables),
    timeoutMs: who.workflow.limits.statementTimeoutMs,
    ...overrides,
  });
  return { plan, fake, engine, who, call, secrets, credentials, runtime, first };
}

describe("the Snowflake engine's own parse", () => {
  const plan = snowflakePlan();
  const scope = workflowScope(plan.workflows[0]!.tables);
  const analyze = (sql: string) => analyzeSnowflakeSql(sql, scope, "ANALYTICS");
  const refused = (sql: string, code: string, message: RegExp) =>
    assert.throws(
      () => analyze(sql),
      (e: { code?: string; message: string }) => e.code === code && message.test(e.message),
      sql,
    );

  test("one statement per call: a `;` between statements is refused, one at the end or inside strings and comments is not", () => {
    refused("SELECT ID FROM SALES.ORDERS; SELECT ID FROM SALES.ORDERS", "INVALID", /one statement per call/);
    refused("SELECT 1; DROP TABLE SALES.ORDERS", "INVALID", /one statement per call/);
    assert.equal(analyze("SELECT ID FROM SALES.ORDERS WHERE AMOUNT > ';' -- ; \n;").references.length, 1);
    assert.equal(analyze("SELECT ID /* ; */ FROM SALES.ORDERS").references.length, 1);
  });

  test("only queries: writes, DDL, session changes, SHOW, CALL and stages are refused", () => {
    for (const sql of ["INSERT INTO SALES.ORDERS VALUES (1)", "CREATE TABLE X AS SELECT 1", "SHOW TABLES", "CALL SYSTEM$WAIT(1)", "USE ROLE ACCOUNTADMIN"]) {
      refused(sql, "DENIED", /only queries are allowed/);
    }
    refused("SELECT ID FROM SALES.ORDERS WHERE ID IN (SELECT 1) AND EXISTS (SELECT 1) UNION SELECT 1 INTO X", "DENIED", /INTO is not allowed/);
    refused("WITH X AS (SELECT 1) DELETE FROM SALES.ORDERS", "DENIED", /DELETE is not allowed/);
    refused("SELECT * FROM @my_stage", "DENIED", /stages/);
    refused("SELECT $1 FROM SALES.ORDERS", "DENIED", /`\$` references/);
    refused("SELECT * FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()))", "DENIED", /TABLE\(\.\.\.\): table functions are not allowed/);
    refused("SELECT * FROM IDENTIFIER('SALES.CUSTOMERS')", "DENIED", /IDENTIFIER\(\.\.\.\): table functions are not allowed/);
    refused("SELECT ID FROM SALES.ORDERS WHERE ID IN (SELECT ID FROM TABLE(RESULT_SCAN(LAST_QUERY_ID())))", "DENIED", /table functions are not allowed/);
    refused("SELECT SYSTEM$WHITELIST()", "DENIED", /SYSTEM\$WHITELIST/);
    refused("SELECT ID FROM SALES.ORDERS AT(OFFSET => -60)", "DENIED", /time travel/);
  });

  test("every table in scope: other tables, databases and ambiguous names are refused naming the scope", () => {
    refused("SELECT * FROM SALES.PAYMENTS", "DENIED", /SALES\.PAYMENTS is not in this workflow's scope; tables in scope: SALES\.CUSTOMERS, SALES\.ORDERS/);
    refused("SELECT * FROM OTHER.SALES.ORDERS", "DENIED", /only database ANALYTICS is readable/);
    refused("SELECT * FROM SALES.ORDERS o JOIN SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY q ON 1 = 1", "DENIED", /only database ANALYTICS/);
    refused('SELECT * FROM "sales"."orders"', "DENIED", /not in this workflow's scope/);
    const found = analyze("WITH RECENT AS (SELECT ID FROM ORDERS) SELECT r.ID FROM RECENT r, SALES.CUSTOMERS c WHERE r.ID = c.ID").references;
    assert.deepEqual(
      found.map((r) => `${r.table.schema}.${r.table.table}`),
      ["SALES.ORDERS", "SALES.CUSTOMERS"],
      "a CTE is not a table; an unqualified name is found in the scope",
    );
  });

  test("every column readable: an excluded column is refused wherever it is named; aliases and functions are not columns", () => {
    refused("SELECT EMAIL FROM SALES.CUSTOMERS", "DENIED", /column EMAIL is hidden/);
    refused("SELECT c.ID FROM SALES.CUSTOMERS c WHERE LOWER(c.EMAIL) LIKE '%x'", "DENIED", /column EMAIL is hidden/);
    refused('SELECT "EMAIL" FROM SALES.CUSTOMERS', "DENIED", /column EMAIL is hidden/);
    const ok = analyze("SELECT COUNT(*) AS N, DATE_TRUNC(MONTH, o.CREATED) AS M FROM SALES.ORDERS o GROUP BY M ORDER BY N DESC LIMIT 5");
    assert.equal(ok.references.length, 1, "ORDERS reads every column");
    assert.equal(analyze("SELECT ID FROM SALES.CUSTOMERS WHERE ID = :1 OR ID = :2").parameters, 2);
  });

  test("what runs names the granted object: the secure view for a table with hidden columns, the base table otherwise", () => {
    const sql = "SELECT c.ID, o.AMOUNT FROM SALES.CUSTOMERS c JOIN ORDERS ON ORDERS.ID = c.ID;";
    const rewritten = rewriteReferences(sql, analyze(sql), "ANALYTICS", "dbw_revenue");
    assert.equal(rewritten, `SELECT c.ID, o.AMOUNT FROM ${VIEW} c JOIN ${ORDERS} AS "ORDERS" ON ORDERS.ID = c.ID`);
  });

  test("the statement's shape for the audit line keeps no literal", () => {
    const a = analyze("SELECT ID FROM SALES.ORDERS WHERE AMOUNT > 1000 AND ID = 'secret'");
    const b = analyze("SELECT ID FROM SALES.ORDERS WHERE AMOUNT > 5 AND ID = 'other'");
    assert.equal(a.fingerprint, b.fingerprint);
    assert.doesNotMatch(a.redacted, /secret|1000/);
    assert.throws(() => tokenize("SELECT 'open"), /unterminated string/);
  });
});

describe("the Snowflake engine over its driver", () => {
  test("a query runs as the client's service user with its workflow's role, tagged and timed out per call, rows capped with an inclusive end", async () => {
    const { engine, fake, call } = world();
    const c = call();
    const checked = await engine.check(c, { tool: "query", sql: "SELECT ID, AMOUNT FROM SALES.ORDERS WHERE AMOUNT > :1" });
    const result = await engine.execute(c, checked, [0], { maxRows: 3, maxBytes: 1_000_000 });
    assert.deepEqual(result.rows.values(), [
      [1, 10],
      [2, 20],
      [3, 30],
    ]);
    assert.equal(result.truncated, true, "10 rows existed (getNumRows), 3 were returned");
    assert.deepEqual(fake.streamed, [{ start: 0, end: 2 }], "streamRows' end is inclusive: rows 0..maxRows-1");
    assert.deepEqual(fake.connects, [
      { username: "DBW_REVENUE__CLAUDE", role: "DBW_REVENUE", account: "myorg-prod", warehouse: "AGENTS_XS", database: "ANALYTICS" },
    ]);
    const sent = fake.executed.at(-1)!;
    assert.equal(sent.sqlText, `SELECT ID, AMOUNT FROM ${ORDERS} AS "ORDERS" WHERE AMOUNT > :1`);
    assert.deepEqual(sent.binds, [0]);
    assert.deepEqual(sent.parameters, { QUERY_TAG: `dbwarden client=claude workflow=revenue request=${c.requestId}`, STATEMENT_TIMEOUT_IN_SECONDS: 30 });
    const small = await engine.execute(c, checked, [0], { maxRows: 100, maxBytes: 20 });
    assert.equal(small.truncated, true, "bytes capped");
    assert.ok(small.bytes <= 20 && small.rows.values().length < 10);
    await engine.close();
  });

  test("a table with hidden columns is read through the secure view; Snowflake refuses the base table to the role", async () => {
    const w = world();
    const { engine, fake, call } = w;
    const c = call();
    const viaView = await engine.execute(c, await engine.check(c, { tool: "query", sql: "SELECT * FROM SALES.CUSTOMERS" }), [], { maxRows: 10, maxBytes: 1e6 });
    assert.deepEqual(viaView.columns, [{ name: "ID", type: "fixed" }], "the view has the readable columns only");
    const unchecked = new SnowflakeEngine({ ...engineOptions(w), check: false }, fake);
    const raw = await unchecked.check(c, { tool: "query", sql: 'SELECT * FROM "ANALYTICS"."SALES"."CUSTOMERS"' });
    await assert.rejects(unchecked.execute(c, raw, [], { maxRows: 10, maxBytes: 1e6 }), (e: { code: string; message: string }) => {
      assert.equal(e.code, "DENIED");
      assert.match(e.message, /does not exist or not authorized/);
      return true;
    });
    const described = await engine.describe(c, c.identity.workflow.tables[0]!);
    assert.deepEqual(
      described.columns.map((col) => col.name),
      ["ID"],
    );
    assert.deepEqual(fake.executed.find((e) => /INFORMATION_SCHEMA/.test(e.sqlText))!.binds, ["DBWARDEN", "DBW_REVENUE__SALES__CUSTOMERS"]);
    await engine.close();
  });

  test("Snowflake's statement timeout is a TIMEOUT; cancel cancels the running statement", async () => {
    const { engine, plan, call, fake } = world();
    fake.grants.get("DBW_REVENUE")!.add('"ANALYTICS"."SALES"."SLOW"');
    const slowPlan = structuredClone(plan);
    slowPlan.workflows[0]!.tables.push({ schema: "SALES", table: "SLOW", description: null, rule: { access: "all" }, columns: [], rowFilter: null });
    const scope = workflowScope(slowPlan.workflows[0]!.tables);
    const timed = call({ scope, timeoutMs: 1_000 });
    const statement = await engine.check(timed, { tool: "query", sql: "SELECT ID FROM SALES.SLOW" });
    await assert.rejects(engine.execute(timed, statement, [], { maxRows: 1, maxBytes: 100 }), (e: { code: string; errorClass: string }) => {
      assert.deepEqual([e.code, e.errorClass], ["TIMEOUT", "snowflake:000630"]);
      return true;
    });
    const cancelled = call({ scope });
    const running = engine.execute(cancelled, statement, [], { maxRows: 1, maxBytes: 100 });
    const outcome = assert.rejects(running, (e: { code: string; errorClass: string }) => e.errorClass === "snowflake:000604");
    while (!(await engine.cancel(cancelled.requestId))) await new Promise((r) => setImmediate(r));
    await outcome;
    assert.equal(await engine.cancel(cancelled.requestId), false, "nothing runs for it any more");
    await engine.close();
  });

  test("a key rotated under the server: the login with the cached old key fails, the secret is read past its cache, the call succeeds", async () => {
    const { engine, fake, call, secrets } = world();
    const second = keyPair();
    // The rotation job registered the new key, wrote it to the secret and removed the old one; the server's cache still has the old one.
    fake.users.set("DBW_REVENUE__CLAUDE", { keys: [null, second.publicKey] });
    secrets.fresh = JSON.stringify({ privateKey: second.privateKey });
    const c = call();
    const result = await engine.execute(c, await engine.check(c, { tool: "query", sql: "SELECT ID FROM SALES.ORDERS" }), [], { maxRows: 1, maxBytes: 1e6 });
    assert.equal(result.rows.values().length, 1);
    assert.deepEqual(secrets.reads, [false, true], "read once from the cache, once past it");
    await engine.close();
  });

  test("through the dispatcher: refusals and results are audited with the statement's shape, never its literals", async () => {
    const { plan, fake, credentials, runtime, who } = world();
    const engines = await openEngines(planEngines(plan, { postgres: null, snowflake: snowflakeEngineFactory(fake), bigquery: null }), {
      plan,
      runtime,
      credentials,
      check: true,
    });
    const records: AuditRecord[] = [];
    const dispatcher = new Dispatcher(plan, engines, { write: async (r) => void records.push(r), close: async () => {} });
    const denied = await dispatcher.call(who, "query", { sql: "SELECT EMAIL FROM SALES.CUSTOMERS WHERE ID = 'x-secret'" }, "stdio");
    assert.match(denied.content[0]!.text, /^DENIED: column EMAIL is hidden/);
    const ok = await dispatcher.call(who, "query", { sql: "SELECT ID FROM SALES.ORDERS WHERE ID > :1", params: [0] }, "stdio");
    assert.equal(JSON.parse(ok.content[0]!.text).rows.length, 3);
    assert.deepEqual(
      records.map((r) => r.verdict),
      ["refused", "allowed"],
    );
    assert.ok(records.every((r) => !JSON.stringify(r).includes("x-secret")));
    assert.equal(records[1]!.rows, 3);
    assert.equal(records[1]!.truncated, true);
    await dispatcher.close();
  });

  test("the login's secret: JSON with privateKey or the PEM itself; anything else is refused without quoting it", () => {
    const { privateKey } = keyPair();
    assert.equal(privateKeyOf(JSON.stringify({ privateKey })), privateKey);
    assert.equal(privateKeyOf(privateKey), privateKey.trim());
    assert.throws(
      () => privateKeyOf("hunter2"),
      (e: Error) => /no private key/.test(e.message) && !e.message.includes("hunter2"),
    );
  });
});

function engineOptions(w: ReturnType<typeof world>) {
  return { plan: w.plan, targets: w.plan.targets, runtime: w.runtime, credentials: w.credentials, check: true };
}

describe("loading the driver", () => {
  test("the engine module loads without snowflake-sdk; loading the driver puts nothing on stdout and drops the AWS SDK's node-version warning", () => {
    const engine = fileURLToPath(new URL("../src/engines/snowflake/driver.ts", import.meta.url));
    const script = `
      const before = Object.keys(await import("node:module")).length;
      const { withoutNodeVersionWarning } = await import(${JSON.stringify(engine)});
      await withoutNodeVersionWarning(async () => (await import("snowflake-sdk")).default.configure({ logLevel: "OFF", customLogger: { error() {}, warn() {}, info() {}, debug() {}, trace() {} } }));
      process.emitWarning("another warning still shows");
      void before;
    `;
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      cwd: fileURLToPath(new URL("..", import.meta.url)),
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "", "stdout is the MCP channel: nothing else may write to it");
    assert.doesNotMatch(run.stderr, /NodeVersionSupportWarning/);
    assert.match(run.stderr, /another warning still shows/, "other warnings are not swallowed");
  });
});
