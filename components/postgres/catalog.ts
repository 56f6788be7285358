/**
 * Catalog snapshots: the column lists of the tables a plan reads, committed per environment in
 * `stacks/catalog/<env>.json` as `{ "schema.table": ["column", ...] }`.
 *
 * Why a snapshot: "every column but these" becomes one column grant listing every other column,
 * and a Pulumi program cannot read the live catalog at preview time without a database connection
 * in every CI job. The snapshot is the model's column source for Pulumi (the live catalog is the
 * reconciler's and drift's), so a rule naming a column the table lacks fails at preview. It is
 * reviewed like code.
 */
import { readFileSync } from "node:fs";
import type { ColumnSource } from "../../src/postgres/model.ts";
import { catalogFile } from "../../src/spec/project.ts";

/** `"schema.table"` -> the table's columns. */
export type CatalogSnapshot = Readonly<Record<string, readonly string[]>>;

/** Where the snapshot of an environment lives: `<spec folder>/catalog/<env>.json` of the project at `root`. */
export function catalogPath(environment: string, root: string, specDir?: string): string {
  return catalogFile(environment, root, specDir);
}

/** Check the shape of a parsed snapshot; `source` names the file in error messages. */
export function parseCatalog(json: unknown, source: string): CatalogSnapshot {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error(`${source}: expected an object { "schema.table": ["column", ...] }`);
  }
  const catalog: Record<string, string[]> = {};
  for (const [key, columns] of Object.entries(json)) {
    if (!/^[^.]+\.[^.]+$/.test(key)) {
      throw new Error(`${source}: key "${key}" must be "schema.table"`);
    }
    if (!Array.isArray(columns) || columns.length === 0 || !columns.every((c) => typeof c === "string" && c.length > 0)) {
      throw new Error(`${source}: "${key}" must be a non-empty list of column names`);
    }
    catalog[key] = [...columns];
  }
  return catalog;
}

/** Read and check `<spec folder>/catalog/<environment>.json` of the project at `root`. */
export function loadCatalog(environment: string, root: string, specDir?: string): CatalogSnapshot {
  const path = catalogPath(environment, root, specDir);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(
      `${path}: no catalog snapshot for environment "${environment}". Create it with the columns of every table the workflows read: { "schema.table": ["column", ...] }`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
  return parseCatalog(json, path);
}

/** A snapshot as the model's column source; `source` names the file in messages. */
export function snapshotColumns(catalog: CatalogSnapshot, source: string): ColumnSource {
  return {
    name: source,
    columnsOf: (schema, table) => (Object.hasOwn(catalog, `${schema}.${table}`) ? catalog[`${schema}.${table}`] : undefined),
    addTableHint: (schema, table) =>
      `Add "${schema}.${table}": [its columns] to ${source} (e.g. from \\d ${schema}.${table} on the primary)`,
  };
}
