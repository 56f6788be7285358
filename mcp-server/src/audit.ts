/**
 * The audit trail: one JSON line per tool call, allowed or refused, written before the response is
 * sent. If the sink cannot be written the call is refused (an audit outage never means "allow
 * without a record"). Lines hold a statement fingerprint and a literal-redacted excerpt, never
 * parameter values, secrets or row data.
 */
import { open, type FileHandle } from "node:fs/promises";

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
  /** The client's network address, on refusals by source network only. */
  source?: string;
  /** Present when the server runs with the engines' statement check switched off (`--unsafe-no-sql-check`). */
  sqlCheck?: "off";
}

/** The audit line's statement when no parser could read it (or none was asked to): its size only. */
export function redactUnparsed(sql: string): string {
  return `[not parsed: ${sql.length} chars]`;
}

export interface AuditSink {
  /** Resolves once the line is written (handed to the OS); rejects if it cannot be. */
  write(record: AuditRecord): Promise<void>;
  close(): Promise<void>;
}

export class FileAuditSink implements AuditSink {
  private constructor(private readonly handle: FileHandle) {}

  static async open(path: string): Promise<FileAuditSink> {
    return new FileAuditSink(await open(path, "a", 0o600));
  }

  async write(record: AuditRecord): Promise<void> {
    await this.handle.write(`${JSON.stringify(record)}\n`);
  }

  close(): Promise<void> {
    return this.handle.close();
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
