/**
 * Where the local stack keeps its state: `.dbwarden/local/` under the project root (git-ignored).
 * Everything secret in it is a file of mode 0600 in a directory of mode 0700.
 */
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
