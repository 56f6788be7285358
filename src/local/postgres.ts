/**
 * The local stack's PostgreSQL: the embedded server under `.dbwarden/local/pgdata`, or any server
 * given by a connection URL. Admin connections for `up`, `drift`, `rotate` and `down`.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import pg from "pg";
import { freePort, startEmbeddedPostgres } from "../postgres/embedded.ts";
import type { LocalPaths } from "./paths.ts";
import { LocalSecretStore, newPassword } from "./secrets.ts";

export interface AdminConnection {
  host: string;
  port: number;
  adminUser: string;
  adminPassword: string;
  /** Set for a URL-given server: the rest of its connection (TLS, ...) comes from there. */
  url: string | null;
}

export interface LocalPostgres extends AdminConnection {
  /** True when this call started the server (and `stop` stops it). */
  startedHere: boolean;
  stop(): Promise<void>;
}

/** What a running `up` records (nothing secret). */
export interface LocalState {
  pid: number;
  postgres: { host: string; port: number; embedded: boolean };
  mcpUrl: string | null;
  startedAt: string;
}

function readState(paths: LocalPaths): LocalState | null {
  if (!existsSync(paths.stateFile)) return null;
  try {
    return JSON.parse(readFileSync(paths.stateFile, "utf8")) as LocalState;
  } catch {
    return null;
  }
}

export function writeState(paths: LocalPaths, state: LocalState): void {
  writeFileSync(paths.stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

export function clearState(paths: LocalPaths): void {
  rmSync(paths.stateFile, { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The `up` process currently running for this project, if any. */
export function runningUp(paths: LocalPaths): LocalState | null {
  const state = readState(paths);
  if (state && state.pid !== process.pid && isAlive(state.pid)) return state;
  return null;
}

/** pid of a postmaster still holding the data directory (e.g. after `up` was killed with -9). */
export function orphanPostmaster(paths: LocalPaths): number | null {
  const file = `${paths.dataDir}/postmaster.pid`;
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
}

/** Stop a postmaster by pid (fast shutdown: running queries are cancelled) and wait for it. */
export async function stopPostmaster(pid: number, timeoutMs = 15_000): Promise<void> {
  try {
    process.kill(pid, "SIGINT");
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

export function parseAdminUrl(url: string): AdminConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("the connection URL is not a valid URL (expected postgres://user:password@host:port/database)");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new Error(`the connection URL must start with postgres:// (got ${parsed.protocol}//)`);
  }
  return {
    host: parsed.hostname || "localhost",
    port: Number(parsed.port || 5432),
    adminUser: decodeURIComponent(parsed.username),
    adminPassword: decodeURIComponent(parsed.password),
    url,
  };
}

/** A pg client config for `database` on this server (a URL keeps its other parameters). */
function clientConfig(conn: AdminConnection, database: string): pg.ClientConfig {
  if (conn.url) {
    const u = new URL(conn.url);
    u.pathname = `/${encodeURIComponent(database)}`;
    return { connectionString: u.toString(), connectionTimeoutMillis: 10_000 };
  }
  return { host: conn.host, port: conn.port, user: conn.adminUser, password: conn.adminPassword, database, connectionTimeoutMillis: 10_000 };
}

export async function connectAdmin(conn: AdminConnection, database: string): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(conn, database));
  client.on("error", () => {});
  await client.connect();
  return client;
}

/**
 * Start the embedded server (initialising the data directory on first use), or reuse the one a
 * running `up` started. `progress` gets one line per step.
 */
export async function openEmbedded(
  paths: LocalPaths,
  options: { port?: number; progress?: (line: string) => void; create: boolean },
): Promise<LocalPostgres> {
  const store = new LocalSecretStore(paths.secretsDir);
  const running = runningUp(paths);
  const adminPassword = store.adminPassword();
  if (running && running.postgres.embedded && adminPassword) {
    return { host: running.postgres.host, port: running.postgres.port, adminUser: "postgres", adminPassword, url: null, startedHere: false, stop: async () => {} };
  }
  const initialised = existsSync(`${paths.dataDir}/PG_VERSION`);
  if (!initialised && !options.create) {
    throw new Error("the local stack has never been started here: run `npm start` (dbwarden up) first");
  }
  const orphan = orphanPostmaster(paths);
  if (orphan) {
    options.progress?.(`Stopping a PostgreSQL left running by an earlier run (pid ${orphan})`);
    await stopPostmaster(orphan);
  } else {
    rmSync(`${paths.dataDir}/postmaster.pid`, { force: true });
  }
  let password = adminPassword;
  if (!initialised) {
    // A data directory from an interrupted first start has no usable password: start over.
    rmSync(paths.dataDir, { recursive: true, force: true });
    password = newPassword();
    store.writeAdminPassword(password);
  } else if (!password) {
    throw new Error(`the admin password of ${paths.dataDir} is missing from ${paths.secretsDir}; remove ${paths.dir} to start afresh`);
  }
  mkdirSync(paths.dir, { recursive: true });
  const port = options.port ?? (await freePort());
  options.progress?.(initialised ? `Starting PostgreSQL on 127.0.0.1:${port}` : `Initialising PostgreSQL in ${paths.dataDir} (first start)`);
  const handle = await startEmbeddedPostgres({
    dataDir: paths.dataDir,
    port,
    adminPassword: password!,
    persistent: true,
    onLog: (line) => {
      try {
        appendFileSync(paths.postgresLog, line.endsWith("\n") ? line : `${line}\n`);
      } catch {
        /* the log is best effort */
      }
    },
  }).catch((error: unknown) => {
    throw new Error(
      `PostgreSQL did not start${error instanceof Error && error.message ? `: ${error.message}` : ""} (see ${paths.postgresLog})`,
    );
  });
  return { host: handle.host, port: handle.port, adminUser: handle.adminUser, adminPassword: handle.adminPassword, url: null, startedHere: true, stop: () => handle.stop() };
}
