/**
 * `dbwarden audit` without a database: the request tags the server writes and the join reads (one
 * definition, in the contract), the database log in RDS's stderr format (what RDS exports to
 * CloudWatch), the reconciliation's rules, and the command on a stack whose MCP server runs on AWS,
 * its trails read from CloudWatch Logs through a fake that pages and filters as the service does;
 * the real SDK client up to the network call. The same join against a real pgaudit cluster:
 * ./pgaudit.test.ts.
 */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { Command } from "commander";
import type { AuditRecord } from "../../mcp-server/src/audit.ts";
import type { ToolName } from "../../mcp-server/src/dispatcher.ts";
import { awsLogGroups, awsLogsClient, CloudWatchLogSource } from "../../src/audit/cloudwatch.ts";
import { csvFields, databaseStatements, logSpan, parseLogEntries } from "../../src/audit/databaseLog.ts";
import { agentLogins, reconcileTrails, requestStory } from "../../src/audit/join.ts";
import { redactLiterals } from "../../src/audit/report.ts";
import { readLines, type SourceLine } from "../../src/audit/sources.ts";
import { parseTrail } from "../../src/audit/trail.ts";
import { registerAudit } from "../../src/cli/commands/audit.ts";
import { CliError, EXIT } from "../../src/cli/errors.ts";
import {
  DATABASE_TOOLS,
  isServerHousekeeping,
  MAX_APPLICATION_NAME_BYTES,
  READINESS_STATEMENT,
  requestApplicationName,
  requestComment,
  requestTagOf,
  rotationCloneName,
  SESSION_RESET,
  type McpAuditLine,
} from "../../src/plan/types.ts";
import { AS_OF, ROOT, examplePlan } from "../components/support/plans.ts";
import { recordingIO } from "../support/cli.ts";
import { FakeCloudWatchLogs } from "./support/fakeCloudWatchLogs.ts";

const ID = "0b6f2a4e-9c1d-4e8b-a7f3-2d5c8e1f4a90";
const OTHER_ID = "7d2e9f10-3a4b-4c5d-8e6f-9a0b1c2d3e4f";

describe("the request tags (the contract's, written by the server, read by dbwarden audit)", () => {
  it("the comment carries request and client whole; application_name puts the request first and is cut at 63 bytes", () => {
    assert.equal(requestComment(ID, "claude-cs"), `/* dbwarden request=${ID} client=claude-cs */ `);
    const long = "claude-customer-success-weekly-digest";
    const application = requestApplicationName(ID, long);
    assert.equal(Buffer.byteLength(application), MAX_APPLICATION_NAME_BYTES);
    assert.ok(application.startsWith(`dbwarden/${ID}/claude-customer`));
    assert.deepEqual(requestTagOf(application), { requestId: ID, client: application.split("/")[2] });
    assert.deepEqual(requestTagOf(`${requestComment(ID, long)}SELECT 1`), { requestId: ID, client: long });
    assert.equal(requestApplicationName(ID, "cs"), `dbwarden/${ID}/cs`);
  });

  it("a client name cannot end the comment or a literal; a statement or guard is read back, anything else is untagged", () => {
    const hostile = "x */ DROP TABLE t; --'";
    const comment = requestComment(ID, hostile);
    assert.equal(comment.indexOf("*/"), comment.length - 3, "the only end of the comment is its own");
    assert.ok(!requestApplicationName(ID, hostile).includes("'"));
    const guard =
      `SELECT 1 OPERATOR(pg_catalog./) (CASE WHEN pg_catalog.current_setting('application_name') ` +
      `OPERATOR(pg_catalog.=) '${requestApplicationName(ID, "claude-cs")}' THEN 1 ELSE 0 END) AS guard`;
    assert.equal(requestTagOf(guard)?.requestId, ID);
    assert.equal(requestTagOf("SELECT name FROM app.accounts"), null);
    assert.equal(requestTagOf("/* dbwarden request= client=x */ SELECT 1"), null);
  });

  it("the server's housekeeping is known by its exact text only", () => {
    for (const text of [READINESS_STATEMENT, SESSION_RESET, `${SESSION_RESET};`, "SELECT pg_catalog.pg_advisory_unlock_all();"])
      assert.ok(isServerHousekeeping(text), text);
    for (const text of ["SELECT 2", "SELECT 1; SELECT name FROM app.accounts", "select 1 from app.accounts"]) assert.ok(!isServerHousekeeping(text), text);
  });

  it("the server's audit record carries every field the readers rely on; the database tools are server tools", () => {
    const record = {} as AuditRecord;
    const line: McpAuditLine = record; // a type check: fails to compile when the server drops or retypes a field
    const tools: readonly ToolName[] = DATABASE_TOOLS;
    assert.ok(line === record && tools.length === 3);
  });
});

