/**
 * A database connection read a slice per turn of the event loop, so that one large result cannot
 * hold the server's one thread while other calls wait (issue 18).
 *
 * Why: libuv reads a readable socket up to 32 times (64 KiB each) in one turn, and pg parses every
 * row of each read as it comes: a capped-maximum result streaming in held the thread for tens of
 * milliseconds per connection per turn, and a small call, which needs several turns (its request,
 * its statements' answers, its audit line, its answer), waited behind them each time: with eight
 * such results beside them other clients' calls took seconds. Here a connection that has delivered
 * READ_SLICE_BYTES in the current turn is paused until the next one (setImmediate, after the turn's
 * other I/O), so each turn reads about a slice per busy connection and other calls' steps run in
 * between. The database waits on its socket meanwhile (TCP backpressure), which costs it nothing;
 * small answers never reach a slice and are never paused.
 */
import type { Readable } from "node:stream";

/** Bytes a connection may deliver in one turn of the event loop before it waits for the next. */
export const READ_SLICE_BYTES = 64 * 1024;

/** How many times connections were paused until the next turn (tests read it: a large result is read over many turns). */
export const readPacing = { pauses: 0 };

/** Read `stream` (a connection's socket, plain or TLS) at most about a slice per turn. */
export function paceReads(stream: Readable): void {
  let bytes = 0;
  let turnEnding = false;
  let paused = false;
  const nextTurn = () => {
    turnEnding = false;
    bytes = 0;
    if (paused) {
      paused = false;
      stream.resume();
    }
  };
  stream.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
    if (!turnEnding) {
      turnEnding = true;
      setImmediate(nextTurn);
    }
    if (bytes >= READ_SLICE_BYTES && !paused) {
      paused = true;
      readPacing.pauses++;
      stream.pause();
    }
  });
}
