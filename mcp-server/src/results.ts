/**
 * Query results in memory: a server-wide budget, and results kept as the rows came rather than
 * built into one text.
 *
 * Why: a result is held from the moment its rows arrive until it is written to the client. Built
 * whole (rows parsed into values, the payload stringified, the JSON-RPC answer stringified again
 * around it) one 57 MB result cost about 490 MB of RSS and stalled every other client while the
 * strings were built and collected. Here each row is written, as its JSON text already escaped for
 * the answer, into large buffers outside the JavaScript heap (`JsonRows`: a 16 MiB result is a few
 * dozen objects for the garbage collector, not 100,000 strings), value by value: no row's JSON
 * text or escaped copy is ever a string (that was two thirds of a large result's CPU time, 0.6 s
 * for 16 MiB, while every other call waited; `npm run bench -- large`), the tool's answer is those rows
 * between a head and a tail (`PiecewiseText`), and the HTTP transport writes it a buffer at a time,
 * waiting for the socket between them (http-exchange.ts). Only a transport that needs one string
 * (stdio) builds it.
 *
 * The budget (`ResultMemory`, runtime `resultMemoryBytes`) counts every result's bytes from the
 * first row read until its answer is written (or dropped): a call whose rows would go over it is
 * refused with BUSY, rather than the server slowing every client down or running out of memory.
 */
import { ToolError } from "./errors.js";

/** The first buffer of a result's rows; each next one doubles, up to ROWS_CHUNK_MAX. */
const ROWS_CHUNK_MIN = 4 * 1024;
const ROWS_CHUNK_MAX = 256 * 1024;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const BACKSLASH = 0x5c;
const QUOTE = 0x22;

/** A text as the content of a JSON string: escaped, without the quotes. */
const escaped = (text: string) => JSON.stringify(text).slice(1, -1);

/** UTF-16 surrogates: JSON.stringify escapes a lone one, where UTF-8 would write U+FFFD. */
const SURROGATE = /[\ud800-\udfff]/;

/**
 * Rows of a result joined by commas, in buffers outside the JS heap, each row's JSON text kept
 * escaped as the content of a JSON string: the form the HTTP answer carries it in (a tool result's
 * text is a JSON string inside the JSON-RPC answer), so writing it copies bytes and escapes nothing.
 * Each row is whole in one buffer (a longer row gets a buffer of its own).
 *
 * A row is written value by value (`beginRow`, `string`/`plain`/`json`, `endRow`): the bytes are
 * those of `escape(JSON.stringify(values))`, without building the row's text, its JSON or its
 * escaped copy (JSON escaping is character by character, and the array's brackets and commas need
 * none, so the row's escaped text is its values' escaped texts between them). A text value needing
 * no escape, the common case, is written as it is between escaped quotes: one copy into the buffer.
 */
export class JsonRows {
  private readonly full: Buffer[] = [];
  private current: Buffer = Buffer.allocUnsafe(0);
  private used = 0;
  /** Where the row being written starts in `current` (its comma included), and its values so far. */
  private rowStart = 0;
  private rowValues = 0;
  /** Rows held. */
  length = 0;
  /** Bytes held (escaped UTF-8, commas included). */
  byteLength = 0;

  /** Rows given as JSON texts (tests, engines that build rows whole). */
  static from(texts: readonly string[]): JsonRows {
    const rows = new JsonRows();
    for (const text of texts) rows.push(rows.escape(text));
    return rows;
  }

  /** A row's JSON text in the form `push` takes (the bytes it holds: `sizeOf`). */
  escape(json: string): string {
    return escaped(json);
  }

  /** The bytes a row (escaped) takes, its comma included. */
  static sizeOf(escapedJson: string): number {
    return Buffer.byteLength(escapedJson) + 1;
  }

  /** Append one row: its JSON text escaped by `escape`. */
  push(escapedJson: string): void {
    this.rowStart = this.used;
    this.room(Buffer.byteLength(escapedJson) + 1);
    if (this.length > 0) this.current[this.used++] = COMMA;
    this.used += this.current.write(escapedJson, this.used);
    this.length++;
    this.byteLength += JsonRows.sizeOf(escapedJson);
  }

  /** Start a row (an array): its values follow, then `endRow`. */
  beginRow(): void {
    this.rowStart = this.used;
    this.rowValues = 0;
    this.room(2);
    if (this.length > 0) this.current[this.used++] = COMMA;
    this.current[this.used++] = OPEN;
  }

