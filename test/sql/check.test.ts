/**
 * The checker of a spec's SQL (src/sql/check.ts) on the real PostgreSQL parser: what a row filter
 * and a reporting view may be, what each reads, and the refusals, each with its reason. Also: a
 * parse through the worker thread (taken before the parser has loaded in this thread) gives the
 * same tree, and a syntax error says where.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attributeSpans, checkReportingView, checkRowFilter, SqlCheckError } from "../../src/sql/check.ts";
import { parseSql, parseSqlInWorker } from "../../src/sql/parser.ts";

const refused = (check: () => unknown, reason: RegExp) =>
  assert.throws(check, (error: Error) => error instanceof SqlCheckError && reason.test(error.message), `expected ${reason}`);

describe("row filters", () => {
  it("reads the table's columns and the client's attributes", () => {
    assert.deepEqual(checkRowFilter("account_id = client.account_id"), { columns: ["account_id"], attributes: ["account_id"] });
    assert.deepEqual(
      checkRowFilter(
        "region = client.region AND status IN ('open', 'pending') AND lower(plan) LIKE 'e%' AND created_at >= make_date(2026, 1, 1) OR client.admin",
      ),
      { columns: ["created_at", "plan", "region", "status"], attributes: ["admin", "region"] },
    );
    assert.deepEqual(checkRowFilter("x BETWEEN 1 AND 2 AND y IS NOT NULL AND z IS DISTINCT FROM 3 AND coalesce(a, 1) = 1 AND CASE WHEN b THEN true END"), {
      columns: ["a", "b", "x", "y", "z"],
      attributes: [],
    });
  });

  it("refuses subqueries, other tables, functions outside the list, parameters and more than one condition", () => {
    refused(() => checkRowFilter("account_id IN (SELECT id FROM app.accounts)"), /subqueries are not allowed/);
    refused(() => checkRowFilter("EXISTS (SELECT 1)"), /subqueries are not allowed/);
    refused(() => checkRowFilter("app.users.id = 1"), /no other table can be read/);
    refused(() => checkRowFilter("t.id = 1"), /neither a column of the table .* nor an attribute of the client/);
    refused(() => checkRowFilter("pg_sleep(10) IS NULL"), /function pg_sleep\(\) is not allowed/);
    refused(() => checkRowFilter("public.lower(x) = 'a'"), /function public\.lower is not a built-in/);
    refused(() => checkRowFilter("count(*) > 1"), /aggregate count\(\) is not allowed here/);
    refused(() => checkRowFilter("x = $1"), /parameters/);
    refused(() => checkRowFilter("x = current_user"), /CURRENT_USER/);
    refused(() => checkRowFilter("x::regclass IS NULL"), /a cast to regclass is not allowed/);
    refused(() => checkRowFilter("x OPERATOR(public.=) 1"), /operator public\.= is not allowed/);
    refused(() => checkRowFilter("true; DROP TABLE app.users"), /does not parse as PostgreSQL: syntax error at or near ";"/);
    refused(() => checkRowFilter("true) GROUP BY (1"), /one condition .* nothing around it/);
    refused(() => checkRowFilter("x = (1"), /does not parse as PostgreSQL/);
    refused(() => checkRowFilter("row_number() OVER () = 1"), /window functions/);
  });

  it("delimits each client attribute with the lexer, whatever the spacing, quoting or characters before it", () => {
    const predicate = `é = 'client.x' AND account_id = "client" . account_id OR client.region = 'eu'`;
    const bytes = Buffer.from(predicate);
    assert.deepEqual(
      attributeSpans(predicate).map((s) => [s.attribute, bytes.subarray(s.start, s.end).toString()]),
      [
        ["account_id", `"client" . account_id`],
        ["region", "client.region"],
      ],
    );
  });
});

describe("reporting views", () => {
  it("outputs named columns and reads schema-qualified tables, with joins, aggregates, GROUP BY and ORDER BY by output name", () => {
    assert.deepEqual(
      checkReportingView(
        "SELECT a.plan, date_trunc('week', e.occurred_at) AS week, count(*) AS events, count(DISTINCT e.account_id) AS accounts " +
          "FROM analytics.usage_events e JOIN app.accounts a ON a.id = e.account_id " +
          "WHERE e.quantity > 0 GROUP BY a.plan, week HAVING count(*) > 5 ORDER BY week",
      ),
      {
        columns: ["plan", "week", "events", "accounts"],
        reads: [
          { schema: "analytics", table: "usage_events", columns: ["account_id", "occurred_at", "quantity"] },
          { schema: "app", table: "accounts", columns: ["id", "plan"] },
        ],
      },
    );
    assert.deepEqual(checkReportingView("SELECT currency, sum(amount_cents) FILTER (WHERE status = 'paid') AS paid FROM billing.invoices GROUP BY currency"), {
      columns: ["currency", "paid"],
      reads: [{ schema: "billing", table: "invoices", columns: ["amount_cents", "currency", "status"] }],
    });
  });

  it("refuses what is not one SELECT over tables, and outputs it cannot name", () => {
    refused(() => checkReportingView("SELECT * FROM app.accounts"), /`\*` is not allowed/);
    refused(() => checkReportingView("SELECT id FROM accounts"), /must be schema-qualified/);
    refused(() => checkReportingView("SELECT count(*) FROM app.accounts"), /every output column needs a name/);
    refused(() => checkReportingView("SELECT n FROM (SELECT 1 AS n) AS s"), /subqueries are not allowed/);
    refused(() => checkReportingView("WITH s AS (SELECT 1 AS n) SELECT n FROM app.s"), /WITH queries/);
    refused(() => checkReportingView("SELECT id FROM app.a UNION SELECT id FROM app.b"), /UNION, INTERSECT and EXCEPT/);
    refused(() => checkReportingView("SELECT id FROM app.a WHERE id IN (SELECT id FROM app.b)"), /subqueries are not allowed/);
    refused(() => checkReportingView("SELECT id FROM app.a, app.b"), /qualified with its table's name or alias/);
    refused(() => checkReportingView("SELECT a.id FROM app.a NATURAL JOIN app.b"), /NATURAL JOIN/);
    refused(() => checkReportingView("SELECT n FROM generate_series(1, 3) AS n"), /functions in FROM/);
    refused(() => checkReportingView("SELECT id, id FROM app.a"), /named twice/);
    refused(() => checkReportingView("SELECT query_to_xml('select 1', true, true, '') AS x FROM app.a"), /function query_to_xml\(\) is not allowed/);
    refused(() => checkReportingView("SELECT id FROM app.a FOR UPDATE"), /lockingClause is not allowed/);
    refused(() => checkReportingView("SELECT id FROM app.a; DELETE FROM app.a"), /exactly one statement \(found 2\)/);
    refused(() => checkReportingView("DELETE FROM app.a"), /must be a SELECT/);
  });
});

describe("the parser", () => {
  it("gives the same tree in this thread and through the worker", () => {
    const sql = "SELECT a.plan, count(*) AS n FROM app.accounts a WHERE a.id = 1 GROUP BY a.plan";
    assert.deepEqual(parseSqlInWorker(sql), parseSql(sql));
  });

  it("says where a statement stops parsing", () => {
    assert.throws(
      () => checkRowFilter("account_id = = 1"),
      (error: SqlCheckError) => error.position === 13 && /syntax error/.test(error.message),
    );
  });
});
