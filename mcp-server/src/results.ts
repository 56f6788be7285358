/**
 * Query results in memory: a server-wide budget, and results kept as the rows came rather than
 * built into one text.
 *
 * Why: a result is held from the moment its rows arrive until it is written to the client. Built
 * whole (rows parsed into values, the payload stringified, the JSON-RPC answer stringified again
 * around it) one 57 MB result cost about 490 MB of RSS and stalled every other client while the
 * strings were built and collected. Here each row is written, as its JSON text already escaped for
 * the answer, into large buffers outside the JavaScript heap (`JsonRows`: a 16 MiB result is a few
 * dozen objects for the garbage collector, not 100,000 strings), the tool's answer is those rows
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

/** A text as the content of a JSON string: escaped, without the quotes. */
const escaped = (text: string) => JSON.stringify(text).slice(1, -1);

/**
 * Rows of a result joined by commas, in buffers outside the JS heap, each row's JSON text kept
 * escaped as the content of a JSON string: the form the HTTP answer carries it in (a tool result's
 * text is a JSON string inside the JSON-RPC answer), so writing it copies bytes and escapes nothing.
 * Each row is whole in one buffer (a longer row gets a buffer of its own).
 */
export class JsonRows {
  private readonly full: Buffer[] = [];
  private current: Buffer | null = null;
  private used = 0;
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
    const need = JsonRows.sizeOf(escapedJson);
    if (!this.current || this.used + need > this.current.length) {
      if (this.current) this.full.push(this.current.subarray(0, this.used));
      const size = Math.max(need, Math.min(ROWS_CHUNK_MAX, (this.current?.length ?? ROWS_CHUNK_MIN / 2) * 2));
      this.current = Buffer.allocUnsafe(size);
      this.used = 0;
    }
    if (this.length > 0) this.current[this.used++] = COMMA;
    this.used += this.current.write(escapedJson, this.used);
    this.length++;
    this.byteLength += need;
  }

  /** The rows joined by commas, escaped as the content of a JSON string, a buffer at a time. */
  *escapedBuffers(): Generator<Buffer> {
    for (const buffer of this.full) yield buffer;
    if (this.current && this.used > 0) yield this.current.subarray(0, this.used);
  }

  /** The rows joined by commas (unescaped: the JSON texts). */
  toString(): string {
    return JSON.parse(`"${Buffer.concat([...this.escapedBuffers()]).toString("utf8")}"`) as string;
  }

  /** Each row's values (tests, small results). */
  values(): unknown[][] {
    return JSON.parse(`[${this.toString()}]`) as unknown[][];
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
