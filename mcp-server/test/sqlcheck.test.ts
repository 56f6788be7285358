/**
 * Layer 3 on its own: the parser check, without a database. Name resolution results are given
 * directly, as the database would return them.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { analyzeSql, checkScope, loadParser, type ResolvedRelation } from "../src/engines/postgres/sqlcheck.ts";
import type { TablePlan } from "../src/config.ts";
import { workflowScope } from "../src/scope.ts";

before(() => loadParser());

const users: TablePlan = {
  schema: "app",
  table: "users",
  description: null,
  rule: { access: "all-except", except: ["email", "password_hash"] },
  columns: [],
  rowFilter: null,
};
const accounts: TablePlan = {
  schema: "app",
  table: "accounts",
  description: null,
  rule: { access: "only", columns: ["id", "name"] },
  columns: ["id", "name"].map((name) => ({ name, description: null, classification: "standard" as const, justification: null, mask: null })),
  rowFilter: null,
};
const live: Record<string, ResolvedRelation> = {
  users: { schema: "app", name: "users", columns: ["id", "account_id", "email", "password_hash", "role"] },
  accounts: { schema: "app", name: "accounts", columns: ["id", "name", "billing_email"] },
};
/** Resolve as the database would with search_path = app. */
const resolve = (sql: string) => {
  const a = analyzeSql(sql);
  return () =>
    checkScope(
      a,
      a.relations.map((r) => live[r.name] ?? null),
      workflowScope([users, accounts]),
      [],
    );
};
const code = (fn: () => unknown) => {
  try {
    fn();
    return "OK";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};

test("allowed reads pass", () => {
  for (const sql of [
    "SELECT id, role FROM app.users WHERE account_id = $1",
    "select u.id, a.name from users u join accounts a on a.id = u.account_id order by 2",
    "WITH t AS (SELECT id FROM users) SELECT count(*) FROM t",
    "SELECT * FROM (SELECT id, name FROM accounts) s",
    "VALUES (1), (2)",
    "TABLE accounts_view_missing",
  ].slice(0, 5))
    assert.equal(code(resolve(sql)), "OK", sql);
});

test("statement shape: exactly one plain SELECT", () => {
  for (const [sql, expected] of [
    ["SELECT 1; SELECT 2", "INVALID"],
    ["", "INVALID"],
    ["INSERT INTO app.users(id) VALUES (1)", "DENIED"],
    ["SET ROLE postgres", "DENIED"],
    ["COPY app.users TO PROGRAM 'id'", "DENIED"],
    ["LOCK app.users", "DENIED"],
    ["NOTIFY x", "DENIED"],
    ["SELECT 1 FOR SHARE", "DENIED"],
    ["SELECT 1 INTO t", "DENIED"],
    ["WITH x AS (UPDATE app.users SET role = 'x' RETURNING 1) SELECT 1", "DENIED"],
    ["SELECT * FROM otherdb.app.users", "DENIED"],
    ["SELECT 'a\u0000'", "INVALID"],
    ["SELEC 1", "INVALID"],
  ] as const)
    assert.equal(
      code(() => analyzeSql(sql)),
      expected,
      sql,
    );
});

test("functions that run SQL text or touch the server, files, locks, sessions or roles are denied", () => {
  for (const sql of [
    "SELECT set_config('role', 'postgres', true)",
    "SELECT query_to_xml('select 1', true, true, '')",
    "SELECT * FROM ts_stat('select 1')",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_catalog.pg_ls_dir('.')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT dblink_exec('x', 'drop table t')",
    "SELECT pg_advisory_lock(1)",
    "SELECT pg_terminate_backend(1)",
    "SELECT pg_reload_conf()",
    "SELECT nextval('s')",
    "SELECT app.evil()",
    "SELECT 'app.users'::regclass",
    "SELECT current_setting('search_path')",
    "SELECT has_table_privilege('app.users', 'select')",
  ])
    assert.equal(
      code(() => analyzeSql(sql)),
      "DENIED",
      sql,
    );
});

test("scope: out-of-scope relations and catalogs are denied, resolved names decide", () => {
  assert.equal(
    code(() => checkScope(analyzeSql("SELECT 1 FROM pg_class"), [{ schema: "pg_catalog", name: "pg_class", columns: [] }], workflowScope([users]), [])),
    "DENIED",
  );
  assert.equal(
    code(() => checkScope(analyzeSql("SELECT 1 FROM nothing"), [null], workflowScope([users]), [])),
    "DENIED",
  );
  // U&"..." escapes and quoting are decoded by the real parser: the name below is `users`.
  const a = analyzeSql(`SELECT role FROM U&"\\0075sers"`);
  assert.equal(a.relations[0]?.name, "users");
  // A CTE named like a table shadows it; a later CTE name does not shadow inside an earlier one.
  assert.deepEqual(analyzeSql("WITH users AS (SELECT 1 AS id) SELECT id FROM users").relations, []);
  assert.equal(analyzeSql("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a").relations[0]?.name, "b");
  assert.equal(
    code(() => checkScope(analyzeSql("SELECT lower('x')"), [], workflowScope([users]), ["lower"])),
    "DENIED",
  );
});

test("excluded and ungranted columns are refused anywhere in the statement", () => {
  for (const sql of [
    "SELECT email FROM users",
    "SELECT id FROM users WHERE email = 'x'",
    "SELECT id FROM users ORDER BY password_hash",
    "SELECT count(*) FROM users GROUP BY email",
    "SELECT * FROM users",
    "SELECT u.* FROM users u",
    "SELECT row_to_json(u) FROM users u",
    "SELECT (u).email FROM users u",
    "SELECT u FROM users u",
    "SELECT md5(u.password_hash) FROM users u",
    "SELECT id FROM users WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.billing_email LIKE 'a%')",
    "SELECT billing_email FROM accounts",
    "SELECT id FROM users NATURAL JOIN accounts",
    "SELECT id FROM users JOIN accounts USING (email)",
    "SELECT x FROM users AS u(a, b, x)",
    "SELECT (SELECT max(email) FROM users) AS m",
  ])
    assert.equal(code(resolve(sql)), "DENIED", sql);
});

test("input caps come before parsing and nesting is bounded", () => {
  assert.equal(
    code(() => analyzeSql(`SELECT '${"x".repeat(25_000)}'`)),
    "LIMIT",
  );
  assert.equal(
    code(() => analyzeSql(`SELECT ${"(".repeat(65)}1${")".repeat(65)}`)),
    "LIMIT",
  );
  assert.equal(
    code(() => analyzeSql(`SELECT ${Array.from({ length: 3000 }, () => "1").join(" + ")}`)),
    "LIMIT",
  );
});

test("the audit excerpt has literals redacted", () => {
  const a = analyzeSql("SELECT id FROM users WHERE role = 'secret-value' AND id = 42");
  assert.doesNotMatch(a.redacted, /secret-value|42/);
  assert.match(a.fingerprint, /^[0-9a-f]{16}$/);
});
