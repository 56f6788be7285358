/**
 * The database log, joined, against a real PostgreSQL 15 with pgaudit (Debian's packages; `npm
 * test` installs them when missing). The local stack runs on it with `logging.statements: pgaudit`
 * (`dbwarden up --url`): the reconciler gives every agent login pgaudit's settings, nothing is set
 * server-wide. Then:
 * - every MCP audit line of a call that reached the database joins its pgaudit lines by request id,
 *   a statement failing at planning through its ERROR line, and a client name too long for
 *   application_name still keys both;
 * - `dbwarden audit --request` tells one request's story; `--reconcile` finds nothing to report on
 *   the server's own trails, then a statement run directly with an agent login's password (exit 5).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import pg from "pg";
import { FileLogSource } from "../../src/audit/sources.ts";
import { loadTrails, type LoadedTrails } from "../../src/audit/trails.ts";
import { requestStory } from "../../src/audit/join.ts";
import { LocalSecretStore } from "../../src/local/secrets.ts";
import { startLocalStack, type RunningLocalStack } from "../../src/local/stack.ts";
import { requestTagOf, MAX_APPLICATION_NAME_BYTES } from "../../src/plan/types.ts";
import { detectDrift } from "../../src/postgres/drift.ts";
import { PGAUDIT_SETTINGS } from "../../src/postgres/model.ts";
import { runCli } from "../support/cli.ts";
import { startPgauditCluster, type PgauditCluster } from "../support/pgaudit.ts";
import { mcpClient, tempProject, textOf } from "../local/support.ts";

const LONG_CLIENT = "claude-customer-success-weekly";
const NOW = new Date("2026-11-21T00:00:00Z");

let cluster: PgauditCluster;
let root: string;
let stack: RunningLocalStack;

/** A project whose local target audits with pgaudit and whose cs-usage-drop workflow has a client with a long name. */
function pgauditProject(): string {
  const dir = tempProject("dbwarden-pgaudit-");
  const env = join(dir, "stacks/environments/local.yaml");
  writeFileSync(env, readFileSync(env, "utf8").replace("statements: log-statement", "statements: pgaudit"));
  appendFileSync(join(dir, "stacks/workflows/cs-usage-drop.yaml"), `  - name: ${LONG_CLIENT}\n    auth: api-key\n`);
  return dir;
}

before(async () => {
  cluster = await startPgauditCluster();
  root = pgauditProject();
  stack = await startLocalStack({ root, url: cluster.url(), now: NOW, clock: () => new Date(), progress: () => {}, mcpPort: 0, demo: true });
});