/** Amazon RDS's log_line_prefix `%t:%r:%u@%d:[%p]:`. */
const rds = (time: string, user: string, pid: number, rest: string, host = "10.0.1.25(53412)") => `2026-01-15 ${time} UTC:${host}:${user}@app:[${pid}]:${rest}`;
const LOGIN = "dbw_cs_usage_drop__claude_cs";

/** An RDS postgresql log as exported: the server's calls, its housekeeping, and a session outside it. */
function rdsLog(): string[] {
  return [
    rds("10:00:00", "rdsadmin", 100, "LOG:  checkpoint starting: time", "[local]"),
    rds("10:00:01", LOGIN, 2001, `LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,${READINESS_STATEMENT},<not logged>`),
    rds(
      "10:00:02",
      LOGIN,
      2002,
      `LOG:  AUDIT: SESSION,3,1,READ,SELECT,TABLE,app.accounts,"${requestComment(ID, "claude-cs")}SELECT a.plan, count(*) FROM app.accounts a`,
    ),
    '\tJOIN support.tickets t ON t.account_id = a.id GROUP BY 1",<not logged>',
    rds("10:00:02", LOGIN, 2002, "LOG:  AUDIT: SESSION,3,1,READ,SELECT,TABLE,support.tickets,<previously logged>,<previously logged>"),
    rds("10:00:02", LOGIN, 2002, `LOG:  AUDIT: SESSION,4,1,READ,SELECT,,,${SESSION_RESET},<not logged>`),
    rds("10:00:03", rotationCloneName(LOGIN), 2003, "ERROR:  division by zero"),
    rds("10:00:03", rotationCloneName(LOGIN), 2003, `STATEMENT:  ${requestComment(OTHER_ID, "claude-cs")}SELECT 1/0`),
    rds(
      "10:05:00",
      LOGIN,
      3001,
      "LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,app.accounts,\"SELECT name, billing_email FROM app.accounts WHERE region = 'eu'\",<not logged>",
      "2001:db8::7(40022)",
    ),
    rds("10:05:01", "app_owner", 3002, "LOG:  statement: UPDATE app.accounts SET plan = 'growth'"),
    "not a log line at all",
  ];
}

const lines = (texts: string[], name = "postgresql.log"): SourceLine[] => texts.map((text, i) => ({ text, where: `${name}:${i + 1}` }));

function call(requestId: string, overrides: Partial<McpAuditLine> = {}): McpAuditLine {
  return {
    time: "2026-01-15T10:00:02.000Z",
    requestId,
    transport: "http",
    client: "claude-cs",
    principal: "api-key:claude-cs",
    workflow: "cs-usage-drop",
    tool: "query",
    fingerprint: "814a0e63ad0b6c2b",
    statement: "SELECT a.plan, count(*) FROM app.accounts a JOIN support.tickets t ON t.account_id = a.id GROUP BY $1",
    verdict: "allowed",
    code: null,
    rows: 4,
    durationMs: 12.5,
    errorClass: null,
    ...overrides,
  };
}

