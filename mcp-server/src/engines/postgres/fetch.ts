/**
 * Layer 4 of enforcement: rows are capped at the portal (Execute with a row count, N+1 rows at
 * most) and result bytes are capped while fetching, whatever the SQL text says.
 */
import pg from "pg";
import type { RowSet } from "../engine.js";

// Result values: numbers and booleans as JSON natives, json/jsonb parsed, everything else as the
// database's own text (int8 and numeric keep their precision, timestamps their zone).
const TEXT = (value: string) => value;
const PARSERS: Record<number, (value: string) => unknown> = {
  16: (v) => v === "t",
  21: Number,
  23: Number,
  26: Number,
  700: (v) => (Number.isFinite(Number(v)) ? Number(v) : v),
  701: (v) => (Number.isFinite(Number(v)) ? Number(v) : v),
  114: (v) => JSON.parse(v),
  3802: (v) => JSON.parse(v),
};
const TYPES = { getTypeParser: (oid: number) => PARSERS[oid] ?? TEXT };
const TYPE_NAMES: Record<number, string> = {
  16: "boolean", 17: "bytea", 18: "char", 19: "name", 20: "bigint", 21: "smallint", 23: "integer", 25: "text", 26: "oid",
  114: "json", 700: "real", 701: "double precision", 869: "inet", 1042: "character", 1043: "character varying",
  1082: "date", 1083: "time", 1114: "timestamp", 1184: "timestamptz", 1186: "interval", 1700: "numeric",
  2950: "uuid", 3802: "jsonb",
};
export const typeName = (oid: number) => TYPE_NAMES[oid] ?? `oid ${oid}`;

type QueryBase = new (config: Record<string, unknown>, values?: unknown, callback?: (err: Error | null, result: unknown) => void) => Record<string, any>;
const BaseQuery = pg.Query as unknown as QueryBase;

/**
 * A query whose portal returns at most `maxRows + 1` rows, and which keeps rows only up to
 * `maxRows` and `maxBytes`: the cap is in the protocol, not in the SQL text. Execute and Sync go out
 * in one write (one round trip): the call runs inside its own `BEGIN READ ONLY`, so the portal
 * survives the Sync until the ROLLBACK, and whatever it did not return is never fetched.
 */
class CappedQuery extends BaseQuery {
  seen = 0;
  bytes = 0;
  truncated = false;

  constructor(text: string, values: readonly unknown[], readonly maxRows: number, readonly maxBytes: number, callback: (err: Error | null, result: any) => void) {
    super({ text, values, rows: maxRows + 1, rowMode: "array", types: TYPES, queryMode: "extended" }, undefined, callback);
  }

  handleDataRow(msg: { fields: Array<string | Buffer | null> }): void {
    this.seen++;
    if (this.truncated) return;
    if (this.seen > this.maxRows) {
      this.truncated = true;
      return;
    }
    let size = 2;
    for (const f of msg.fields) size += f === null ? 5 : f.length + 3;
    if (this.bytes + size > this.maxBytes) {
      this.truncated = true;
      return;
    }
    this.bytes += size;
    super.handleDataRow(msg);
  }

  /** pg's default flushes and waits for more; ours sends the Sync at once (see above). */
  _getRows(connection: { execute(c: { portal: string; rows: number }): void; sync(): void }, rows: number): void {
    connection.execute({ portal: this.portal as string, rows });
    connection.sync();
  }

  /** pg syncs here for row-limited portals; ours already did. */
  handleCommandComplete(msg: unknown): void {
    this._checkForMultirow();
    this._result.addCommandComplete(msg);
  }

  /** More rows than `maxRows + 1` exist: the Sync is already on its way, nothing more is fetched. */
  handlePortalSuspended(): void {
    this.truncated = true;
  }
}

/** One statement over the extended protocol, capped at `maxRows` rows and `maxBytes` bytes. */
export function fetchCapped(client: pg.PoolClient, text: string, values: readonly unknown[], maxRows: number, maxBytes: number): Promise<RowSet> {
  return new Promise((resolve, reject) => {
    const query: CappedQuery = new CappedQuery(text, values, maxRows, maxBytes, (err, result) => {
      if (err) return reject(err);
      const fields = (result?.fields ?? []) as Array<{ name: string; dataTypeID: number }>;
      resolve({
        columns: fields.map((f) => ({ name: f.name, type: typeName(f.dataTypeID) })),
        rows: (result?.rows ?? []) as unknown[][],
        truncated: query.truncated,
        bytes: query.bytes,
      });
    });
    client.query(query as unknown as pg.QueryConfig);
  });
}
