/**
 * What `dbwarden catalog` reads from a live database: the snapshot entries of exactly the tables a
 * target's workflows read (apart from snapshot.ts, which is the file format and needs no driver).
 */
import { tableKey, tableName, workflowsOf, type AccessPlan } from "@dbwarden/contract";
import type pg from "pg";
import { readTableColumns } from "./catalog.ts";
import { plannedTables } from "./model.ts";

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** What `dbwarden catalog` reads from one target's database: the snapshot's entries, and the planned tables it lacks. */
export interface LiveSnapshot {
  /** Each table's columns with their types, in the database's order. */
  catalog: Record<string, Record<string, string>>;
  /** Planned tables the database does not have, each with the workflows that read it. */
  missing: Array<{ table: string; workflows: string[] }>;
}

/** The columns of exactly the tables `target`'s workflows read, from its live database (one round trip). */
export async function liveSnapshot(client: pg.ClientBase, plan: AccessPlan, target: string): Promise<LiveSnapshot> {
  const tables = plannedTables(plan, target);
  const live = await readTableColumns(client, tables);
  const catalog: Record<string, Record<string, string>> = {};
  const missing: LiveSnapshot["missing"] = [];
  for (const t of tables) {
    const found = live.get(tableKey(t.schema, t.table));
    if (found) catalog[tableName(t)] = Object.fromEntries(found.columns.map((c, i) => [c, found.types[i]!]));
    else {
      const readers = workflowsOf(plan, target)
        .filter((w) => w.tables.some((x) => x.schema === t.schema && x.table === t.table))
        .map((w) => w.name);
      missing.push({ table: tableName(t), workflows: readers });
    }
  }
  missing.sort((a, b) => byString(a.table, b.table));
  return { catalog, missing };
}
