/**
 * Query results in memory: a server-wide budget, and results kept as the rows came rather than
 * built into one text.
 *
 * Why: a result is held from the moment its rows arrive until it is written to the client. Built
 * whole (rows parsed into values, the payload stringified, the JSON-RPC answer stringified again
 * around it) one 57 MB result cost about 490 MB of RSS and stalled every other client while the
 * strings were built. Here each row is kept as its JSON text, the tool's answer as those rows between
 * a head and a tail (`PiecewiseText`), and the HTTP transport escapes and writes it chunk by chunk,
 * waiting for the socket between chunks (http-exchange.ts). Only a transport that needs one string
 * (stdio) builds it.
 *
 * The budget (`ResultMemory`, runtime `resultMemoryBytes`) counts every result's characters from
 * the first row read until its answer is written (or dropped): a call whose rows would go over it is
 * refused with BUSY, rather than the server slowing every client down or running out of memory.
 */
import { ToolError } from "./errors.js";

/** What one row costs on top of its text (the string's header, the list's slot). */
const ROW_OVERHEAD = 32;

/** The budget of result characters held by the whole server. */
export class ResultMemory {
  private used = 0;

  constructor(private limit: number) {}

  /** The budget (runtime `resultMemoryBytes`); a reload may change it. */
  get bytes(): number {
    return this.limit;
  }

  set bytes(limit: number) {
    this.limit = limit;
  }

  /** Held now, by every lease. */
  get inUse(): number {
    return this.used;
  }

  /** A lease for one call's result, empty until its rows arrive. */
  lease(): ResultLease {
    return new ResultLease(this);
  }

  /** @internal */
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.used -= bytes;
  }
}

/** One call's share of the budget: grows row by row, released once its answer is written or dropped. */
export class ResultLease {
  private held = 0;
  private released = false;

  constructor(private readonly memory: ResultMemory) {}

  /** Take room for one more row of `chars` characters; false (nothing taken) when the budget cannot hold it. */
  growRow(chars: number): boolean {
    if (this.released) return false;
    const bytes = chars + ROW_OVERHEAD;
    if (!this.memory.take(bytes)) return false;
    this.held += bytes;
    return true;
  }

  /** Give everything back (idempotent). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.memory.give(this.held);
    this.held = 0;
  }

  /** The refusal of a call whose result would not fit. */
  refusal(): ToolError {
    const mib = Math.round(this.memory.bytes / 1024 ** 2);
    return new ToolError(
      "BUSY",
      `the server is holding as many query results as it may (${mib} MiB) for other calls; retry shortly, or ask for fewer rows or columns.`,
      "result-memory",
    );
  }
}

/** Where a long piece is cut, not between the two halves of a surrogate pair. */
function cutAt(text: string, at: number): number {
  const code = text.charCodeAt(at - 1);
  return code >= 0xd800 && code <= 0xdbff ? at - 1 : at;
}

/**
 * A tool's answer text as a head, items joined by a separator, and a tail: a query's rows as they
 * came, never joined unless a transport asks for the whole text. Holds the lease of its rows.
 */
export class PiecewiseText {
  constructor(
    readonly head: string,
    readonly items: readonly string[],
    readonly separator: string,
    readonly tail: string,
    readonly lease: ResultLease | null,
  ) {}

  toString(): string {
    return this.head + this.items.join(this.separator) + this.tail;
  }

  /** The text in order, in pieces of at most about `chunkChars` characters (a longer item is cut). */
  *chunks(chunkChars: number): Generator<string> {
    let chunk = this.head;
    for (let i = 0; i < this.items.length; i++) {
      let item = i === 0 ? this.items[i]! : this.separator + this.items[i]!;
      if (chunk.length + item.length > chunkChars && chunk.length > 0) {
        yield chunk;
        chunk = "";
      }
      while (item.length > chunkChars) {
        const cut = cutAt(item, chunkChars);
        yield item.slice(0, cut);
        item = item.slice(cut);
      }
      chunk += item;
    }
    yield chunk + this.tail;
  }

  /** The text as the content of a JSON string (escaped, without the quotes), in pieces of about `chunkChars`. */
  *jsonChunks(chunkChars: number): Generator<string> {
    for (const chunk of this.chunks(chunkChars)) yield JSON.stringify(chunk).slice(1, -1);
  }
}

/** Marks a text content item whose text is a PiecewiseText. */
export const PIECEWISE = Symbol("dbwarden.piecewiseText");

export interface PiecewiseContent {
  type: "text";
  /** The whole text, built when read (stdio, a JSON.stringify of the answer). */
  readonly text: string;
  readonly [PIECEWISE]: PiecewiseText;
}

/** A text content item over a PiecewiseText: transports that can write it piece by piece do; others read `text`. */
export function piecewiseContent(text: PiecewiseText): PiecewiseContent {
  const item = { type: "text" as const, [PIECEWISE]: text };
  Object.defineProperty(item, "text", { enumerable: true, get: () => text.toString() });
  return item as PiecewiseContent;
}

/** The PiecewiseText of a content item, if it has one. */
export function piecewiseOf(value: unknown): PiecewiseText | null {
  return typeof value === "object" && value !== null && PIECEWISE in value ? (value as PiecewiseContent)[PIECEWISE] : null;
}

/** Every PiecewiseText in a JSON-RPC message's result (a tool result's content). */
export function piecewiseTextsOf(message: unknown): PiecewiseText[] {
  const content = (message as { result?: { content?: unknown } } | null)?.result?.content;
  if (!Array.isArray(content)) return [];
  return content.map(piecewiseOf).filter((t): t is PiecewiseText => t !== null);
}

/** Give back the result memory a message holds (its answer was written, or will never be). */
export function releaseResults(message: unknown): void {
  for (const text of piecewiseTextsOf(message)) text.lease?.release();
}