  /** A value that is a JSON string holding `text`. */
  string(text: string): void {
    this.separate();
    // The common case: a text JSON.stringify leaves as it is (no quote, backslash, control
    // character or surrogate), written between escaped quotes. At most 3 bytes of UTF-8 per UTF-16 unit.
    this.room(3 * text.length + 4);
    const buffer = this.current;
    const start = this.used + 2;
    buffer[start - 2] = BACKSLASH;
    buffer[start - 1] = QUOTE;
    const end = start + buffer.write(text, start);
    let plain = end - start === text.length || !SURROGATE.test(text);
    for (let i = start; plain && i < end; i++) {
      const byte = buffer[i]!;
      plain = byte >= 0x20 && byte !== QUOTE && byte !== BACKSLASH;
    }
    if (!plain) return this.written(escaped(JSON.stringify(text)));
    buffer[end] = BACKSLASH;
    buffer[end + 1] = QUOTE;
    this.used = end + 2;
  }

  /** A value given as JSON text that JSON escaping leaves alone (ASCII): a number's digits, true, false, null. */
  plain(json: string): void {
    this.separate();
    this.room(json.length);
    const buffer = this.current;
    for (let i = 0; i < json.length; i++) buffer[this.used++] = json.charCodeAt(i);
  }

  /** A value given as any JSON text (a parsed json column stringified again). */
  json(json: string): void {
    this.separate();
    this.written(escaped(json));
  }

  /**
   * End the row begun; `keep(bytes)` is asked with its size (escaped, comma counted, as `sizeOf`):
   * false drops the row, as if never begun. Returns `keep`'s answer.
   */
  endRow(keep: (bytes: number) => boolean = () => true): boolean {
    this.room(1);
    this.current[this.used++] = CLOSE;
    const bytes = this.used - this.rowStart + (this.length > 0 ? 0 : 1);
    if (!keep(bytes)) {
      this.used = this.rowStart;
      return false;
    }
    this.length++;
    this.byteLength += bytes;
    return true;
  }

  /** The rows joined by commas, escaped as the content of a JSON string, a buffer at a time. */
  *escapedBuffers(): Generator<Buffer> {
    for (const buffer of this.full) yield buffer;
    if (this.used > 0) yield this.current.subarray(0, this.used);
  }

  /** The rows joined by commas (unescaped: the JSON texts). */
  toString(): string {
    return JSON.parse(`"${Buffer.concat([...this.escapedBuffers()]).toString("utf8")}"`) as string;
  }

  /** Each row's values (tests, small results). */
  values(): unknown[][] {
    return JSON.parse(`[${this.toString()}]`) as unknown[][];
  }

  /** The comma before a row's second and later values. */
  private separate(): void {
    if (this.rowValues++ === 0) return;
    this.room(1);
    this.current[this.used++] = COMMA;
  }

  /** Escaped text (no more escaping needed) written as it is. */
  private written(escapedText: string): void {
    this.room(3 * escapedText.length);
    this.used += this.current.write(escapedText, this.used);
  }

  /**
   * Room for `bytes` more in the current buffer: else a new one (each twice the last, up to
   * ROWS_CHUNK_MAX, or as large as the row needs), with the row begun so far moved into it.
   */
  private room(bytes: number): void {
    if (this.used + bytes <= this.current.length) return;
    const row = this.used - this.rowStart;
    const size = Math.max(row + bytes, Math.min(ROWS_CHUNK_MAX, Math.max(ROWS_CHUNK_MIN, this.current.length * 2)));
    const next = Buffer.allocUnsafe(size);
    this.current.copy(next, 0, this.rowStart, this.used);
    if (this.rowStart > 0) this.full.push(this.current.subarray(0, this.rowStart));
    this.current = next;
    this.used = row;
    this.rowStart = 0;
  }
}

/** The budget of result bytes held by the whole server. */
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

  /** Take room for `bytes` more; false (nothing taken) when the budget cannot hold them. */
  grow(bytes: number): boolean {
    if (this.released || !this.memory.take(bytes)) return false;
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

/**
 * A tool's answer text as a head, the rows of a result, and a tail: never joined unless a transport
 * asks for the whole text. Holds the lease of its rows.
 */
export class PiecewiseText {
  constructor(
    readonly head: string,
    readonly rows: JsonRows,
    readonly tail: string,
    readonly lease: ResultLease | null,
  ) {}

  toString(): string {
    return this.head + this.rows.toString() + this.tail;
  }

  /** The text as the content of a JSON string (escaped, without the quotes), a buffer at a time. */
  *jsonChunks(): Generator<Buffer> {
    yield Buffer.from(escaped(this.head));
    yield* this.rows.escapedBuffers();
    yield Buffer.from(escaped(this.tail));
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