describe("the database log in RDS's stderr format", () => {
  const { entries, unreadable } = parseLogEntries(lines(rdsLog()));
  const statements = databaseStatements(entries);

  it("reads each entry's user, session and host (IPv6 too), a multi-line statement, an ERROR with its STATEMENT", () => {
    assert.equal(unreadable, 1);
    assert.deepEqual(
      statements.map((s) => [s.kind, s.user, s.session, s.remoteHost, s.tag?.requestId ?? null]),
      [
        ["audit", LOGIN, "2001", "10.0.1.25", null],
        ["audit", LOGIN, "2002", "10.0.1.25", ID],
        ["audit", LOGIN, "2002", "10.0.1.25", null],
        ["error", rotationCloneName(LOGIN), "2003", "10.0.1.25", OTHER_ID],
        ["audit", LOGIN, "3001", "2001:db8::7", null],
        ["logged", "app_owner", "3002", "10.0.1.25", null],
      ],
    );
    const join = statements[1]!;
    assert.equal(
      join.text,
      `${requestComment(ID, "claude-cs")}SELECT a.plan, count(*) FROM app.accounts a\nJOIN support.tickets t ON t.account_id = a.id GROUP BY 1`,
    );
    assert.deepEqual(join.relations, ["app.accounts", "support.tickets"]);
    assert.deepEqual(join.where, ["postgresql.log:3", "postgresql.log:5"]);
    assert.deepEqual(statements[3]!.error, { message: "division by zero", sqlstate: null });
    assert.deepEqual(logSpan(entries), { firstMs: Date.parse("2026-01-15T10:00:00Z"), lastMs: Date.parse("2026-01-15T10:05:01Z") });
  });

  it("pgaudit's CSV: quoted fields with commas and doubled quotes", () => {
    assert.deepEqual(csvFields('SESSION,1,1,READ,SELECT,TABLE,a.b,"SELECT ""x"", y FROM a.b",<not logged>'), [
      "SESSION",
      "1",
      "1",
      "READ",
      "SELECT",
      "TABLE",
      "a.b",
      'SELECT "x", y FROM a.b',
      "<not logged>",
    ]);
  });

  it("statements are shown with their literals replaced, the request's own key kept", () => {
    assert.equal(
      redactLiterals("SELECT name FROM t WHERE a = 'x''y' AND b = E'\\n' AND c = $$z$$ AND d = $q$w$q$"),
      "SELECT name FROM t WHERE a = '…' AND b = '…' AND c = '…' AND d = '…'",
    );
    assert.equal(redactLiterals(`x = '${requestApplicationName(ID, "cs")}'`), `x = 'dbwarden/${ID}/cs'`);
    assert.equal(redactLiterals("SELECT 'a'".padEnd(400, " x")).length, 300);
  });
});

