/**
 * Results held outside the JS heap (results.ts): rows kept as the UTF-8 of their JSON texts escaped
 * for a JSON string, joined by commas across buffers, exactly as JSON.stringify would escape the
 * joined text; a piecewise answer equal, once joined, to the text it stands for; and a memory budget
 * that refuses what does not fit and gets everything back on release.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
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
