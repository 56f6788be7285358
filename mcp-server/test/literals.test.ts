/**
 * The verdict cache by shape (engines/postgres/literals.ts): statements that differ only in their
 * literal values share one analysis, and nothing else does. Each shared analysis must be exactly
 * what the full check gives the statement itself.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import fc from "fast-check";
import { ShapeCache, shapeOf } from "../src/engines/postgres/literals.ts";
import { analyzeSql, loadParser, type SqlAnalysis } from "../src/engines/postgres/sqlcheck.ts";
import { ToolError } from "../src/errors.ts";

before(() => loadParser());

/** A cache that has seen `sql` (checked in full, as the engine does). */
function cacheOf(...seen: string[]): ShapeCache {
  const cache = new ShapeCache(100, 4_000);
  for (const sql of seen) cache.remember(sql, analyzeSql(sql));
  return cache;
}

/** What the check says of a statement, every field. */
const verdict = (a: SqlAnalysis) => JSON.parse(JSON.stringify(a)) as unknown;

const point = (id: string, name: string) => `SELECT id, name FROM app.accounts WHERE id = ${id} AND name = ${name}`;

describe("shapeOf", () => {
  test("literal values are taken out; everything else is kept", () => {
    assert.equal(shapeOf(point("1", "'a'"))!.key, shapeOf(point("4242", "'it''s'"))!.key);
    assert.equal(shapeOf(point("1", "'a'"))!.literals.length, 2);
    assert.notEqual(shapeOf("SELECT 1")!.key, shapeOf("SELECT '1'")!.key, "a number and a string are different kinds");
    assert.notEqual(shapeOf("SELECT 1 -- a")!.key, shapeOf("SELECT 1 -- b")!.key, "comments are kept");
    assert.equal(shapeOf("SELECT $1, 2")!.literals.length, 1, "a parameter is not a literal");
  });

  test("no shape where this lexer does not vouch for PostgreSQL's", () => {
    for (const sql of [
      "SELECT E'a\\' OR true --'",
      "SELECT 'a\\'",
      "SELECT $$x$$",
      "SELECT $tag$x$tag$",
      "SELECT U&'d\\0061t'",
      "SELECT U&\"d!0061t\" UESCAPE '!'",
      "SELECT B'101'",
      "SELECT X'ff'",
      "SELECT N'x'",
      "SELECT 1e5",
      "SELECT 0x1F",
      "SELECT 1_000",
      "SELECT 1.",
      "SELECT .5",
      "SELECT 'unterminated",
      "SELECT 1 /* open /* nested */",
      "SELECT 1\u0000",
    ]) {
      assert.equal(shapeOf(sql), null, sql);
    }
  });
});

describe("ShapeCache", () => {
  test("two statements differing only in a literal share the verdict, and it is the statement's own", () => {
    const cache = cacheOf(point("1", "'a'"));
    assert.equal(cache.size, 1);
    for (const sql of [point("77", "'Account 77'"), point("123456", "'O''Reilly; DROP TABLE x --'"), point("3", "''")]) {
      const shared = cache.get(sql);
      assert.ok(shared, sql);
      assert.deepEqual(verdict(shared), verdict(analyzeSql(sql)), sql);
    }
  });

  test("statements differing in an identifier, an operator or a keyword do not share it", () => {
    const cache = cacheOf(point("1", "'a'"));
    for (const sql of [
      "SELECT id, billing_email FROM app.accounts WHERE id = 1 AND name = 'a'",
      "SELECT id, name FROM app.users WHERE id = 1 AND name = 'a'",
      "SELECT id, name FROM app.accounts WHERE id <> 1 AND name = 'a'",
      "SELECT id, name FROM app.accounts WHERE id = 1 OR name = 'a'",
      "SELECT id, name FROM app.\"accounts\" WHERE id = 1 AND name = 'a'",
      "SELECT id, name FROM app.accounts WHERE id = $1 AND name = 'a'",
    ]) {
      assert.equal(cache.get(sql), null, sql);
    }
  });

  test("a literal that would change the statement's structure cannot share the verdict", () => {
    const cache = cacheOf("SELECT id FROM app.accounts WHERE name = 'x'");
    // A quote closing the string early is another token stream: another shape.
    assert.equal(cache.get("SELECT id FROM app.accounts WHERE name = 'x' OR billing_email = 'y'"), null);
    // A backslash escape (E'' or standard_conforming_strings off) is not vouched for at all.
    assert.equal(cache.get("SELECT id FROM app.accounts WHERE name = E'x\\' OR billing_email = ''y'"), null);
    // A doubled quote inside the value is part of it: the same structure, the same verdict.
    const sql = "SELECT id FROM app.accounts WHERE name = 'x'' OR billing_email = ''y'";
    assert.deepEqual(verdict(cache.get(sql)!), verdict(analyzeSql(sql)));
  });

  test("the caps run on each statement's own text", () => {
    const cache = cacheOf("SELECT id FROM app.accounts WHERE name = 'x'");
    const deep = `SELECT id FROM app.accounts WHERE name = '${"(".repeat(80)}'`;
    assert.throws(
      () => cache.get(deep),
      (e: unknown) => e instanceof ToolError && e.code === "LIMIT",
    );
    assert.throws(
      () => analyzeSql(deep),
      (e: unknown) => e instanceof ToolError && e.code === "LIMIT",
    );
  });

  test("a shape the normaliser redacts differently is not remembered (a negative number, strings joined across a newline)", () => {
    for (const sql of ["SELECT id FROM app.accounts WHERE id > -1", "SELECT id FROM app.accounts WHERE name = 'a'\n'b'"]) {
      assert.equal(cacheOf(sql).size, 0, sql);
    }
  });

  test("statements without literals are left to the cache by text", () => {
    assert.equal(cacheOf("SELECT id FROM app.accounts WHERE id = $1").size, 0);
  });

  test("property: whatever the values, a shared verdict is the one the full check gives", () => {
    const template = (id: number, text: string, from: number) =>
      `SELECT a.name, e.event_type FROM analytics.usage_events e JOIN app.accounts a ON a.id = e.account_id WHERE ` +
      `e.id BETWEEN ${from} AND ${from + 19} AND a.region = '${text.replaceAll("'", "''")}' AND a.id = ${id}`;
    const cache = cacheOf(template(1, "eu", 100));
    fc.assert(
      fc.property(
        fc.nat(),
        fc.string({ unit: "grapheme" }).filter((s) => !s.includes("\u0000")),
        fc.nat(),
        (id, text, from) => {
          const sql = template(id, text, from);
          const shared = cache.get(sql);
          if (text.includes("\\")) assert.equal(shared, null);
          else assert.deepEqual(verdict(shared!), verdict(analyzeSql(sql)));
        },
      ),
      { numRuns: 300 },
    );
  });
});