describe("reconciling the two trails", () => {
  const prod = examplePlan("prod");
  const logins = agentLogins(prod);
  const { entries } = parseLogEntries(lines(rdsLog()));
  const statements = databaseStatements(entries);
  const trailCalls = [call(ID), call(OTHER_ID, { verdict: "failed", code: "DB_ERROR", errorClass: "22012", rows: null, statement: "SELECT $1/$2" })].map(
    (c, i) => ({
      ...c,
      where: `audit.log:${i + 1}`,
    }),
  );

  it("knows every agent login of the plan, rotation clones included", () => {
    const cs = logins.get(rotationCloneName(LOGIN));
    assert.deepEqual(cs, { login: rotationCloneName(LOGIN), workflow: "cs-usage-drop", client: "claude-cs", target: "app" });
    assert.equal(logins.get("app_owner"), undefined);
  });

  it("joins by request id, counts the housekeeping, reports a session outside the server and nothing of other roles", () => {
    const rec = reconcileTrails({ calls: trailCalls, statements, logins, logSpan: logSpan(entries) });
    assert.deepEqual([rec.calls, rec.agentStatements, rec.joined, rec.housekeeping], [2, 5, 2, 2]);
    assert.deepEqual(
      rec.outsideServer.map((o) => [o.reason, o.login.login, o.statement.remoteHost]),
      [["no-request-tag", LOGIN, "2001:db8::7"]],
    );
    assert.deepEqual(rec.notInDatabaseLog, []);
  });

  it("a request of another client, a request the trail lacks: outside the server too", () => {
    const otherClient = trailCalls.map((c) => (c.requestId === OTHER_ID ? { ...c, client: "n8n-cs-digest" } : c));
    const rec = reconcileTrails({ calls: otherClient.slice(1), statements, logins, logSpan: logSpan(entries) });
    assert.deepEqual(
      rec.outsideServer.map((o) => [o.reason, o.statement.tag?.requestId ?? null]),
      [
        ["unknown-request", ID],
        ["other-client", OTHER_ID],
        ["no-request-tag", null],
      ],
    );
  });

  it("a call that ran statements within the log's time but has no line there is listed; one outside its time is not", () => {
    const missing = { ...call("11111111-2222-4333-8444-555555555555", { time: "2026-01-15T10:01:00.000Z" }), where: "audit.log:3" };
    const before = { ...call("66666666-2222-4333-8444-555555555555", { time: "2026-01-15T09:00:00.000Z" }), where: "audit.log:4" };
    const listTables = { ...call("77777777-2222-4333-8444-555555555555", { tool: "list_tables" }), where: "audit.log:5" };
    const rec = reconcileTrails({ calls: [...trailCalls, missing, before, listTables], statements, logins, logSpan: logSpan(entries) });
    assert.deepEqual(
      rec.notInDatabaseLog.map((c) => c.requestId),
      [missing.requestId],
    );
  });
});

/** The trails of prod in the fake CloudWatch: awslogs' stream of the MCP container (stderr lines among them), RDS's export. */
function cloudWatchWithProdTrails(pageSize = 3): { logs: FakeCloudWatchLogs; groups: ReturnType<typeof awsLogGroups> } {
  const logs = new FakeCloudWatchLogs(pageSize);
  const groups = awsLogGroups(examplePlan("prod"));
  logs.createLogGroup(groups.mcp);
  const at = (iso: string) => Date.parse(iso);
  logs.put(groups.mcp, "mcp/mcp-server/0f1e2d3c", [
    { timestamp: at("2026-01-15T09:59:00Z"), message: "dbwarden-mcp listening on http://0.0.0.0:7300/mcp" },
    { timestamp: at("2026-01-15T10:00:02Z"), message: JSON.stringify(call(ID)) },
    {
      timestamp: at("2026-01-15T10:00:03Z"),
      message: JSON.stringify(call(OTHER_ID, { verdict: "failed", code: "DB_ERROR", errorClass: "22012", rows: null })),
    },
  ]);
  for (const { logGroup } of groups.databases) {
    logs.createLogGroup(logGroup);
    const instance = logGroup.split("/")[4]!;
    // One event per log entry, its continuation lines in it.
    const events: Array<{ timestamp: number; message: string }> = [];
    for (const line of rdsLog()) {
      if (line.startsWith("\t")) events.at(-1)!.message += `\n${line}`;
      else if (line.startsWith("2026")) events.push({ timestamp: Date.parse(`${line.slice(0, 19).replace(" ", "T")}Z`), message: line });
    }
    logs.put(logGroup, instance, events);
  }
  return { logs, groups };
}

/** `dbwarden audit ...` in this repository at AS_OF, its CloudWatch client the fake. */
async function audit(logs: FakeCloudWatchLogs, ...args: string[]) {
  const { io, written } = recordingIO(ROOT, AS_OF);
  const regions: string[] = [];
  const program = new Command("dbwarden").exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  registerAudit(program, io, (region) => {
    regions.push(region);
    return logs;
  });
  try {
    await program.parseAsync(["audit", ...args], { from: "user" });
    return { code: 0, regions, ...written() };
  } catch (error) {
    if (error instanceof CliError) return { code: error.exitCode, regions, stdout: written().stdout, stderr: written().stderr + error.message };
    throw error;
  }
}

