/** Rules of the access plan, on the example stacks and on small specs built here. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildPlan, planStack, type AccessPlan } from "../../src/plan/index.ts";
import { groupRoleName, loginRoleName } from "../../src/plan/names.ts";
import { AccessPlanSchema, PLAN_API_VERSION } from "@dbwarden/contract";
import { loginConnectionLimit, loginSettings, workflowPrivileges } from "../../src/postgres/model.ts";
import { testEnvironment, testWorkflow } from "./support/specs.ts";

const root = new URL("../..", import.meta.url).pathname;
const now = new Date("2026-11-21T12:00:00Z");
const plans: AccessPlan[] = ["local", "dev", "prod"].map((s) => planStack(s, { root, now }));

test("every example plan is JSON data: no undefined, no secrets", () => {
  for (const plan of plans) {
    const text = JSON.stringify(plan);
    assert.deepEqual(JSON.parse(text), plan);
    assert.doesNotMatch(text, /"(password|apiKey|token|privateKey)"\s*:/i);
  }
});

test("every example plan parses with the contract's strict schema and carries its apiVersion", () => {
  for (const plan of plans) {
    assert.equal(plan.apiVersion, PLAN_API_VERSION);
    assert.deepEqual(AccessPlanSchema.parse(JSON.parse(JSON.stringify(plan))), plan);
  }
});

test("a table gets one SELECT privilege: table-level, a column list, or all-but, never two", () => {
  for (const plan of plans) {
    for (const w of plan.workflows) {
      const privileges = workflowPrivileges(w, plan.targets[0]!.database);
      const selects = privileges.filter((p) => p.privilege === "SELECT");
      const keys = selects.map((p) => ("table" in p ? `${p.schema}.${p.table}` : ""));
      assert.equal(new Set(keys).size, keys.length, `${plan.environment}/${w.name}`);
      assert.equal(privileges[0]!.privilege, "CONNECT");
    }
  }
  const plan = buildPlan(testEnvironment(), [testWorkflow()], now);
  assert.deepEqual(
    plan.workflows[0]!.tables.map((t) => [t.table, t.rule]),
    [
      ["t", { access: "only", columns: ["a", "b"] }],
      ["u", { access: "all" }],
      ["v", { access: "all-except", except: ["secret"] }],
    ],
  );
  assert.deepEqual(workflowPrivileges(plan.workflows[0]!, "demo"), [
    { privilege: "CONNECT", objectType: "database", database: "demo" },
    { privilege: "USAGE", objectType: "schema", database: "demo", schema: "s" },
    { privilege: "SELECT", objectType: "column", database: "demo", schema: "s", table: "t", columns: ["a", "b"] },
    { privilege: "SELECT", objectType: "table", database: "demo", schema: "s", table: "u" },
    { privilege: "SELECT", objectType: "column", database: "demo", schema: "s", table: "v", allColumnsExcept: ["secret"] },
  ]);
});

test("roles: one NOLOGIN group, one LOGIN per client, settings from limits", () => {
  const plan = buildPlan(
    testEnvironment(),
    [
      testWorkflow({
        limits: { statementTimeout: "2m", concurrentCalls: 3 },
        clients: [
          { name: "zed", auth: "api-key" },
          { name: "amy", auth: "api-key" },
        ],
      }),
    ],
    now,
  );
  const roles = plan.workflows[0]!.roles;
  assert.equal(roles.group, "dbw_w");
  assert.deepEqual(
    roles.logins.map((l) => [l.client, l.role, l.secretName]),
    [
      ["amy", "dbw_w__amy", "dbwarden/test/w/amy"],
      ["zed", "dbw_w__zed", "dbwarden/test/w/zed"],
    ],
  );
  assert.deepEqual(Object.keys(roles), ["group", "logins"]);
  // 3 pooled connections per server process, plus the one its /readyz check holds (issue 10: readiness has its own budget).
  assert.equal(loginConnectionLimit(plan, plan.workflows[0]!), 4);
  assert.deepEqual(loginSettings(plan, plan.workflows[0]!), {
    idle_in_transaction_session_timeout: "120000",
    log_statement: "all",
    statement_timeout: "120000",
  });
});

test("role names fit 63 bytes, stay stable and distinct", () => {
  const long = "a".repeat(48);
  const name = loginRoleName(long, `b${"c".repeat(47)}`);
  assert.ok(name.length <= 63);
  assert.equal(name, loginRoleName(long, `b${"c".repeat(47)}`));
  assert.notEqual(name, loginRoleName(long, `b${"c".repeat(46)}d`));
  assert.equal(groupRoleName("cs-usage-drop"), "dbw_cs_usage_drop");
  const all = plans.flatMap((p) => p.workflows.flatMap((w) => [w.roles.group, ...w.roles.logins.map((l) => l.role)]));
  for (const plan of plans) {
    const names = plan.workflows.flatMap((w) => [w.roles.group, ...w.roles.logins.map((l) => l.role)]);
    assert.equal(new Set(names).size, names.length);
  }
  assert.ok(all.every((n) => n.length <= 63 && /^[a-z0-9_]+$/.test(n)));
});

test("expired workflows are left out with a note; the expiry day itself still has access", () => {
  const w = testWorkflow({ expires: "2026-11-20" });
  const after = buildPlan(testEnvironment(), [w], now);
  assert.deepEqual(after.workflows, []);
  assert.match(after.notes.join("\n"), /"w" expired on 2026-11-20 and is left out/);
  const onTheDay = buildPlan(testEnvironment(), [w], new Date("2026-11-20T23:59:59Z"));
  assert.equal(onTheDay.workflows.length, 1);
});

test("OIDC clients are left out, with a note, where the environment has no issuer", () => {
  const w = testWorkflow({
    clients: [
      { name: "bot", auth: "api-key" },
      { name: "people", auth: "oidc", group: "analysts" },
    ],
  });
  const without = buildPlan(testEnvironment(), [w], now);
  assert.deepEqual(
    without.workflows[0]!.clients.map((c) => c.name),
    ["bot"],
  );
  assert.match(without.notes.join("\n"), /client "people" .* left out/);
  const withIssuer = buildPlan(testEnvironment({ mcpServer: { oidc: { issuer: "https://idp.example.com/", audience: "mcp" } } }), [w], now);
  assert.deepEqual(
    withIssuer.workflows[0]!.clients.map((c) => [c.name, c.group]),
    [
      ["bot", null],
      ["people", "analysts"],
    ],
  );
});

test("the scope carries descriptions, classification and justification", () => {
  const prod = plans[2]!;
  const eng = prod.workflows.find((w) => w.name === "eng-incident-investigation")!;
  const events = eng.tables.find((t) => t.table === "usage_events")!;
  const ip = events.columns.find((c) => c.name === "ip_address")!;
  assert.equal(ip.classification, "sensitive");
  assert.match(ip.justification!, /SEC-1042/);
  const users = eng.tables.find((t) => t.table === "users")!;
  assert.equal(users.rule.access, "all-except");
  assert.deepEqual(users.rule, { access: "all-except", except: ["email", "full_name", "password_hash"] });
  assert.deepEqual(eng.tools, ["list_tables", "describe_table", "query", "explain"]);
  assert.deepEqual(eng.limits, {
    statementTimeoutMs: 20000,
    maxRows: 2000,
    maxResultBytes: 1048576,
    callsPerMinute: 120,
    concurrentCalls: 4,
    maxBytesBilled: null,
  });
});

test("every column the data owner marks sensitive is classified in the plan, described or not, readable or not", () => {
  const prod = plans[2]!;
  const eng = prod.workflows.find((w) => w.name === "eng-incident-investigation")!;
  const users = eng.tables.find((t) => t.table === "users")!;
  // Excluded and undescribed, yet classified: no reader recomputes the classification.
  assert.deepEqual(
    users.columns.map((c) => [c.name, c.classification, c.justification]),
    [
      ["email", "sensitive", null],
      ["full_name", "sensitive", null],
      ["password_hash", "sensitive", null],
      ["role", "standard", null],
    ],
  );
});
