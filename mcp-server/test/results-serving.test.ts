/**
 * Query results as the HTTP transport serves them, against the real PostgreSQL (issue 18 item 3):
 * - the answer to a query is byte for byte what the server answered before rows were written value
 *   by value (support/pinned-results.json: bodies recorded from the server of commit 19f22f6, which
 *   built each row with JSON.stringify and escaped it again), for a result of mixed types, one cut
 *   by maxResultBytes and one cut by maxRows;
 * - capped-maximum results in flight (their answers being written, the clients not reading them)
 *   hold the server's result memory: another large call is refused BUSY while a small call is
 *   answered, and once the answers are read the memory comes back;
 * - a large result is read from the database a slice per turn of the event loop (pacing.ts): its
 *   connection was paused for the next turn about once per slice, so other calls' steps ran between.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { RESULT_CAPS_MAX } from "@dbwarden/contract";
import { READ_SLICE_BYTES, readPacing } from "../src/engines/postgres/pacing.ts";
import type { RunningServer } from "../src/index.ts";
import { call, fixtureForFile, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
const { serve, connect } = fixtureForFile((started) => void (fx = started));
const JSON_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

interface Pinned {
  sql: string;
  params: unknown[];
  body: string;
}
const PINNED = JSON.parse(readFileSync(new URL("./support/pinned-results.json", import.meta.url), "utf8")) as Pinned[];

/** A `query` call posted as the SDK's client posts it (id 7): the response, its body unread. */
function postQuery(s: RunningServer, sql: string, params?: unknown[], client = "claude-cs"): Promise<Response> {
  return fetch(s.url, {
    method: "POST",
    headers: { ...JSON_HEADERS, authorization: `Bearer ${fx.keys[client]}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "query", arguments: { sql, ...(params ? { params } : {}) } } }),
  });
}

describe("query answers, byte for byte", () => {
  test("a mixed-type result, one cut by maxResultBytes and one cut by maxRows answer exactly the pinned bytes", async () => {
    const s = await serve(fx.withLimits({ maxRows: 3, maxResultBytes: 4096 }));
    for (const pinned of PINNED) {
      const res = await postQuery(s, pinned.sql, pinned.params);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), pinned.body, pinned.sql);
    }
    // What the pinned bodies hold (so the file cannot drift into pinning an error).
    const texts = PINNED.map((p) => JSON.parse((JSON.parse(p.body) as { result: { content: Array<{ text: string }> } }).result.content[0]!.text));
    assert.deepEqual(
      texts.map((t) => [t.rowCount, t.truncated, t.truncatedBy ?? null]),
      [
        [3, false, null],
        [2, true, "maxResultBytes"],
        [3, true, "maxRows"],
      ],
    );
    assert.equal(texts[0].columns.length, 27);
  });
});

describe("large results in flight", { timeout: 180_000 }, () => {
  const LARGE = "SELECT n, repeat('x', 200) AS filler FROM analytics.big";

  test("while capped-maximum answers are being written, a small call is answered, another large one is refused BUSY, and the memory comes back", async () => {
    const plan = fx.withLimits({ maxRows: RESULT_CAPS_MAX.maxRows, maxResultBytes: RESULT_CAPS_MAX.maxResultBytes, concurrentCalls: 8 });
    // Room for two capped-maximum results and small ones, not three.
    const s = await serve(plan, {}, fx.runtime({ resultMemoryBytes: 40 * 1024 ** 2 }));
    const client = await connect(s);

    // Two capped-maximum answers whose bodies nobody reads: the server holds them until written.
    const held = await Promise.all([postQuery(s, LARGE), postQuery(s, LARGE)]);
    assert.deepEqual(
      held.map((r) => r.status),
      [200, 200],
    );

    const small = await call(client, "query", { sql: "SELECT n FROM analytics.big WHERE n <= $1", params: [3] });
    assert.equal(small.isError, false, small.text);
    assert.deepEqual(small.json.rows, [[1], [2], [3]]);
    assert.equal((await call(client, "list_tables")).isError, false);

    const refused = await call(client, "query", { sql: LARGE });
    assert.match(refused.text, /^BUSY: the server is holding as many query results as it may \(40 MiB\)/);
    assert.deepEqual([fx.auditLines().at(-1)!.code, fx.auditLines().at(-1)!.errorClass], ["BUSY", "result-memory"]);

    // The held answers, read now, are whole: every row up to the byte cap, in order.
    for (const res of held) {
      const answer = JSON.parse(await res.text()) as { result: { content: Array<{ text: string }>; isError?: boolean } };
      assert.equal(answer.result.isError, undefined);
      const text = JSON.parse(answer.result.content[0]!.text) as { rows: Array<[number, string]>; rowCount: number; truncatedBy: string };
      assert.equal(text.truncatedBy, "maxResultBytes");
      assert.equal(text.rows.length, text.rowCount);
      assert.ok(text.rowCount > 70_000, `${text.rowCount} rows`);
      assert.deepEqual(text.rows.at(-1), [text.rowCount, "x".repeat(200)]);
    }
    // Written: the memory came back, and a capped-maximum result fits again; its rows were read
    // over many turns of the event loop, a slice at a time (at least one pause per two slices).
    const pausesBefore = readPacing.pauses;
    const again = await call(client, "query", { sql: LARGE });
    assert.equal(again.isError, false, again.text.slice(0, 200));
    assert.equal(again.json.truncatedBy, "maxResultBytes");
    const pauses = readPacing.pauses - pausesBefore;
    assert.ok(pauses >= RESULT_CAPS_MAX.maxResultBytes / READ_SLICE_BYTES / 2, `${pauses} pauses`);
  });
});
