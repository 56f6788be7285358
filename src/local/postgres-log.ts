/**
 * The local stack's PostgreSQL log file (`.dbwarden/<stack>/postgres.log`), held open while the
 * server runs. With statement logging on, every call of every agent writes here (the server's
 * stderr, chunk by chunk): a chunk costs one write instead of an open, a write and a close.
 * Rotation still works as it did when each chunk opened the path: at most `followEveryMs` after
 * the path was renamed or removed, the file at the path is opened (created, mode 0600) again.
 */
import { appendFileSync, closeSync, fstatSync, openSync, statSync, writeSync } from "node:fs";

export class PostgresLogFile {
  private fd: number | null = null;
  private checkedAt = 0;
  /** The server exited: a late chunk opens, writes and closes, holding nothing. */
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly followEveryMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Append `text` (best effort: the log must never stop the server). */
  write(text: string): void {
    try {
      if (this.closed) return appendFileSync(this.path, text, { mode: 0o600 });
      if (this.fd === null || this.now() - this.checkedAt >= this.followEveryMs) this.follow();
      writeSync(this.fd!, text);
    } catch {
      /* the log is best effort */
    }
  }

  /** Open the file at the path unless the one held open is still it. */
  private follow(): void {
    this.checkedAt = this.now();
    if (this.fd !== null) {
      const path = statSync(this.path, { throwIfNoEntry: false });
      const held = fstatSync(this.fd);
      if (path && path.ino === held.ino && path.dev === held.dev) return;
      closeSync(this.fd);
      this.fd = null;
    }
    this.fd = openSync(this.path, "a", 0o600);
  }

  /** Close the file (the server exited); a later chunk is appended without holding the file. */
  close(): void {
    this.closed = true;
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}
