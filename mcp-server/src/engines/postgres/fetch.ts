/**
 * Layer 4 of enforcement: rows are capped at the portal (Execute with a row count, N+1 rows at
 * most) and result bytes are capped while reading, whatever the SQL text says. The readers here
 * receive one statement's rows as the session's pipeline (session.ts) gets them from the wire.
 */
import { JsonRows, type ResultLease } from "../engine.js";
import type { RowSet } from "../engine.js";

/** A column of a result, as the RowDescription message gives it. */
export interface ResultField {
  name: string;
  dataTypeID: number;
}

/** Reads the rows of one statement of a pipeline (session.ts `Step`). */
export interface RowReader {
  /** Execute's row limit; 0 reads every row. */
  readonly limit: number;
  fields(fields: readonly ResultField[]): void;
  /** One row's values in text form (null for SQL NULL). */
  row(values: ReadonlyArray<string | null>): void;
  /** The portal had more rows than `limit`: nothing more is fetched. */
  suspended(): void;
}

// Result values: numbers and booleans as JSON natives, json/jsonb parsed, everything else as the
// database's own text (int8 and numeric keep their precision, timestamps their zone). Each written
// straight into the result's rows (results.ts `JsonRows`), as JSON.stringify would write the value.
type ValueWriter = (rows: JsonRows, value: string) => void;
const TEXT: ValueWriter = (rows, v) => rows.string(v);
/** int2, int4, oid: PostgreSQL's text of them is the JSON number's (no sign but minus, no leading zero). */
const INTEGER: ValueWriter = (rows, v) => rows.plain(v);
const FLOAT: ValueWriter = (rows, v) => {
  const n = Number(v);
  // A JavaScript number's text (1e-7, not 1e-07; -0 as 0); NaN and the infinities stay text.
  if (Number.isFinite(n)) rows.plain(JSON.stringify(n));
  else rows.string(v);
};
/** json, jsonb: parsed and stringified again (no whitespace; a repeated key's last value). */
const JSON_VALUE: ValueWriter = (rows, v) => rows.json(JSON.stringify(JSON.parse(v)));
const WRITERS: Record<number, ValueWriter> = {
  16: (rows, v) => rows.plain(v === "t" ? "true" : "false"),
  21: INTEGER,
  23: INTEGER,
  26: INTEGER,
  700: FLOAT,
  701: FLOAT,
  114: JSON_VALUE,
  3802: JSON_VALUE,
};
const TYPE_NAMES: Record<number, string> = {
  16: "boolean",
  17: "bytea",
  18: "char",
  19: "name",
  20: "bigint",
  21: "smallint",
  23: "integer",
  25: "text",
  26: "oid",
  114: "json",
  700: "real",
  701: "double precision",
  869: "inet",
  1042: "character",
  1043: "character varying",
  1082: "date",
  1083: "time",
  1114: "timestamp",
  1184: "timestamptz",
  1186: "interval",
  1700: "numeric",
  2950: "uuid",
  3802: "jsonb",
};
export const typeName = (oid: number) => TYPE_NAMES[oid] ?? `oid ${oid}`;

/**
 * At most `maxRows` rows and about `maxBytes` bytes of row data. The portal is executed with a
 * limit of `maxRows + 1`: one row more says the result was truncated, and the rest is never
 * fetched (the transaction's ROLLBACK closes the portal). Each row is kept as its JSON text, the
 * form the answer carries it in, in buffers outside the JS heap (results.ts `JsonRows`), and
 * counted against the server's result memory
 * (`memory`): a row the budget cannot hold ends the read, and `result()` refuses with BUSY.
 */
export class CappedRows implements RowReader {
  readonly limit: number;
  private columns: RowSet["columns"] = [];
  private writers: ValueWriter[] = [];
  private readonly rows = new JsonRows();
  private bytes = 0;
  private truncated = false;
  private overBudget = false;

  constructor(
    private readonly maxRows: number,
    private readonly maxBytes: number,
    private readonly memory: ResultLease | null = null,
  ) {
    this.limit = maxRows + 1;
  }

  fields(fields: readonly ResultField[]): void {
    this.columns = fields.map((f) => ({ name: f.name, type: typeName(f.dataTypeID) }));
    this.writers = fields.map((f) => WRITERS[f.dataTypeID] ?? TEXT);
  }

  row(values: ReadonlyArray<string | null>): void {
    if (this.truncated) return;
    if (this.rows.length >= this.maxRows) {
      this.truncated = true;
      return;
    }
    let size = 2;
    for (const v of values) size += v === null ? 5 : v.length + 3;
    if (this.bytes + size > this.maxBytes) {
      this.truncated = true;
      return;
    }
    const rows = this.rows;
    const writers = this.writers;
    rows.beginRow();
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null || v === undefined) rows.plain("null");
      else (writers[i] ?? TEXT)(rows, v);
    }
    if (!rows.endRow((bytes) => !this.memory || this.memory.grow(bytes))) {
      this.overBudget = this.truncated = true;
      return;
    }
    this.bytes += size;
  }

  suspended(): void {
    this.truncated = true;
  }

  /** The rows read; BUSY when the server's result memory could not hold them. */
  result(): RowSet {
    if (this.overBudget) throw this.memory!.refusal();
    return { columns: this.columns, rows: this.rows, truncated: this.truncated, bytes: this.bytes };
  }
}

/** The first column of each row as text, at most `maxRows` rows and about `maxBytes` characters: EXPLAIN's plan lines. */
export class CappedLines implements RowReader {
  readonly limit: number;
  readonly lines: string[] = [];
  private chars = 0;

  constructor(
    private readonly maxRows: number,
    private readonly maxBytes: number,
  ) {
    this.limit = maxRows;
  }

  fields(): void {}

  row(values: ReadonlyArray<string | null>): void {
    const line = values[0] ?? "";
    if (this.lines.length >= this.maxRows || this.chars + line.length > this.maxBytes) return;
    this.chars += line.length + 1;
    this.lines.push(line);
  }

  suspended(): void {}
}

/** Every row, as objects of text values by column name: for the server's own catalog statements. */
export class TextRows implements RowReader {
  readonly limit = 0;
  private names: string[] = [];
  readonly rows: Array<Record<string, string | null>> = [];

  fields(fields: readonly ResultField[]): void {
    this.names = fields.map((f) => f.name);
  }

  row(values: ReadonlyArray<string | null>): void {
    const row: Record<string, string | null> = {};
    this.names.forEach((name, i) => (row[name] = values[i] ?? null));
    this.rows.push(row);
  }

  suspended(): void {}
}
