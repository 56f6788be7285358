/**
 * What each part of a dbwarden call costs the database, per call: the backend's CPU time (from
 * /proc, robust on a busy machine) over sequential calls of a literal point lookup, adding the
 * parts one at a time, with the login's statement logging on (`log_statement = all`, as the local
 * stack sets it) and off. The parts as the Postgres engine sends them (engines/postgres/session.ts):
 * the read-only transaction, the setup's SET LOCALs, the guard, the reset (ROLLBACK with
 * everything DISCARD ALL does). Simple protocol, one round trip per part: the engine pipelines
 * them in one write, so its latency is lower; the backend's work is the same statements.
 *   node --import tsx bench/_db-parts.ts [calls]
 * Not a benchmark module (the leading underscore keeps it out of `npm run bench`).
 */
import pg from "pg";
import { SESSION_RESET } from "@dbwarden/contract";
import { startTestPostgres } from "../test/support/postgres.ts";
import { cpuMs } from "./lib/proc.ts";

const calls = Number(process.argv[2] ?? 2_000);
const application = "dbwarden/0b4c1a44-1f7e-4b6e-9d1e-3a8a3c9d3e11/claude-cs";
const tag = "/* dbwarden request=0b4c1a44-1f7e-4b6e-9d1e-3a8a3c9d3e11 client=claude-cs */ ";
const setup = `BEGIN READ ONLY; SET LOCAL statement_timeout = 15000; SET LOCAL search_path = "app"; SET LOCAL application_name = '${application}'`;
const guard =
  `${tag}SELECT 1 OPERATOR(pg_catalog./) (CASE WHEN pg_catalog.current_setting('application_name') OPERATOR(pg_catalog.=) ` +
  `'${application}' AND pg_catalog.current_setting('transaction_read_only') OPERATOR(pg_catalog.=) 'on' THEN 1 ELSE 0 END) AS guard`;
const statement = (i: number) => `${tag}SELECT id, name, plan, region FROM app.accounts WHERE id = ${1 + (i % 200)}`;

/** Each variant: the texts one call sends, part by part. */
const VARIANTS: Array<[string, (i: number) => string[]]> = [
  ["statement alone", (i) => [statement(i)]],
  ["+ BEGIN READ ONLY / ROLLBACK", (i) => ["BEGIN READ ONLY", statement(i), "ROLLBACK"]],
  ["+ setup (SET LOCAL timeout, search_path, application_name)", (i) => [setup, statement(i), "ROLLBACK"]],
  ["+ guard", (i) => [setup, guard, statement(i), "ROLLBACK"]],
  ["+ reset (ROLLBACK + DISCARD ALL's statements): the engine's call", (i) => [setup, guard, statement(i), `ROLLBACK; ${SESSION_RESET}`]],
];

let logBytes = 0;
const db = await startTestPostgres({ onLog: (line) => void (logBytes += line.length) });
try {
  const admin = await db.admin();
  await admin.query(`CREATE SCHEMA app; CREATE TABLE app.accounts (id bigint PRIMARY KEY, name text, plan text, region text);
    INSERT INTO app.accounts SELECT g, 'Account ' || g, 'growth', 'eu' FROM generate_series(1, 200) g;`);
  for (const [login, logging] of [
    ["agent_logged", "all"],
    ["agent_quiet", "none"],
  ] as const) {
    await admin.query(`CREATE ROLE ${login} LOGIN PASSWORD 'bench'; GRANT USAGE ON SCHEMA app TO ${login}; GRANT SELECT ON app.accounts TO ${login};
      ALTER ROLE ${login} SET log_statement = '${logging}'`);
  }
  const rows: Array<Record<string, string | number>> = [];
  for (const login of ["agent_logged", "agent_quiet"]) {
    for (const [name, parts] of VARIANTS) {
      const client = new pg.Client({ host: db.host, port: db.port, user: login, password: "bench", database: "postgres" });
      await client.connect();
      const backend = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      for (let i = 0; i < calls / 10; i++) for (const text of parts(i)) await client.query(text);
      const [cpuBefore, logBefore] = [cpuMs(backend)!, logBytes];
      for (let i = 0; i < calls; i++) for (const text of parts(i)) await client.query(text);
      const [cpuAfter, logAfter] = [cpuMs(backend)!, logBytes];
      await client.end();
      rows.push({
        login,
        variant: name,
        backendCpuMsPerCall: Math.round(((cpuAfter - cpuBefore) / calls) * 1000) / 1000,
        logBytesPerCall: Math.round((logAfter - logBefore) / calls),
      });
    }
  }
  console.table(rows);
} finally {
  await db.stop();
}
