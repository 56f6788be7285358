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
import { requestComment } from "../engine.js";
import pg from "pg";
import type { EngineCall } from "../engine.js";
import type { SetupResult } from "./session.js";
import { checkScope, type RelationRef, type ResolvedRelation, type SqlAnalysis } from "./sqlcheck.js";

export const CATALOG_TTL_MS = 30_000;
/** Names remembered for guards (`TargetCatalog.guard`); past this many, forgotten all at once. */
const MAX_REMEMBERED_NAMES = 10_000;

const SEARCH_PATH_NAMESPACES =
  "(SELECT ns.oid FROM pg_catalog.pg_namespace ns WHERE ns.nspname = ANY (pg_catalog.current_schemas(true)) AND ns.nspname <> 'pg_catalog')";

const RELATIONS_BY_OID =
  "SELECT c.oid::int AS oid, n.nspname::text AS schema, c.relname::text AS name, " +
  "ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS cols " +
  "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY ($1::oid[])";

const NON_CATALOG_NAMES =
  "SELECT p.proname::text AS name FROM pg_catalog.pg_proc p WHERE p.pronamespace IN " +
  SEARCH_PATH_NAMESPACES +
  " UNION SELECT o.oprname::text FROM pg_catalog.pg_operator o WHERE o.oprnamespace IN " +
  SEARCH_PATH_NAMESPACES;

/** The statement that resolves each relation name of `analysis` to an OID (columns r0, r1, ...); null if it names none. */
export function resolutionQuery(analysis: SqlAnalysis | null): string | null {
  if (!analysis || analysis.relations.length === 0) return null;
  const cols = analysis.relations.map((r, i) => `pg_catalog.to_regclass(${pg.escapeLiteral(r.qualified)})::oid AS r${i}`);
  return `SELECT ${cols.join(", ")}`;
}

/**
 * The condition that each relation name still resolves, in the statement's own transaction, to the
 * OID the check was made with; the session's guard (session.ts) divides by zero, aborting the
 * transaction before the statement behind it runs, when it is false. Operators are
 * schema-qualified: nothing on the workflow's search_path can stand in for them.
 */
export function namesCondition(relations: readonly RelationRef[], oids: ReadonlyArray<number | null>): string {
  const tests = relations.map((r, i) => {
    const resolved = `pg_catalog.to_regclass(${pg.escapeLiteral(r.qualified)})`;
    const oid = oids[i];
    return oid === null || oid === undefined ? `${resolved} IS NULL` : `${resolved}::oid OPERATOR(pg_catalog.=) ${Math.trunc(oid)}::oid`;
  });
  return tests.length > 0 ? tests.join(" AND ") : "true";
}

/** One target's catalog, as far as the check needs it. */
/** A cached catalog read and when it was read (entries are replaced, never changed, when read again). */
interface CacheEntry<T> {
  at: number;
  value: T;
}

/** A check that passed, with the catalog entries it was made with, and the guard condition it gave. */
interface Verdict {
  entries: Array<CacheEntry<ResolvedRelation>>;
  shadowing: CacheEntry<Set<string>> | null;
  condition: string;
}

export class TargetCatalog {
  private readonly relations = new Map<number, CacheEntry<ResolvedRelation>>();
  /** Non-catalog function and operator names, per workflow (each has its own search_path). */
  private readonly shadowing = new Map<string, CacheEntry<Set<string>>>();
  /** The OID each relation name last resolved to, per workflow (search_path) and name. */
  private readonly names = new Map<string, number>();
  /** Per parsed statement (the engine keeps them by text) and workflow: the last check that passed. */
  private readonly verdicts = new WeakMap<SqlAnalysis, Map<string, Verdict>>();

