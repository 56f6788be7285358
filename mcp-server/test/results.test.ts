/**
 * Results held outside the JS heap (results.ts): rows kept as the UTF-8 of their JSON texts escaped
 * for a JSON string, joined by commas across buffers, exactly as JSON.stringify would escape the
 * joined text; a piecewise answer equal, once joined, to the text it stands for; and a memory budget
 * that refuses what does not fit and gets everything back on release.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { CappedRows } from "../src/engines/postgres/fetch.ts";
import { JsonRows, PiecewiseText, piecewiseContent, ResultMemory } from "../src/results.ts";

const tricky = ['a "quoted" \\ backslash', "é ü 中文 😀", "\u0000\u001f control", "\u2028 line sep", "\ud800 lone surrogate", "plain"];

test("rows across many buffers join and escape exactly as JSON.stringify would", () => {
  const rows = new JsonRows();
  const texts: string[] = [];
  for (let i = 0; i < 5_000; i++) {
    const text = JSON.stringify([i, tricky[i % tricky.length]!.repeat(1 + (i % 7)), i % 3 === 0 ? null : { k: "v\\" }]);
    texts.push(text);
    rows.push(rows.escape(text));
  }
  rows.push(rows.escape(JSON.stringify(["x".repeat(600_000)]))); // longer than a buffer: a buffer of its own
  texts.push(JSON.stringify(["x".repeat(600_000)]));
  assert.ok([...rows.escapedBuffers()].length > 3, "several buffers");
  assert.equal(rows.length, texts.length);
  assert.equal(rows.toString(), texts.join(","));
  const escaped = Buffer.concat([...rows.escapedBuffers()]).toString("utf8");
  assert.equal(escaped, JSON.stringify(texts.join(",")).slice(1, -1));
  assert.equal(rows.byteLength, Buffer.byteLength(escaped) + 1);

  const text = new PiecewiseText('{"notice":"n \\"q\\"","rows":[', rows, '],"rowCount":5001}', null);
  assert.equal(text.toString(), `{"notice":"n \\"q\\"","rows":[${texts.join(",")}],"rowCount":5001}`);
  const answer = `{"text":"${Buffer.concat([...text.jsonChunks()]).toString("utf8")}"}`;
  assert.deepEqual(JSON.parse(answer), { text: text.toString() });
  // Where a transport needs one string (stdio), the content item builds it.
  assert.equal(JSON.parse(JSON.stringify({ content: [piecewiseContent(text)] })).content[0].text, text.toString());
});

test("rows written value by value are the bytes of their JSON.stringify, escaped; a dropped row leaves nothing", () => {
  const rows = new JsonRows();
  const texts: string[] = [];
  const values = (i: number): unknown[] => [i, -i, tricky[i % tricky.length]!.repeat(1 + (i % 5)), i % 2 === 0, null, { k: ["v\\", tricky[i % 6]] }, ""];
  for (let i = 0; i < 3_000; i++) {
    const row = values(i);
    rows.beginRow();
    for (const v of row) {
      if (typeof v === "string") rows.string(v);
      else if (typeof v === "object" && v !== null) rows.json(JSON.stringify(v));
      else rows.plain(JSON.stringify(v));
    }
    // Every third row is dropped (as when the result memory cannot hold it): none of its bytes remain.
    const kept = rows.endRow((bytes) => {
      assert.equal(bytes, JsonRows.sizeOf(JSON.stringify(JSON.stringify(row)).slice(1, -1)));
      return i % 3 !== 1;
    });
    assert.equal(kept, i % 3 !== 1);
    if (kept) texts.push(JSON.stringify(row));
  }
  rows.beginRow();
  rows.string("y".repeat(400_000)); // longer than a buffer: moved, whole, into one of its own
  rows.endRow();
  texts.push(JSON.stringify(["y".repeat(400_000)]));
  assert.ok([...rows.escapedBuffers()].length > 3, "several buffers");
  assert.equal(rows.length, texts.length);
  const escaped = Buffer.concat([...rows.escapedBuffers()]).toString("utf8");
  assert.equal(escaped, JSON.stringify(texts.join(",")).slice(1, -1));
  assert.equal(rows.byteLength, Buffer.byteLength(escaped) + 1);
  assert.equal(rows.toString(), texts.join(","));
});

test("the Postgres row reader writes each type's value as JSON.stringify of its parsed value would", () => {
  // The reader's rule (engines/postgres/fetch.ts), restated: numbers and booleans as JSON natives
  // (a float that is not finite stays text), json and jsonb parsed, everything else as text.
  const parsed: Record<number, (v: string) => unknown> = {
    16: (v) => v === "t",
    21: Number,
    23: Number,
    26: Number,
    700: (v) => (Number.isFinite(Number(v)) ? Number(v) : v),
    701: (v) => (Number.isFinite(Number(v)) ? Number(v) : v),
    114: (v) => JSON.parse(v),
    3802: (v) => JSON.parse(v),
  };
  const columns: Array<[number, string[]]> = [
    [16, ["t", "f"]],
    [21, ["-32768", "0", "32767"]],
    [23, ["-2147483648", "7", "2147483647"]],
    [26, ["4294967295", "0"]],
    [700, ["1.5", "-0", "NaN", "Infinity", "-Infinity", "1e-07", "3.4028235e+38"]],
    [701, ["0.1", "1e+300", "-1.5e-07", "NaN", "123456789012345680000"]],
    [114, ['{"b": 1, "a": [1.0, 2e3, "x\\"y"], "a": 2}', "null", '"\\u2028 text"', "12345678901234567890"]],
    [3802, ['{"a": {"é": [true, null]}}', "[]"]],
    [20, ["9223372036854775807"]],
    [1700, ["-0.000000000000000000001"]],
    [25, tricky],
    [1184, ["2026-01-02 03:04:05.678+00"]],
    [17, ["\\xdeadbeef"]],
  ];
  const reader = new CappedRows(100, 1_000_000);
  reader.fields(columns.map(([oid], i) => ({ name: `c${i}`, dataTypeID: oid })));
  const expected: string[] = [];
  for (let r = 0; r < 7; r++) {
    const row = columns.map(([, samples], i) => (r === i % 7 ? null : samples[r % samples.length]!));
    reader.row(row);
    expected.push(JSON.stringify(row.map((v, i) => (v === null ? null : (parsed[columns[i]![0]] ?? String)(v)))));
  }
  const { rows, truncated } = reader.result();
  assert.equal(truncated, false);
  assert.equal(Buffer.concat([...rows.escapedBuffers()]).toString("utf8"), JSON.stringify(expected.join(",")).slice(1, -1));
});

test("the result memory refuses what does not fit, and release gives everything back", () => {
  const memory = new ResultMemory(1_000);
  const a = memory.lease();
  const b = memory.lease();
  assert.equal(a.grow(600), true);
  assert.equal(b.grow(500), false, "over the budget: nothing taken");
  assert.equal(b.grow(400), true);
  assert.equal(memory.inUse, 1_000);
  const refusal = b.refusal();
  assert.deepEqual([refusal.code, refusal.errorClass], ["BUSY", "result-memory"]);
  a.release();
  a.release();
  assert.equal(memory.inUse, 400, "released once");
  b.release();
  assert.equal(memory.inUse, 0);
  assert.equal(b.grow(1), false, "a released lease takes nothing more");
});
