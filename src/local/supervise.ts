/**
 * `up` watches the embedded PostgreSQL it started. When the postmaster exits while the stack runs
 * (killed, crashed, stopped outside `up`), `up` says so on the terminal and starts it again on the
 * same data directory and port, after a short wait that doubles with each failed attempt; a
 * PostgreSQL someone else started meanwhile (`pg_ctl restart`) is watched instead. When it cannot
 * be started again (RESTART_BACKOFF_MS.length attempts), or keeps exiting (more than MAX_RESTARTS
 * restarts in RESTART_WINDOW_MS), `up` gives up: the stack stops and `up` exits with code 1.
 */
import type { LocalPostgres } from "./postgres.ts";

/** The waits before each restart attempt: their number is the number of attempts. */
export const RESTART_BACKOFF_MS: readonly number[] = [500, 1_000, 2_000, 4_000, 8_000];
/** Restarts allowed within RESTART_WINDOW_MS before PostgreSQL counts as crash-looping. */
export const MAX_RESTARTS = 5;
export const RESTART_WINDOW_MS = 10 * 60_000;
/** How often a PostgreSQL started outside `up` is checked for. */
const FOREIGN_POLL_MS = 500;

export interface SupervisorOptions {
  /** Start PostgreSQL again (same data directory and port); rejects with why it did not start. */
  restart(): Promise<LocalPostgres>;
  /** The pid of a postmaster running the data directory now (whoever started it), or null. */
  running(): number | null;
  /** Is this pid still a postmaster of the data directory? */
  alive(pid: number): boolean;
  /** A new server runs (restarted by `up`). */
  replaced(server: LocalPostgres): void;
  /** Lines for the terminal. */
  progress(line: string): void;
  /** PostgreSQL cannot be kept running: the stack must stop and `up` exit non-zero with this message. */
  lost(message: string): void;
  /** Where PostgreSQL logs (named in messages). */
  logFile: string;
  /** The waits before each attempt (default RESTART_BACKOFF_MS). */
  backoffMs?: readonly number[];
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** Why a postmaster ended, in words. */
export function describeExit(pid: number | null, exit: Exit): string {
  const which = pid !== null ? `PostgreSQL (pid ${pid})` : "PostgreSQL";
  if (exit.signal) return `${which} was killed (${exit.signal})`;
  if (exit.code === 0) return `${which} was stopped outside \`up\``;
  if (exit.code !== null) return `${which} exited with code ${exit.code}`;
  return `${which} is no longer running`;
}

export class PostgresSupervisor {
  private stopped = false;
  private restarts: number[] = [];
  private timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: SupervisorOptions) {}

  /** Watch a server `up` started. */
  watch(server: LocalPostgres): void {
    const started = server.started;
    if (!started) return;
    void started.exited.then((exit) => this.onExit(started.pid, exit));
  }

  /** The stack is stopping: exits are expected from now on. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private async onExit(pid: number | null, exit: Exit): Promise<void> {
    if (this.stopped) return;
    const { progress } = this.options;
    progress(`${describeExit(pid, exit)}: every call fails until it runs again. Restarting it.`);
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.restarts.length >= MAX_RESTARTS) {
      return this.giveUp(`PostgreSQL keeps exiting (${this.restarts.length} restarts in ${RESTART_WINDOW_MS / 60_000} minutes; see ${this.options.logFile})`);
    }
    const backoff = this.options.backoffMs ?? RESTART_BACKOFF_MS;
    let why = "";
    for (const [i, wait] of backoff.entries()) {
      await this.sleep(wait);
      if (this.stopped) return;
      const other = this.options.running();
      if (other !== null) {
        progress(`PostgreSQL runs again (pid ${other}, started outside \`up\`); \`up\` watches it.`);
        return this.watchForeign(other);
      }
      try {
        const server = await this.options.restart();
        if (this.stopped) {
          await server.stop();
          return;
        }
        this.restarts.push(Date.now());
        progress(`PostgreSQL restarted (pid ${server.started?.pid ?? "?"}) on ${server.host}:${server.port}; calls are served again.`);
        this.options.replaced(server);
        this.watch(server);
        return;
      } catch (error) {
        why = (error as Error).message;
        progress(`Restarting PostgreSQL failed (attempt ${i + 1} of ${backoff.length}): ${why}`);
      }
    }
    this.giveUp(`PostgreSQL could not be restarted after ${backoff.length} attempts (${why}; see ${this.options.logFile})`);
  }

  /** A postmaster `up` did not start: checked for until it is gone. */
  private watchForeign(pid: number): void {
    const check = () => {
      if (this.stopped) return;
      if (this.options.alive(pid)) {
        const timer = setTimeout(check, FOREIGN_POLL_MS);
        timer.unref();
        return;
      }
      void this.onExit(pid, { code: null, signal: null });
    };
    check();
  }

  private giveUp(message: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.options.progress(`${message}: stopping the local stack.`);
    this.options.lost(message);
  }
}