describe("dbwarden audit on a stack whose MCP server runs on AWS: CloudWatch Logs", () => {
  it("reads the stack's log groups: the MCP audit group and each target's RDS postgresql log", () => {
    assert.deepEqual(awsLogGroups(examplePlan("prod")), {
      mcp: "/dbwarden/prod/mcp-audit",
      databases: [{ target: "app", logGroup: "/aws/rds/instance/dbwarden-prod-app/postgresql" }],
    });
  });

  it("pages through every event, past an empty first page, each line with its stream and event", async () => {
    const { logs, groups } = cloudWatchWithProdTrails(2);
    const read = await readLines(new CloudWatchLogSource(logs, groups.mcp));
    assert.equal(read.length, 3);
    assert.match(read[1]!.where, /^cloudwatch:\/dbwarden\/prod\/mcp-audit stream mcp\/mcp-server\/0f1e2d3c event \d+$/);
    assert.equal(logs.requests.length, 3, "an empty first page, then two pages of two and one");
    assert.equal(parseTrail(read).calls.length, 2);
  });

  it("--reconcile in the stack's region: exit 5 and the session outside the server, in JSON", async () => {
    const { logs } = cloudWatchWithProdTrails();
    const r = await audit(logs, "--stack", "prod", "--reconcile", "--json", "--since", "2026-01-15T09:00:00Z", "--until", "2026-01-15T11:00:00Z");
    assert.equal(r.code, EXIT.outsideServer, r.stderr);
    assert.deepEqual(r.regions, ["us-east-1"]);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      sources: unknown;
      joined: number;
      outsideServer: Array<{ reason: string; login: string; remoteHost: string; statement: string; where: string[] }>;
    };
    assert.deepEqual(report.sources, { mcp: "cloudwatch:/dbwarden/prod/mcp-audit", database: ["cloudwatch:/aws/rds/instance/dbwarden-prod-app/postgresql"] });
    assert.equal(report.joined, 2);
    assert.deepEqual(
      report.outsideServer.map((o) => [o.reason, o.login, o.remoteHost, o.statement]),
      [["no-request-tag", LOGIN, "2001:db8::7", "SELECT name, billing_email FROM app.accounts WHERE region = '…'"]],
    );
    assert.match(report.outsideServer[0]!.where[0]!, /^cloudwatch:\/aws\/rds\/instance\/dbwarden-prod-app\/postgresql stream dbwarden-prod-app event \d+$/);
    const window = logs.requests.filter((q) => q.nextToken === undefined);
    assert.deepEqual(
      window.map((q) => [q.logGroupName, q.startTime, q.endTime, q.filterPattern]),
      [
        ["/dbwarden/prod/mcp-audit", Date.parse("2026-01-15T09:00:00Z"), Date.parse("2026-01-15T11:00:00Z"), undefined],
        ["/aws/rds/instance/dbwarden-prod-app/postgresql", Date.parse("2026-01-15T09:00:00Z"), Date.parse("2026-01-15T11:00:00Z"), undefined],
      ],
    );
  });

  it("--request finds the request's events by its id, then reads the database logs around them whole, and tells its story", async () => {
    const { logs } = cloudWatchWithProdTrails();
    const r = await audit(logs, "--stack", "prod", "--request", ID);
    assert.equal(r.code, 0, r.stderr);
    const queries = logs.requests.filter((q) => q.nextToken === undefined).map((q) => [q.logGroupName, q.filterPattern, q.startTime, q.endTime]);
    assert.deepEqual(queries, [
      ["/dbwarden/prod/mcp-audit", `"${ID}"`, undefined, undefined],
      ["/aws/rds/instance/dbwarden-prod-app/postgresql", `"${ID}"`, undefined, undefined],
      // pgaudit's later lines of a statement, an ERROR before its STATEMENT, do not hold the id.
      ["/aws/rds/instance/dbwarden-prod-app/postgresql", undefined, Date.parse("2026-01-15T10:00:00Z"), Date.parse("2026-01-15T10:00:04.013Z")],
    ]);
    assert.match(r.stdout, new RegExp(`^request ${ID}\\nMCP  2026-01-15T10:00:02.000Z  cs-usage-drop/claude-cs`));
    assert.match(
      r.stdout,
      /DB {3}2026-01-15 10:00:02 UTC {2}dbw_cs_usage_drop__claude_cs@app from 10\.0\.1\.25, session 2002 {2}AUDIT SELECT app\.accounts, support\.tickets/,
    );
  });

  it("a missing log group is named in the error (exit 1); usage errors exit 2", async () => {
    const logs = new FakeCloudWatchLogs();
    const r = await audit(logs, "--stack", "prod", "--reconcile");
    assert.equal(r.code, EXIT.invalidInput);
    assert.match(r.stderr, /cannot read the audit trails: ResourceNotFoundException: The specified log group does not exist\./);
    assert.equal((await audit(logs, "--stack", "prod")).code, EXIT.usage, "neither --request nor --reconcile");
    assert.equal((await audit(logs, "--stack", "prod", "--reconcile", "--since", "yesterday")).code, EXIT.usage);
    const local = await audit(logs, "--stack", "local", "--reconcile");
    assert.equal(local.code, EXIT.usage);
    assert.match(local.stderr, /--db-log <file> is required for stack local \(its MCP server runs on local\)/);
  });
});

