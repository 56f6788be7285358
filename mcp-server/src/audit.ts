/**
 * The audit trail: one JSON line per tool call, allowed or refused, written before the response is
 * sent. If the sink cannot be written the call is refused (an audit outage never means "allow
 * without a record"). Lines hold a statement fingerprint and a literal-redacted excerpt, never
 * parameter values, secrets or row data.
 *
 * The file sink writes lines in order, one write at a time (lines that queue up while one is
 * written go out together). A short write (disk full, file size limit) refuses the lines it
 * carried and cuts the file back to its last whole line, so the file stays one JSON record per
 * line. Before each write it checks that the configured path is still the file it holds open: a
 * renamed or deleted file (log rotation) is replaced by a new one at the path. Durability:
 * `fsync: "none"` hands lines to the OS; `"line"` makes each line durable (fdatasync) before its
 * answer; `"group"` gathers the lines of `groupCommitMs` into one write and one fdatasync, and holds
 * each answer until its line is durable.
 */
import { open, stat, type FileHandle } from "node:fs/promises";

export interface AuditRecord {
  time: string;
  requestId: string;
  transport: "http" | "stdio";
  client: string;
  principal: string;
  workflow: string;
  tool: string;
  fingerprint: string | null;
  /** Bounded excerpt, literals replaced by $n. */
  statement: string | null;
  verdict: "allowed" | "refused" | "failed";
  code: string | null;
  rows: number | null;
  truncated: boolean | null;
  bytes: number | null;
  durationMs: number;
  errorClass: string | null;
  /** The client's network address: on refusals by source network, and on failed authentications. */
  source?: string;
  /**
   * On lines that stand for several failed authentications from one source: how many. The first
   * from a source in a window has its own line (count 1); the rest of the window, one line.
   */
  count?: number;
  /** Present when the server runs with the engines' statement check switched off (`--unsafe-no-sql-check`). */
  sqlCheck?: "off";
}

/** Who called which tool, by which transport, when: what every audit line starts from. */
export type AuditCall = Pick<AuditRecord, "time" | "requestId" | "transport" | "client" | "principal" | "workflow" | "tool">;

/** The audit line of a call as it starts: allowed, nothing measured yet. */
export function startedRecord(call: AuditCall): AuditRecord {
  return {
    ...call,
    fingerprint: null,
    statement: null,
    verdict: "allowed",
    code: null,
    rows: null,
    truncated: null,
    bytes: null,
    durationMs: 0,
    errorClass: null,
  };
}

/** The audit line's statement when no parser could read it (or none was asked to): its size only. */
export function redactUnparsed(sql: string): string {
  return `[not parsed: ${sql.length} chars]`;
}

export interface AuditSink {
  /** Resolves once the line is written (handed to the OS, or durable if so configured); rejects if it cannot be. */
  write(record: AuditRecord): Promise<void>;
  /** Reopen the file at the configured path (log rotation by signal); a no-op for streams. */
  reopen?(): Promise<void>;
  close(): Promise<void>;
}

export type AuditFsync = "none" | "line" | "group";

export interface FileAuditOptions {
  fsync?: AuditFsync;
  /** With `fsync: "group"`: how long lines gather before one write and one fdatasync (default 5 ms). */
  groupCommitMs?: number;
}

export const DEFAULT_GROUP_COMMIT_MS = 5;

interface Pending {
  line: string;
  resolve(): void;
  reject(error: Error): void;
}

/** A short write: the lines it carried are refused. */
export class ShortWriteError extends Error {
  override name = "ShortWriteError";
}

export class FileAuditSink implements AuditSink {
  private queue: Pending[] = [];
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** A short write could not be cut back: the next write starts with a newline, ending the partial line. */
  private endPartialLine = false;
  /** What the sink did, for tests and benchmarks. */
  readonly stats = { writes: 0, syncs: 0, reopened: 0 };
  private readonly fsync: AuditFsync;
  private readonly groupCommitMs: number;

  private constructor(
    private readonly path: string,
    private handle: FileHandle,
    private inode: { dev: number; ino: number },
    options: FileAuditOptions,
  ) {
    this.fsync = options.fsync ?? "none";
    this.groupCommitMs = options.groupCommitMs ?? DEFAULT_GROUP_COMMIT_MS;
  }

  static async open(path: string, options: FileAuditOptions = {}): Promise<FileAuditSink> {
    const { handle, inode } = await openAppend(path);
    return new FileAuditSink(path, handle, inode, options);
  }

