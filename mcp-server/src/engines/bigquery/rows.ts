/**
 * Rows as the REST API returns them (`{ f: [{ v }] }`, every scalar a string, RECORD a nested
 * row, REPEATED a list of `{ v }`), turned into plain JSON values for the `query` tool, and their
 * approximate size for the result's byte cap.
 */

export interface RawRow {
  f?: Array<{ v?: unknown }>;
}

interface Field {
  name: string;
  type: string;
  mode?: string;
  fields?: unknown[];
}

/** One cell as a JSON value: scalars stay the service's strings (INT64 and NUMERIC keep every digit). */
export function cellValue(field: Field, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (field.mode === "REPEATED" && Array.isArray(value)) {
    return value.map((item) => cellValue({ ...field, mode: "NULLABLE" }, (item as { v?: unknown })?.v));
  }
  if ((field.type === "RECORD" || field.type === "STRUCT") && typeof value === "object") {
    const subfields = (field.fields ?? []) as Field[];
    const cells = (value as RawRow).f ?? [];
    return Object.fromEntries(subfields.map((sub, i) => [sub.name, cellValue(sub, cells[i]?.v)]));
  }
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Approximate bytes of a row: its JSON text. */
export function rowBytes(values: readonly unknown[]): number {
  return Buffer.byteLength(JSON.stringify(values));
}