  /**
   * The check of a parsed statement made with what the catalog already knows (the OIDs its names
   * last resolved to, fresh relation columns and shadowing names), as the condition the session's
   * guard asserts in the statement's own transaction: that those names still resolve the same.
   * Null when something is unknown or stale, or the check refuses: the statement then goes
   * through `check`, whose refusal is the authoritative one.
   */
  guard(call: EngineCall, analysis: SqlAnalysis): string | null {
    const now = Date.now();
    const workflow = call.identity.workflow.name;
    const oids: number[] = [];
    const entries: Array<CacheEntry<ResolvedRelation>> = [];
    for (const ref of analysis.relations) {
      const oid = this.names.get(`${workflow}\u0000${ref.qualified}`);
      const entry = oid === undefined ? undefined : this.relations.get(oid);
      if (oid === undefined || !entry || entry.at <= now - CATALOG_TTL_MS) return null;
      oids.push(oid);
      entries.push(entry);
    }
    let shadowing: CacheEntry<Set<string>> | null = null;
    if (analysis.functions.length + analysis.operators.length > 0) {
      shadowing = this.shadowing.get(workflow) ?? null;
      if (!shadowing || shadowing.at <= now - CATALOG_TTL_MS) return null;
    }
    // The same statement, workflow and catalog entries as a check that passed: the same verdict.
    const known = this.verdicts.get(analysis)?.get(workflow);
    if (known && known.shadowing === shadowing && known.entries.length === entries.length && known.entries.every((e, i) => e === entries[i]))
      return known.condition;
    const names = shadowing?.value;
    const shadowed = names ? [...analysis.functions, ...analysis.operators].filter((n) => names.has(n)) : [];
    try {
      checkScope(
        analysis,
        entries.map((e) => e.value),
        call.scope,
        shadowed,
      );
    } catch {
      return null;
    }
    const condition = namesCondition(analysis.relations, oids);
    let byWorkflow = this.verdicts.get(analysis);
    if (!byWorkflow) this.verdicts.set(analysis, (byWorkflow = new Map()));
    byWorkflow.set(workflow, { entries, shadowing, condition });
    return condition;
  }

  /**
   * Check a parsed statement against the call's scope, given the setup round trip's results
   * (`resolutionQuery`). Throws ToolError (DENIED). Awaits the database only on a cache miss.
   */
  async check(client: pg.PoolClient, resolved: SetupResult[], call: EngineCall, analysis: SqlAnalysis): Promise<void> {
    const now = Date.now();
    const oids = relationOids(resolved, analysis);
    this.remember(call.identity.workflow.name, analysis.relations, oids);
    const missing = [...new Set(oids.filter((o): o is number => o !== null && !((this.relations.get(o)?.at ?? -Infinity) > now - CATALOG_TTL_MS)))];
    // The call's request comment on the catalog's own reads too: every statement of a call is joinable in the database log.
    const tag = requestComment(call.requestId, call.identity.client.name);
    if (missing.length > 0) await this.loadRelations(client, missing, now, tag);
    const relations = oids.map((o) => (o === null ? null : (this.relations.get(o)?.value ?? null)));
    let shadowed: string[] = [];
    if (analysis.functions.length + analysis.operators.length > 0) {
      const workflow = call.identity.workflow.name;
      let names = this.shadowing.get(workflow);
      if (!names || names.at <= now - CATALOG_TTL_MS) names = await this.loadShadowing(client, workflow, now, tag);
      const set = names.value;
      shadowed = [...analysis.functions, ...analysis.operators].filter((n) => set.has(n));
    }
    checkScope(analysis, relations, call.scope, shadowed);
  }

  /** What each name resolved to, for later guards. */
  private remember(workflow: string, relations: readonly RelationRef[], oids: ReadonlyArray<number | null>): void {
    if (this.names.size + relations.length > MAX_REMEMBERED_NAMES) this.names.clear();
    relations.forEach((ref, i) => {
      const oid = oids[i];
      if (oid !== null && oid !== undefined) this.names.set(`${workflow}\u0000${ref.qualified}`, oid);
    });
  }

  /** Schema, name and live columns of relations by OID, into the cache. */
  private async loadRelations(client: pg.PoolClient, oids: number[], now: number, tag: string): Promise<void> {
    const res = await client.query<{ oid: number; schema: string; name: string; cols: string[] }>({ text: tag + RELATIONS_BY_OID, values: [oids] });
    for (const r of res.rows) this.relations.set(r.oid, { at: now, value: { schema: r.schema, name: r.name, columns: r.cols } });
  }

  /** The function and operator names outside pg_catalog on the workflow's search path (this session's), into the cache. */
  private async loadShadowing(client: pg.PoolClient, workflow: string, now: number, tag: string): Promise<CacheEntry<Set<string>>> {
    const res = await client.query<{ name: string }>(tag + NON_CATALOG_NAMES);
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
