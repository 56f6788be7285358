/**
 * Database connections read a slice per turn of the event loop, and all of them together a bounded
 * number of slices per turn, so that large results cannot hold the server's one thread while other
 * calls wait (issue 18).
 *
 * Why: libuv reads a readable socket up to 32 times (64 KiB each) in one turn, and pg parses every
 * row of each read as it comes: a capped-maximum result streaming in held the thread for tens of
 * milliseconds per connection per turn, and a small call, which needs several turns (its request,
 * its statements' answers, its audit line, its answer), waited behind them each time.
 * Here a connection that has delivered READ_SLICE_BYTES in the current turn is paused, and paused
 * connections wait in one queue: each turn resumes at most BULK_SLICES_PER_TURN of them, in turn
 * (round robin), after the turn's other I/O (setImmediate). So however many large results stream
 * at once, each turn parses about BULK_SLICES_PER_TURN slices of them and then runs everything
 * else that is ready: a small call's steps wait behind a fixed amount of bulk work, not behind one
 * slice per large result. Large results share what is left: when the server is otherwise idle,
 * turns are short and they stream at full speed. The database waits on its socket meanwhile (TCP
 * backpressure), which costs it nothing; small answers never reach a slice and are never paused.
 */
import type { Readable } from "node:stream";

/** Bytes a connection may deliver in one turn of the event loop before it waits for its next turn. */
export const READ_SLICE_BYTES = 64 * 1024;

/** Paused connections resumed per turn of the event loop, all connections together. */
export const BULK_SLICES_PER_TURN = 4;

/** How many times connections were paused (tests read it: a large result is read over many turns). */
export const readPacing = { pauses: 0 };

interface Paced {
  stream: Readable;
  bytes: number;
}

/** Connections that read in the current turn (their counts are reset at its end). */
const readThisTurn = new Set<Paced>();
/** Paused connections, first to resume first. */
const waiting: Paced[] = [];
let turnEndScheduled = false;

function endTurn(): void {
  turnEndScheduled = false;
  for (const paced of readThisTurn) paced.bytes = 0;
  readThisTurn.clear();
  for (const paced of waiting.splice(0, BULK_SLICES_PER_TURN)) {
    if (paced.stream.destroyed) continue;
    paced.stream.resume();
  }
  if (waiting.length > 0) scheduleTurnEnd();
}

function scheduleTurnEnd(): void {
  if (turnEndScheduled) return;
  turnEndScheduled = true;
  setImmediate(endTurn);
}

/** Read `stream` (a connection's socket, plain or TLS) at most about a slice per turn, in turn with the others. */
export function paceReads(stream: Readable): void {
  const paced: Paced = { stream, bytes: 0 };
  stream.on("data", (chunk: Buffer) => {
    paced.bytes += chunk.length;
    readThisTurn.add(paced);
    scheduleTurnEnd();
    if (paced.bytes >= READ_SLICE_BYTES && !stream.isPaused()) {
      readPacing.pauses++;
      stream.pause();
      waiting.push(paced);
    }
  });
  stream.once("close", () => {
    readThisTurn.delete(paced);
    const at = waiting.indexOf(paced);
    if (at >= 0) waiting.splice(at, 1);
  });
}
