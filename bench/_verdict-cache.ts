/**
 * The parser check's CPU per literal statement, in this process (CPU time, robust on a busy
 * machine): the full check (`analyzeSql`: parse, fingerprint, normalise, walk) against a hit in
 * the verdict cache by shape (engines/postgres/literals.ts: shape, caps, fingerprint), on the
 * seeded literal workload of bench/mcp.ts.
 *   node --import tsx bench/_verdict-cache.ts [statements]
 * Not a benchmark module (the leading underscore keeps it out of `npm run bench`): a tool for the
 * closing note of a change.
 */
import { fingerprintSync } from "libpg-query";
import { ShapeCache } from "../mcp-server/src/engines/postgres/literals.ts";
import { analyzeSql, loadParser } from "../mcp-server/src/engines/postgres/sqlcheck.ts";
import { literalStatements, LITERAL_SHAPES } from "./lib/workload.ts";

await loadParser();
const count = Number(process.argv[2] ?? 3_000);
const statements = Array.from({ length: count }, literalStatements(7));
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
/** CPU ms per statement of `fn` over every statement, after a warm-up over a tenth of them. */
function perStatement(fn: (sql: string) => unknown): number {
  for (const sql of statements.slice(0, count / 10)) fn(sql);
  const before = cpuMs();
  for (const sql of statements) fn(sql);
  return Math.round(((cpuMs() - before) / count) * 10_000) / 10_000;
}
const cache = new ShapeCache(1_000, 4_000);
for (const sql of statements.slice(0, LITERAL_SHAPES.length)) cache.remember(sql, analyzeSql(sql));
let misses = 0;
const result = {
  statements: count,
  fullCheckMs: perStatement(analyzeSql),
  shapeHitMs: perStatement((sql) => cache.get(sql) ?? misses++),
  ofWhichFingerprintMs: perStatement(fingerprintSync),
  misses,
};
console.log(JSON.stringify(result));
