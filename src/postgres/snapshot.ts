/**
 * Catalog snapshots: the column lists of the tables a stack's workflows read, committed per
 * environment in `<spec folder>/catalog/<env>.json` (here `stacks/catalog/<env>.json`) as
 * `{ "schema.table": ["column", ...] }` (a contract).
 *
 * Why a snapshot: "every column but these" becomes one column grant listing every other column,
 * and a Pulumi program cannot read the live catalog at preview time without a database connection
 * in every CI job. The snapshot is the model's column source for Pulumi (the live catalog is the
 * reconciler's and drift's), so a rule naming a column the table lacks fails at preview. It is
 * reviewed like code, written by `dbwarden catalog` from the live database, and drift says when it
 * no longer matches the live columns (the component then grants from an outdated list).
 */
import { existsSync, readFileSync } from "node:fs";
import { tableName } from "@dbwarden/contract";
import type { ColumnSource } from "./model.ts";
import { catalogFile, specPaths } from "../spec/project.ts";

/**
 * `"schema.table"` -> the table's columns: their names in the database's order, or (what
 * `dbwarden catalog` writes) each name with its type as PostgreSQL prints it (`format_type`), for
 * the checks that depend on types (a mask on a column it cannot apply to).
 */
export type CatalogSnapshot = Readonly<Record<string, readonly string[] | Readonly<Record<string, string>>>>;

/** A snapshot entry's column names, in the database's order. */
export function entryColumns(entry: CatalogSnapshot[string]): readonly string[] {
  return Array.isArray(entry) ? entry : Object.keys(entry);
}

/** A column's type as the snapshot gives it; undefined for a names-only entry or an unknown column. */
export function entryType(entry: CatalogSnapshot[string] | undefined, column: string): string | undefined {
  return entry && !Array.isArray(entry) && Object.hasOwn(entry, column) ? (entry as Record<string, string>)[column] : undefined;
}

/** Where the snapshot of an environment lives: `<spec folder>/catalog/<env>.json` of the project at `root`. */
export function catalogPath(environment: string, root: string, specDir?: string): string {
  return catalogFile(environment, root, specDir);
}

/** The command that writes it, for messages (never with a URL: it holds a password). */
export function catalogCommand(environment: string): string {
  return `dbwarden catalog --stack ${environment} --url <admin url>`;
}

/** Check the shape of a parsed snapshot; `source` names the file in error messages. */
export function parseCatalog(json: unknown, source: string): CatalogSnapshot {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error(`${source}: expected an object { "schema.table": ["column", ...] }`);
  }
  const catalog: Record<string, string[] | Record<string, string>> = {};
  for (const [key, columns] of Object.entries(json)) {
    if (!/^[^.]+\.[^.]+$/.test(key)) {
      throw new Error(`${source}: key "${key}" must be "schema.table"`);
    }
    if (Array.isArray(columns) && columns.length > 0 && columns.every((c) => typeof c === "string" && c.length > 0)) {
      catalog[key] = [...columns];
      continue;
    }
    const typed = columns !== null && typeof columns === "object" && !Array.isArray(columns) ? Object.entries(columns as object) : [];
    if (typed.length === 0 || !typed.every(([name, type]) => name.length > 0 && typeof type === "string" && type.length > 0)) {
      throw new Error(`${source}: "${key}" must be a non-empty list of column names, or an object of column name -> type`);
    }
    catalog[key] = Object.fromEntries(typed) as Record<string, string>;
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
      `${path}: no catalog snapshot for environment "${environment}". Write it from the live database with ` +
        `\`${catalogCommand(environment)}\` (the columns of every table the workflows read: { "schema.table": ["column", ...] })`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseCatalog(json, path);
}

/** The environment's snapshot when one is committed (null when there is none), named as in the repository. */
export function committedCatalog(environment: string, root: string, specDir?: string): { catalog: CatalogSnapshot; source: string } | null {
  // The spec folder is found once (it reads package.json), then named to the calls below.
  const paths = specPaths(root, specDir);
  const file = catalogPath(environment, root, paths.specDir);
  if (!existsSync(file)) return null;
  return { catalog: loadCatalog(environment, root, paths.specDir), source: paths.shown(file) };
}

