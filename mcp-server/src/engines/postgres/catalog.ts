/**
 * The half of the parser check (sqlcheck.ts) that needs the database: what each relation name of
 * a statement resolves to, asked in the call's own transaction and search_path (so names resolve
 * exactly as the statement's will: quoting, unicode escapes, schemas), and which called function
 * or operator names also exist outside pg_catalog on the workflow's search path.
 *
 * Relation OIDs come with the session's setup round trip (`resolutionQuery`). Their schema, name
 * and columns, and the non-catalog function and operator names, are cached for CATALOG_TTL_MS per
 * target (OIDs are per database) and re-read on a miss, in the same transaction. A stale cache can
 * only make the check miss a brand-new column or function; the database role still refuses it.
 */
import pg from "pg";
import type { EngineCall } from "../engine.js";
import type { SetupResult } from "./session.js";
import { checkScope, type ResolvedRelation, type SqlAnalysis } from "./sqlcheck.js";

export const CATALOG_TTL_MS = 30_000;

const SEARCH_PATH_NAMESPACES =
  "(SELECT ns.oid FROM pg_catalog.pg_namespace ns WHERE ns.nspname = ANY (pg_catalog.current_schemas(true)) AND ns.nspname <> 'pg_catalog')";

const RELATIONS_BY_OID =
  "SELECT c.oid::int AS oid, n.nspname::text AS schema, c.relname::text AS name, " +
  "ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS cols " +
  "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY ($1::oid[])";

const NON_CATALOG_NAMES =
  "SELECT p.proname::text AS name FROM pg_catalog.pg_proc p WHERE p.pronamespace IN " + SEARCH_PATH_NAMESPACES +
  " UNION SELECT o.oprname::text FROM pg_catalog.pg_operator o WHERE o.oprnamespace IN " + SEARCH_PATH_NAMESPACES;

/** The statement that resolves each relation name of `analysis` to an OID (columns r0, r1, ...); null if it names none. */
export function resolutionQuery(analysis: SqlAnalysis | null): string | null {
  if (!analysis || analysis.relations.length === 0) return null;
  const cols = analysis.relations.map((r, i) => `pg_catalog.to_regclass(${pg.escapeLiteral(r.qualified)})::oid AS r${i}`);
  return `SELECT ${cols.join(", ")}`;
}

/** One target's catalog, as far as the check needs it. */
export class TargetCatalog {
  private readonly relations = new Map<number, { at: number; value: ResolvedRelation }>();
  /** Non-catalog function and operator names, per workflow (each has its own search_path). */
  private readonly shadowing = new Map<string, { at: number; value: Set<string> }>();

  /**
   * Check a parsed statement against the call's scope, given the setup round trip's results
   * (`resolutionQuery`). Throws ToolError (DENIED). Awaits the database only on a cache miss.
   */
  async check(client: pg.PoolClient, resolved: SetupResult[], call: EngineCall, analysis: SqlAnalysis): Promise<void> {
    const now = Date.now();
    const oids = relationOids(resolved, analysis);
    const missing = [...new Set(oids.filter((o): o is number => o !== null && !((this.relations.get(o)?.at ?? -Infinity) > now - CATALOG_TTL_MS)))];
    if (missing.length > 0) await this.loadRelations(client, missing, now);
    const relations = oids.map((o) => (o === null ? null : (this.relations.get(o)?.value ?? null)));
    let shadowed: string[] = [];
    if (analysis.functions.length + analysis.operators.length > 0) {
      const workflow = call.identity.workflow.name;
      let names = this.shadowing.get(workflow);
      if (!names || names.at <= now - CATALOG_TTL_MS) names = await this.loadShadowing(client, workflow, now);
      const set = names.value;
      shadowed = [...analysis.functions, ...analysis.operators].filter((n) => set.has(n));
    }
    checkScope(analysis, relations, call.scope, shadowed);
  }

  /** Schema, name and live columns of relations by OID, into the cache. */
  private async loadRelations(client: pg.PoolClient, oids: number[], now: number): Promise<void> {
    const res = await client.query<{ oid: number; schema: string; name: string; cols: string[] }>({ text: RELATIONS_BY_OID, values: [oids] });
    for (const r of res.rows) this.relations.set(r.oid, { at: now, value: { schema: r.schema, name: r.name, columns: r.cols } });
  }

  /** The function and operator names outside pg_catalog on the workflow's search path (this session's), into the cache. */
  private async loadShadowing(client: pg.PoolClient, workflow: string, now: number): Promise<{ at: number; value: Set<string> }> {
    const res = await client.query<{ name: string }>(NON_CATALOG_NAMES);
    const names = { at: now, value: new Set(res.rows.map((r) => r.name)) };
    this.shadowing.set(workflow, names);
    return names;
  }
}

/** The OID each relation name of the statement resolved to in the setup round trip (null: no such relation). */
function relationOids(resolved: SetupResult[], analysis: SqlAnalysis): Array<number | null> {
  if (analysis.relations.length === 0) return [];
  const row = resolved[0]?.rows[0] ?? {};
  return analysis.relations.map((_, i) => (row[`r${i}`] === null || row[`r${i}`] === undefined ? null : Number(row[`r${i}`])));
}