describe("the real CloudWatch Logs client, up to the network call", () => {
  it("sends FilterLogEvents, signed for the region, and follows the answer's nextToken", async () => {
    const requests: Array<{ target: string; body: Record<string, unknown>; host: string; authorization: string }> = [];
    const answers = [
      { events: [{ timestamp: 1, message: "a", logStreamName: "s", eventId: "e1", ingestionTime: 2 }], nextToken: "t1" },
      { events: [{ timestamp: 3, message: "b\nc", logStreamName: "s", eventId: "e2", ingestionTime: 4 }] },
    ];
    const client = awsLogsClient({
      region: "eu-west-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-a-real-secret-key" },
      requestHandler: {
        handle: async (request: { headers: Record<string, string>; body: string; hostname: string }) => {
          requests.push({
            target: request.headers["x-amz-target"]!,
            body: JSON.parse(request.body),
            host: request.hostname,
            authorization: request.headers.authorization ?? "",
          });
          return {
            response: {
              statusCode: 200,
              headers: { "content-type": "application/x-amz-json-1.1" },
              body: Readable.from([Buffer.from(JSON.stringify(answers.shift()))]),
            },
          };
        },
      } as never,
    });
    const read = await readLines(new CloudWatchLogSource(client, "/dbwarden/prod/mcp-audit", { since: new Date(1000), holding: ID }));
    assert.deepEqual(
      read.map((l) => l.text),
      ["a", "b", "c"],
    );
    assert.deepEqual(
      requests.map((r) => [r.target, r.body, r.host]),
      [
        [
          "Logs_20140328.FilterLogEvents",
          { logGroupName: "/dbwarden/prod/mcp-audit", startTime: 1000, filterPattern: `"${ID}"` },
          "logs.eu-west-1.amazonaws.com",
        ],
        [
          "Logs_20140328.FilterLogEvents",
          { logGroupName: "/dbwarden/prod/mcp-audit", startTime: 1000, filterPattern: `"${ID}"`, nextToken: "t1" },
          "logs.eu-west-1.amazonaws.com",
        ],
      ],
    );
    assert.ok(requests.every((r) => r.authorization.startsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")));
  });
});

describe("the story of one request", () => {
  it("has the MCP line and every database line of it, nothing else", () => {
    const { entries } = parseLogEntries(lines(rdsLog()));
    const story = requestStory(ID, [{ ...call(ID), where: "audit.log:1" }], databaseStatements(entries));
    assert.equal(story.call?.requestId, ID);
    assert.deepEqual(
      story.statements.map((s) => s.where[0]),
      ["postgresql.log:3"],
    );
  });
});