after(async () => {
  await stack?.stop();
  await cluster?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

const logins = () => stack.plan.workflows.flatMap((w) => w.clients.map((c) => c.loginRole));

async function loginSettings(): Promise<Map<string, Record<string, string>>> {
  const admin = await cluster.admin();
  const rows = (
    await admin.query<{ role: string; config: string[] }>(
      "SELECT r.rolname AS role, s.setconfig AS config FROM pg_catalog.pg_db_role_setting " +
        "s JOIN pg_catalog.pg_roles r ON r.oid = s.setrole WHERE s.setdatabase = 0",
    )
  ).rows;
  return new Map(rows.map((r) => [r.role, Object.fromEntries(r.config.map((c) => [c.slice(0, c.indexOf("=")), c.slice(c.indexOf("=") + 1)]))]));
}

describe("logging.statements: pgaudit on a PostgreSQL that preloads it", () => {
  it("`up` gives every agent login pgaudit's settings through the model; drift owns them, a reload puts back what a hand removed", async () => {
    const settings = await loginSettings();
    for (const login of logins()) {
      for (const [name, value] of Object.entries(PGAUDIT_SETTINGS)) assert.equal(settings.get(login)?.[name], value, `${login} ${name}`);
    }
    const admin = await cluster.admin("dbwarden_demo");
    assert.equal((await detectDrift(admin, stack.plan, { target: "app" })).drift, false);
    const login = logins()[0]!;
    await admin.query(`ALTER ROLE "${login}" RESET "pgaudit"."log"`);
    const drift = await detectDrift(admin, stack.plan, { target: "app" });
    assert.equal(drift.drift, true);
    assert.ok(
      drift.differences.some((d) => d.role === login && /pgaudit\.log = read,function/.test(d.message)),
      JSON.stringify(drift.differences.map((d) => d.message)),
    );
    const reload = await stack.reload(() => {});
    assert.equal(reload.ok, true, reload.error);
    assert.equal((await loginSettings()).get(login)?.["pgaudit.log"], "read,function", "the reconciler sets it again");
    assert.equal((await detectDrift(admin, stack.plan, { target: "app" })).drift, false);
  });
});

/** Calls of the MCP clients, by what they are for, with their request ids from the audit file. */
interface Calls {
  listTables: string;
  describe: string;
  query: string;
  explain: string;
  failsAtPlanning: string;
  refusedByParser: string;
  longClient: string;
}

async function callTool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<string> {
  const result = await client.callTool({ name, arguments: args });
  return textOf(result);
}

/** The request id of the newest audit line (each call's line is written before its answer). */
function lastRequestId(): string {
  const lines = readFileSync(stack.paths.auditFile, "utf8").trim().split("\n");
  return (JSON.parse(lines.at(-1)!) as { requestId: string }).requestId;
}

async function makeCalls(): Promise<Calls> {
  const cs = await mcpClient(root, "claude-cs");
  const long = await mcpClient(root, LONG_CLIENT);
  try {
    const step = async (client: Client, name: string, args: Record<string, unknown> = {}) => {
      await callTool(client, name, args);
      return lastRequestId();
    };
    const calls: Calls = {
      listTables: await step(cs, "list_tables"),
      describe: await step(cs, "describe_table", { table: "app.accounts" }),
      query: await step(cs, "query", { sql: "SELECT a.plan, count(*) FROM app.accounts a JOIN support.tickets t ON t.account_id = a.id GROUP BY a.plan" }),
      explain: await step(cs, "explain", { sql: "SELECT id FROM app.accounts" }),
      failsAtPlanning: await step(cs, "query", { sql: "SELECT 1/0" }),
      refusedByParser: await step(cs, "query", { sql: "DROP TABLE app.accounts" }),
      longClient: await step(long, "query", { sql: "SELECT count(*) FROM app.accounts" }),
    };
    // The readiness probe runs with a login too: the server's own housekeeping.
    assert.equal((await fetch(stack.connection.mcpUrl.replace(/\/mcp$/, "/readyz"))).status, 200);
    return calls;
  } finally {
    await cs.close();
    await long.close();
  }
}

describe("the MCP audit trail joined with the pgaudit log by request id", () => {
  let calls: Calls;
  let trails: LoadedTrails;

  before(async () => {
    calls = await makeCalls();
    await cluster.waitForLog((l) => String(l.message ?? "").includes(calls.longClient), "the last call's statement");
    trails = await loadTrails({ mcp: new FileLogSource(stack.paths.auditFile), databases: [new FileLogSource(cluster.jsonLog)] });
  });

  const story = (requestId: string) => requestStory(requestId, trails.calls, trails.statements);
  const commented = (requestId: string) => (text: string) => text.startsWith(`/* dbwarden request=${requestId} `);

  it("every call that reached the database has its pgaudit lines, each keyed by the request id", () => {
    for (const requestId of [calls.describe, calls.query, calls.explain, calls.longClient]) {
      const { call, statements } = story(requestId);
      assert.ok(call, `${requestId}: its MCP line`);
      assert.ok(statements.length > 0, `${call.tool} ${requestId}: its database lines`);
      const login = stack.plan.workflows.find((w) => w.name === call.workflow)!.clients.find((c) => c.name === call.client)!.loginRole;
      assert.deepEqual(
        statements.map((s) => [s.tag?.requestId, s.user]),
        statements.map(() => [requestId, login]),
        "keyed by it, run by the client's own login",
      );
    }
    // Besides the guard and the name resolution, the statement itself:
    const query = story(calls.query).statements.find((s) => commented(calls.query)(s.text) && s.text.includes("JOIN support.tickets"))!;
    assert.equal(query.kind, "audit");
    assert.equal(query.command, "SELECT");
    assert.deepEqual(query.relations, ["app.accounts", "support.tickets"], "one AUDIT line per relation read, joined into one statement");
    assert.equal(query.user, "dbw_cs_usage_drop__claude_cs");
    assert.ok(story(calls.explain).statements.some((s) => commented(calls.explain)(s.text) && s.text.includes("EXPLAIN")));
  });

  it("a statement failing at planning (SELECT 1/0) has no AUDIT line of its own, and joins through its ERROR line", () => {
    const { call, statements } = story(calls.failsAtPlanning);
    assert.equal(call?.errorClass, "22012");
    const own = statements.filter((s) => commented(calls.failsAtPlanning)(s.text));
    assert.deepEqual(
      own.map((s) => [s.kind, s.error?.sqlstate]),
      [["error", "22012"]],
    );
  });

  it("calls that never reach the database have no database line: list_tables, a statement the parser refuses", () => {
    assert.equal(story(calls.listTables).call?.tool, "list_tables");
    assert.deepEqual(story(calls.listTables).statements, []);
    assert.equal(story(calls.refusedByParser).call?.verdict, "refused");
    assert.deepEqual(story(calls.refusedByParser).statements, []);
  });

  it("a client name too long for application_name: the comment keeps it whole, application_name keeps the whole request id", () => {
    const lines = cluster.logLines().filter((l) => String(l.application_name ?? "").includes(calls.longClient));
    assert.ok(lines.length > 0);
    for (const l of lines) {
      const application = String(l.application_name);
      assert.ok(Buffer.byteLength(application) <= MAX_APPLICATION_NAME_BYTES, application);
      assert.equal(requestTagOf(application)?.requestId, calls.longClient);
      assert.ok(LONG_CLIENT.startsWith(requestTagOf(application)!.client), "the client name is what is cut");
    }
    const statement = story(calls.longClient).statements.find((s) => commented(calls.longClient)(s.text))!;
    assert.deepEqual(requestTagOf(statement.text), { requestId: calls.longClient, client: LONG_CLIENT });
  });

  it("`dbwarden audit --request` tells the story: the MCP line and the database's, with where each is", async () => {
    const args = ["audit", "--request", calls.query, "--mcp-log", stack.paths.auditFile, "--db-log", cluster.jsonLog];
    const text = await runCli(root, NOW, ...args);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^request ${calls.query}\\nMCP  \\S+  cs-usage-drop/claude-cs \\(api-key:claude-cs, http\\)  query: allowed, 4 rows`));
    assert.match(
      text.stdout,
      /DB {3}\S+ \S+ UTC {2}dbw_cs_usage_drop__claude_cs@dbwarden_demo from 127\.0\.0\.1, session \S+ {2}AUDIT SELECT app\.accounts, support\.tickets/,
    );
    assert.match(text.stdout, /at \S+postgresql\.json:\d+, \S+postgresql\.json:\d+/);
    const json = await runCli(root, NOW, ...args, "--json");
    const parsed = JSON.parse(json.stdout) as { mcp: { requestId: string }; database: Array<{ requestId: string; kind: string }> };
    assert.equal(parsed.mcp.requestId, calls.query);
    assert.ok(parsed.database.length >= 2 && parsed.database.every((d) => d.requestId === calls.query));
    const unknown = await runCli(root, NOW, "audit", "--request", randomUUID(), "--mcp-log", stack.paths.auditFile, "--db-log", cluster.jsonLog);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /is in neither trail/);
  });
});

describe("dbwarden audit --reconcile", () => {
  const reconcile = (...extra: string[]) => runCli(root, NOW, "audit", "--reconcile", "--db-log", cluster.jsonLog, ...extra);

  it("the server's own trails reconcile: every agent statement joined or housekeeping, exit 0", async () => {
    const r = await reconcile("--json");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; joined: number; housekeeping: number; outsideServer: unknown[]; notInDatabaseLog: unknown[] };
    assert.equal(report.ok, true);
    assert.ok(report.joined > 0 && report.housekeeping > 0, JSON.stringify(report));
    assert.deepEqual(report.outsideServer, []);
    assert.deepEqual(report.notInDatabaseLog, [], "every call that ran statements is in the database log");
  });

  it("a statement run directly with an agent login's password is credentials used outside the server: exit 5, in words and JSON", async () => {
    // A client the server has no connection of (each login's connection limit is the servers' pool size).
    const workflow = stack.plan.workflows.find((w) => w.name === "cs-usage-drop")!;
    const client = workflow.clients.find((c) => c.name === "n8n-cs-digest")!;
    const password = new LocalSecretStore(stack.paths.secretsDir).read(client.secretName)!.dbPassword;
    const direct = new pg.Client({
      host: cluster.host,
      port: cluster.port,
      user: client.loginRole,
      password,
      database: "dbwarden_demo",
      application_name: "psql",
    });
    await direct.connect();
    const marker = randomUUID();
    const forged = randomUUID();
    try {
      await direct.query(`SELECT name, '${marker}' AS marker FROM app.accounts LIMIT 1`);
      // A forged tag for a request the server never had.
      await direct.query(`/* dbwarden request=${forged} client=n8n-cs-digest */ SELECT id FROM app.accounts LIMIT 1`);
    } finally {
      await direct.end();
    }
    await cluster.waitForLog((l) => String(l.message ?? "").includes(forged), "the direct statements");
    const r = await reconcile("--json");
    assert.equal(r.code, 5, r.stderr);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      outsideServer: Array<{ reason: string; login: string; workflow: string; client: string; statement: string; remoteHost: string; where: string[] }>;
    };
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.outsideServer.map((o) => [o.reason, o.login, o.workflow, o.client, o.remoteHost]),
      [
        ["no-request-tag", client.loginRole, "cs-usage-drop", "n8n-cs-digest", "127.0.0.1"],
        ["unknown-request", client.loginRole, "cs-usage-drop", "n8n-cs-digest", "127.0.0.1"],
      ],
    );
    assert.equal(report.outsideServer[0]!.statement, "SELECT name, '…' AS marker FROM app.accounts LIMIT 1", "literals are not printed");
    assert.ok(!r.stdout.includes(marker) && !r.stdout.includes(password));
    assert.match(report.outsideServer[0]!.where[0]!, /postgresql\.json:\d+$/);
    const text = await reconcile();
    assert.equal(text.code, 5);
    assert.match(text.stdout, /CREDENTIALS USED OUTSIDE THE MCP SERVER: 2 statement\(s\) by agent logins/);
    assert.match(text.stdout, /- dbw_cs_usage_drop__n8n_cs_digest \(workflow cs-usage-drop, client n8n-cs-digest\): it carries no dbwarden request tag/);
  });
});
