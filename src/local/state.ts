/**
 * `state.json`: which process runs `up` for this project, and where its PostgreSQL and MCP server
 * listen (nothing secret). A pid alone does not name a process: after a crash the pid can be
 * reused by anything. So a pid counts as our `up` only when it answers on the project's control
 * socket (control.ts), or, where the socket does not answer, when Linux's /proc shows the same
 * process start time as recorded. Where neither holds, the state is stale: `up` starts afresh and
 * `down` signals nothing.
 */
import { existsSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { sendControl, type ControlReply } from "./control.ts";
import type { LocalPaths } from "./paths.ts";

export type SslMode = "disable" | "require" | "verify-full";

export interface LocalState {
  pid: number;
  /** Start time of `pid` from /proc/<pid>/stat (Linux); null where there is no /proc. */
  pidStartTime: string | null;
  /** Where PostgreSQL listens; null while `up` is starting. */
  postgres: { host: string; port: number; embedded: boolean; sslmode: SslMode } | null;
  mcpUrl: string | null;
  startedAt: string;
}

export interface RunningUp {
  state: LocalState;
  /** It answered on the control socket (else: /proc says it is our process, but it does not answer). */
  answering: boolean;
  /** It finished starting. */
  ready: boolean;
}

export function readState(paths: LocalPaths): LocalState | null {
  if (!existsSync(paths.stateFile)) return null;
  try {
    const state = JSON.parse(readFileSync(paths.stateFile, "utf8")) as Partial<LocalState>;
    if (!Number.isInteger(state.pid) || state.pid! <= 0) return null;
    return {
      pid: state.pid!,
      pidStartTime: state.pidStartTime ?? null,
      postgres: state.postgres ?? null,
      mcpUrl: state.mcpUrl ?? null,
      startedAt: state.startedAt ?? "",
    };
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

/** This process's state record (pid and start time), for `up` to write. */
export function ownProcess(): Pick<LocalState, "pid" | "pidStartTime"> {
  return { pid: process.pid, pidStartTime: processStartTime(process.pid) };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * When a process started (field 22 of /proc/<pid>/stat, clock ticks since boot): with the pid, it
 * names one process across pid reuse. Null when the process is gone or there is no /proc.
 */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces and parentheses) start at field 3.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[22 - 3] ?? null;
  } catch {
    return null;
  }
}

/** Is `pid` still the process whose start time was recorded? False when it cannot be told. */
export function isSameProcess(pid: number, startTime: string | null): boolean {
  return startTime !== null && processStartTime(pid) === startTime;
}

/**
 * Is `pid` a PostgreSQL server running on `dataDir`? On Linux its working directory is the data
 * directory; where /proc/<pid>/cwd cannot be read (another user's process), it is not ours. Without
 * /proc at all, liveness is all there is (PostgreSQL's own lock-file check does the same).
 */
export function isPostmasterOf(pid: number, dataDir: string): boolean {
  if (!isAlive(pid)) return false;
  if (!existsSync("/proc/self/cwd")) return true;
  try {
    return readlinkSync(`/proc/${pid}/cwd`) === realpathSync(dataDir);
  } catch {
    return false;
  }
}

/** The `up` running for this project, if any (see the top of this file for how it is told). */
export async function findRunningUp(paths: LocalPaths): Promise<RunningUp | null> {
  const state = readState(paths);
  if (!state) return null;
  const reply = await sendControl(paths.controlSocket, "ping", { timeoutMs: 3_000 }).catch(() => null);
  if (reply) return { state: { ...state, pid: reply.pid }, answering: true, ready: reply.ready };
  if (isSameProcess(state.pid, state.pidStartTime)) return { state, answering: false, ready: false };
  return null;
}

/**
 * Ask the running `up` (if any) to re-read its secrets: new or revoked API keys, rotated passwords
 * (what `dbwarden rotate` and `dbwarden keys` do after writing the store). `reply.ok` says it did.
 */
export async function reloadRunningUpSecrets(paths: LocalPaths): Promise<{ running: RunningUp | null; reply: ControlReply | null }> {
  const running = await findRunningUp(paths);
  const reply = running?.answering ? await sendControl(paths.controlSocket, "reload-secrets", { timeoutMs: 30_000 }).catch(() => null) : null;
  return { running, reply };
}