/** A snapshot as the model's column source; `source` names the file in messages. */
export function snapshotColumns(catalog: CatalogSnapshot, source: string): ColumnSource {
  return {
    name: source,
    columnsOf: (schema, table) => (Object.hasOwn(catalog, `${schema}.${table}`) ? entryColumns(catalog[`${schema}.${table}`]!) : undefined),
    typeOf: (schema, table, column) => entryType(Object.hasOwn(catalog, `${schema}.${table}`) ? catalog[`${schema}.${table}`] : undefined, column),
    addTableHint: (schema, table) =>
      `Add "${schema}.${table}": [its columns] to ${source}, or write it from the live database with \`${catalogCommand("<env>")}\``,
  };
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The snapshot as committed: keys sorted, one table per line, columns in the database's order, a
 * trailing newline. The same live columns always give the same bytes.
 */
export function formatCatalog(catalog: CatalogSnapshot): string {
  const keys = Object.keys(catalog).sort(byString);
  if (keys.length === 0) return "{}\n";
  const entry = (columns: CatalogSnapshot[string]) =>
    Array.isArray(columns)
      ? `[${columns.map((c) => JSON.stringify(c)).join(", ")}]`
      : `{ ${Object.entries(columns)
          .map(([c, type]) => `${JSON.stringify(c)}: ${JSON.stringify(type)}`)
          .join(", ")} }`;
  return `{\n${keys.map((k) => `  ${JSON.stringify(k)}: ${entry(catalog[k]!)}`).join(",\n")}\n}\n`;
}

/** How a planned table's live columns differ from the snapshot's. */
export interface StaleTable {
  table: string;
  /** The snapshot does not list the table at all. */
  missing: boolean;
  /** Live columns the snapshot lacks, in the database's order. */
  added: string[];
  /** Columns the snapshot lists that the table no longer has. */
  removed: string[];
}

/**
 * The planned tables whose live columns differ from the snapshot's (a table the database lacks is
 * a problem of the model, not of the snapshot, and is left out). Sorted by table.
 */
export function staleTables(
  catalog: CatalogSnapshot,
  tables: ReadonlyArray<{ schema: string; table: string }>,
  liveColumnsOf: (schema: string, table: string) => readonly string[] | undefined,
): StaleTable[] {
  const stale: StaleTable[] = [];
  for (const t of tables) {
    const live = liveColumnsOf(t.schema, t.table);
    if (!live) continue;
    const key = tableName(t);
    const listed = Object.hasOwn(catalog, key) ? entryColumns(catalog[key]!) : null;
    const added = live.filter((c) => !listed?.includes(c));
    const removed = (listed ?? []).filter((c) => !live.includes(c));
    if (listed === null || added.length > 0 || removed.length > 0) stale.push({ table: key, missing: listed === null, added, removed });
  }
  return stale.sort((a, b) => byString(a.table, b.table));
}

/**
 * What validation asks of a project's snapshots: per environment, its committed snapshot as a
 * lookup of tables, columns and types, or null when there is none (or it does not parse: the
 * loaders that need it say why).
 */
export function snapshotLookups(
  root: string,
  specDir?: string,
): (
  environment: string,
) => { source: string; columnsOf: ColumnSource["columnsOf"]; typeOf: (schema: string, table: string, column: string) => string | undefined } | null {
  const found = new Map<string, ReturnType<ReturnType<typeof snapshotLookups>>>();
  return (environment) => {
    if (!found.has(environment)) {
      let committed: ReturnType<typeof committedCatalog>;
      try {
        committed = committedCatalog(environment, root, specDir);
      } catch {
        committed = null; // malformed: the loaders that read it say why
      }
      const columns = committed ? snapshotColumns(committed.catalog, committed.source) : null;
      found.set(environment, columns && committed ? { source: committed.source, columnsOf: columns.columnsOf, typeOf: columns.typeOf! } : null);
    }
    return found.get(environment)!;
  };
}
