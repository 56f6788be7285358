/** The BigQuery statement check as a pure function: what it proves, what it rewrites, what it refuses. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TablePlan } from "../src/config.ts";
import { ToolError } from "../src/errors.ts";
import { checkStatement } from "../src/engines/bigquery/sqlcheck.ts";
import { tokenize } from "../src/engines/bigquery/lexer.ts";
import { workflowScope } from "../src/scope.ts";

const table = (schema: string, name: string): TablePlan => ({ schema, table: name, description: null, rule: { access: "all" }, columns: [], rowFilter: null });
const call = { scope: workflowScope([table("sales", "orders"), table("sales", "items")]) };
const workflow = { roles: { group: "dbw_orders", logins: [] } };
const check = (sql: string) => checkStatement(sql, call, workflow, "acme-analytics");
const refusal = (sql: string) => {
  try {
    check(sql);
  } catch (error) {
    assert.ok(error instanceof ToolError);
    return `${error.code} ${error.errorClass}`;
  }
  assert.fail(`not refused: ${sql}`);
};

describe("the BigQuery statement check", () => {
  it("rewrites each table of the scope to the workflow's view, however it is written, and leaves the rest alone", () => {
    const out = check(
      "WITH t AS (SELECT * FROM sales.orders) SELECT t.id, EXTRACT(YEAR FROM t.at), 'FROM x.y' " +
        "FROM t JOIN `acme-analytics.sales.items` i USING (id) -- FROM hr.pay\n WHERE t.id = ?",
    );
    assert.equal(
      out.rewritten,
      "WITH t AS (SELECT * FROM `acme-analytics.dbw_orders.sales__orders`) SELECT t.id, EXTRACT(YEAR FROM t.at), " +
        "'FROM x.y' FROM t JOIN `acme-analytics.dbw_orders.sales__items` i USING (id) -- FROM hr.pay\n WHERE t.id = ?",
    );
    assert.deepEqual(
      out.tables.map((t) => `${t.schema}.${t.table}`),
      ["sales.orders", "sales.items"],
    );
    assert.equal(out.parameters, 1);
    assert.ok(!out.facts.redacted.includes("FROM x.y"), "string literals are not on the audit line");
  });

  it("reads UNNEST, subqueries and comma joins of the scope's tables", () => {
    assert.equal(check("SELECT x FROM sales.orders o, UNNEST(o.tags) x").tables.length, 1);
    assert.equal(check("SELECT * FROM (SELECT id FROM sales.orders), sales.items").tables.length, 2);
    assert.equal(check("SELECT SAFE.PARSE_DATE('%Y', s), NET.HOST(u) FROM sales.orders;").tables.length, 1);
  });

  it("refuses what it cannot prove in scope", () => {
    assert.equal(refusal("SELECT * FROM hr.salaries"), "DENIED out-of-scope");
    assert.equal(refusal("SELECT * FROM `other.sales.orders`"), "DENIED out-of-scope");
    assert.equal(refusal("SELECT * FROM orders"), "DENIED out-of-scope", "no default dataset");
    assert.equal(refusal("SELECT * FROM sales.orders o, o.tags"), "DENIED out-of-scope");
    assert.equal(refusal("SELECT * FROM `sales.orders*`"), "DENIED wildcard-table");
    assert.equal(refusal("SELECT * FROM ML.PREDICT(MODEL m, TABLE sales.orders)"), "DENIED table-function");
    assert.equal(refusal("SELECT ds.fn(1)"), "DENIED routine");
    assert.equal(refusal("SELECT @@project_id"), "DENIED system-variable");
    assert.equal(refusal("SELECT @x"), "INVALID named-parameter");
    assert.equal(refusal("SELECT 1; SELECT 2"), "INVALID multiple-statements");
    assert.equal(refusal("INSERT INTO sales.orders VALUES (1)"), "DENIED not-a-query");
    assert.equal(refusal("DECLARE x INT64"), "DENIED not-a-query");
  });

  it("the lexer: strings with every quoting, comments, and what is not GoogleSQL", () => {
    const kinds = tokenize(`SELECT r'\\d', b"x", '''a'b''', """c""", 1.5e3, 0x1F # c\n/* d */ FROM`).map((t) => t.kind);
    assert.deepEqual(kinds, ["word", "string", "punct", "string", "punct", "string", "punct", "string", "punct", "number", "punct", "number", "word"]);
    for (const sql of ["SELECT 'open", "SELECT `a\\`b`", "SELECT /* open", "SELECT $1"]) assert.throws(() => tokenize(sql), ToolError, sql);
  });
});
