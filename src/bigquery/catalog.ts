/**
 * What `dbwarden catalog` reads from a BigQuery target: the columns of exactly the tables its
 * workflows read (`tables.get`, the table's schema), for the "all columns but these" views
 * (components/bigquery). The client sits behind `BigQueryColumnReader`; the real one is
 * `@google-cloud/bigquery` with the operator's credentials (Application Default Credentials).
 */
import { tableName, workflowsOf, type AccessPlan, type TargetPlan } from "@dbwarden/contract";
import type { LiveSnapshot } from "../postgres/liveSnapshot.ts";
import { lazyBigQuery, type BigQueryClientOptions } from "./client.ts";

/** Reads one table's top-level columns with their types (`INT64`, `STRING`...), in the table's order; null when the dataset or table does not exist. */
export interface BigQueryColumnReader {
  columns(datasetId: string, tableId: string): Promise<Record<string, string> | null>;
}

/** The real reader: `tables.get` through `@google-cloud/bigquery` (loaded on first use). */
export function bigqueryColumnReader(project: string, options: BigQueryClientOptions = {}): BigQueryColumnReader {
  const client = lazyBigQuery<{ dataset(id: string): { table(id: string): { getMetadata(): Promise<unknown[]> } } }>(project, options);
  return {
    async columns(datasetId, tableId) {
      try {
        const [metadata] = (await (await client()).dataset(datasetId).table(tableId).getMetadata()) as [
          { schema?: { fields?: Array<{ name: string; type?: string }> } },
        ];
        return Object.fromEntries((metadata.schema?.fields ?? []).map((f) => [f.name, f.type ?? "UNKNOWN"]));
      } catch (error) {
        if ((error as { code?: unknown }).code === 404) return null;
        throw error;
      }
    },
  };
}

/** The snapshot entries of a BigQuery target: every planned table's columns, and the tables that do not exist. */
export async function bigquerySnapshot(plan: AccessPlan, target: TargetPlan, reader: BigQueryColumnReader): Promise<LiveSnapshot> {
  const catalog: LiveSnapshot["catalog"] = {};
  const missing: LiveSnapshot["missing"] = [];
  const readers = new Map<string, string[]>();
  for (const workflow of workflowsOf(plan, target.name)) {
    for (const table of workflow.tables) {
      const name = tableName(table);
      readers.set(name, [...(readers.get(name) ?? []), workflow.name]);
    }
  }
  for (const name of [...readers.keys()].sort()) {
    const [datasetId, tableId] = name.split(".") as [string, string];
    const columns = await reader.columns(datasetId, tableId);
    if (columns) catalog[name] = columns;
    else missing.push({ table: name, workflows: readers.get(name)! });
  }
  return { catalog, missing };
}