  write(record: AuditRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ line: `${JSON.stringify(record)}\n`, resolve, reject });
      this.schedule();
    });
  }

  async reopen(): Promise<void> {
    await this.drain();
    await this.replaceHandle();
  }

  async close(): Promise<void> {
    await this.drain();
    await this.handle.close();
  }

  /** Start writing now, or (group commit) once the window has passed. */
  private schedule(): void {
    if (this.writing || this.timer) return;
    if (this.fsync === "group") {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.startWriting();
      }, this.groupCommitMs);
    } else {
      this.startWriting();
    }
  }

  private startWriting(): void {
    this.writing = this.writeQueued().finally(() => {
      this.writing = null;
      if (this.queue.length > 0) this.schedule();
    });
  }

  /** Wait until every queued line is written (or refused). */
  private async drain(): Promise<void> {
    while (this.writing || this.timer || this.queue.length > 0) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
        this.startWriting();
      } else if (!this.writing) {
        this.startWriting();
      }
      await this.writing;
    }
  }

  /** Write what is queued: one line per write with `fsync: "line"`, else everything queued at once. */
  private async writeQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.fsync === "line" ? this.queue.splice(0, 1) : this.queue.splice(0);
      try {
        await this.writeLines(batch.map((p) => p.line).join(""));
        for (const p of batch) p.resolve();
      } catch (error) {
        for (const p of batch) p.reject(error as Error);
      }
      if (this.fsync === "group") return; // the next lines wait for their own window
    }
  }

  private async writeLines(text: string): Promise<void> {
    await this.followPath();
    const prefix = this.endPartialLine ? "\n" : "";
    const data = Buffer.from(prefix + text, "utf8");
    const { bytesWritten } = await this.handle.write(data);
    this.stats.writes++;
    if (bytesWritten < data.length) {
      await this.cutBack(bytesWritten);
      throw new ShortWriteError(`the audit file took ${bytesWritten} of ${data.length} bytes`);
    }
    this.endPartialLine = false;
    if (this.fsync !== "none") {
      await this.handle.datasync();
      this.stats.syncs++;
    }
  }

  /** After a short write: cut the file back to its last whole line; if that fails, the next write ends the partial line first. */
  private async cutBack(bytesWritten: number): Promise<void> {
    try {
      const { size } = await this.handle.stat();
      await this.handle.truncate(size - bytesWritten);
      this.endPartialLine = false;
    } catch {
      this.endPartialLine = this.endPartialLine || bytesWritten > 0;
    }
  }

  /** Log rotation: if the path no longer names the open file (renamed or deleted), open the file at the path. */
  private async followPath(): Promise<void> {
    const current = await stat(this.path).catch(() => null);
    if (current && current.dev === this.inode.dev && current.ino === this.inode.ino) return;
    await this.replaceHandle();
  }

  private async replaceHandle(): Promise<void> {
    const { handle, inode } = await openAppend(this.path);
    const old = this.handle;
    this.handle = handle;
    this.inode = inode;
    this.endPartialLine = false;
    this.stats.reopened++;
    await old.close().catch(() => {});
  }
}

async function openAppend(path: string): Promise<{ handle: FileHandle; inode: { dev: number; ino: number } }> {
  const handle = await open(path, "a", 0o600);
  try {
    const { dev, ino } = await handle.stat();
    return { handle, inode: { dev, ino } };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

export class StreamAuditSink implements AuditSink {
  constructor(private readonly stream: NodeJS.WritableStream) {}

  write(record: AuditRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.write(`${JSON.stringify(record)}\n`, (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {}
}

/** Every line to several sinks (a file and stdout for a container's log driver): written only when every sink took it. */
export class TeeAuditSink implements AuditSink {
  constructor(private readonly sinks: readonly AuditSink[]) {}

  async write(record: AuditRecord): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.write(record)));
  }

  async reopen(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.reopen?.()));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.sinks.map((s) => s.close()));
  }
}

/** Failed authentications from one source, as one audit line says them. */
export interface UnauthenticatedEntry {
  /** The client's address, or "other" for sources past the per-window limit. */
  source: string;
  /** Why authentication failed (e.g. `auth-invalid-token`): a class, never the credential. */
  errorClass: string;
  count: number;
}

/** How long failed authentications from one source are counted into one line. */
export const UNAUTHENTICATED_WINDOW_MS = 60_000;
/** Sources counted one by one per window; failures from further sources are counted together as "other". */
export const UNAUTHENTICATED_SOURCES = 100;

/**
 * Audit lines for failed authentications (401s), bounded so that a flood of them cannot flood the
 * file: per window, the first failure from a source gets its own line at once, further failures
 * from it are counted and written as one line when the window closes, and past
 * UNAUTHENTICATED_SOURCES sources in a window the rest count together under source "other". At
 * most 2 * (UNAUTHENTICATED_SOURCES + 1) lines per window, whatever arrives.
 */
export class UnauthenticatedLog {
  private sources = new Map<string, { errorClass: string; more: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly write: (entry: UnauthenticatedEntry) => void,
    private readonly windowMs = UNAUTHENTICATED_WINDOW_MS,
    private readonly maxSources = UNAUTHENTICATED_SOURCES,
  ) {}

  /** One failed authentication from `source`. */
  note(source: string, errorClass: string): void {
    const key = this.sources.has(source) || this.sources.size < this.maxSources ? source : "other";
    const seen = this.sources.get(key);
    if (seen) {
      seen.more++;
      seen.errorClass = errorClass;
      return;
    }
    this.sources.set(key, { errorClass, more: 0 });
    this.write({ source: key, errorClass, count: 1 });
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.windowMs);
      this.timer.unref();
    }
  }

  /** Close the window: one line per source with failures after its first. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const window = this.sources;
    this.sources = new Map();
    for (const [source, { errorClass, more }] of window) if (more > 0) this.write({ source, errorClass, count: more });
  }
}
