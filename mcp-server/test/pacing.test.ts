/**
 * pacing.ts on streams standing in for database sockets (results-serving.test.ts reads real large
 * results through it): however many connections stream at once, each turn of the event loop
 * delivers about BULK_SLICES_PER_TURN slices of them, every connection gets its turn, a small
 * answer is never paused, and a closed connection leaves the queue.
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { BULK_SLICES_PER_TURN, READ_SLICE_BYTES, paceReads, readPacing } from "../src/engines/postgres/pacing.ts";

const CHUNK = 16 * 1024;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** `count` paced streams, each with `bytes` waiting to be read; the bytes each delivered, per turn. */
async function stream(count: number, bytes: number) {
  const perTurn: number[] = [];
  const delivered = new Array<number>(count).fill(0);
  let thisTurn = 0;
  const streams = Array.from({ length: count }, (_, i) => {
    const s = new PassThrough({ highWaterMark: bytes });
    paceReads(s);
    s.on("data", (chunk: Buffer) => {
      delivered[i]! += chunk.length;
      thisTurn += chunk.length;
    });
    for (let sent = 0; sent < bytes; sent += CHUNK) s.write(Buffer.alloc(Math.min(CHUNK, bytes - sent)));
    return s;
  });
  while (delivered.some((d) => d < bytes)) {
    await nextTurn();
    perTurn.push(thisTurn);
    thisTurn = 0;
    assert.ok(perTurn.length < 10_000, "the streams stopped being read");
  }
  return { perTurn, delivered, streams };
}

test("eight large results at once: each turn reads a bounded number of slices of them, and all of them finish", async () => {
  const { perTurn, delivered } = await stream(8, 1024 * 1024);
  assert.deepEqual(delivered, new Array(8).fill(1024 * 1024));
  // The first turn reads a slice of each (nothing was paused yet); from then on the queue holds.
  const bound = (BULK_SLICES_PER_TURN + 1) * (READ_SLICE_BYTES + CHUNK);
  const later = perTurn.slice(2);
  assert.ok(later.length > 8, `${later.length} turns`);
  assert.ok(Math.max(...later) <= bound, `at most ${bound} bytes per turn, read ${Math.max(...later)}`);
});

test("a small answer is never paused", async () => {
  const pausesBefore = readPacing.pauses;
  const { perTurn, delivered } = await stream(4, READ_SLICE_BYTES / 2);
  assert.deepEqual(delivered, new Array(4).fill(READ_SLICE_BYTES / 2));
  assert.equal(readPacing.pauses, pausesBefore);
  assert.deepEqual(perTurn, [], "all four answers as they came, without waiting for a turn");
});

test("a connection closed while it waits its turn leaves the queue; the others finish", async () => {
  const streams = Array.from({ length: 6 }, () => {
    const s = new PassThrough({ highWaterMark: 1024 * 1024 });
    paceReads(s);
    s.on("data", () => {});
    s.write(Buffer.alloc(512 * 1024));
    return s;
  });
  await nextTurn();
  streams[5]!.destroy();
  const ended = streams.slice(0, 5).map((s) => new Promise((resolve) => s.once("end", resolve)));
  for (const s of streams.slice(0, 5)) s.end();
  await Promise.all(ended);
});
