/**
 * A small client of the Redis serialization protocol (RESP2): what the shared limits store
 * (limits-store.ts) needs from Redis, Valkey or ElastiCache, and nothing more. One connection
 * (TCP, or TLS checked against the system's CAs), commands pipelined in order, `AUTH` on connect,
 * a short timeout per command.
 *
 * It fails closed by construction: a command is never queued while disconnected and never sent
 * twice. A timeout, a protocol error or a lost connection fails every command in flight (their
 * calls are refused) and drops the connection; the next command reconnects, at most once per
 * `retryMs`, and commands in between fail at once.
 */
import { connect as connectTcp, isIP, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";

/** An error reply of the server (`-ERR ...`, `-NOSCRIPT ...`). */
export class RespError extends Error {
  override name = "RespError";
}

/** The store cannot answer (unreachable, slow, closed): callers refuse rather than allow. */
export class StoreUnavailable extends Error {
  override name = "StoreUnavailable";
  /**
   * The command may have reached the store (it was written before the failure): it may still run
   * there, e.g. once a frozen store resumes. False when it was never written.
   */
  sent = true;
}

export type RespValue = string | number | null | RespError | RespValue[];

export interface RespOptions {
  host: string;
  port: number;
  tls: boolean;
  /** The AUTH password, read at each connect (rotation); null for a store without AUTH. */
  password: () => Promise<string | null>;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** After a failure, the next connection attempt waits this long; commands in between fail at once. */
  retryMs: number;
}

const CRLF = 0x0d;

/** One reply parsed from `buf` at `at`: the value and where the next starts; null if incomplete. */
export function parseReply(buf: Buffer, at: number): [RespValue, number] | null {
  if (at >= buf.length) return null;
  const end = buf.indexOf(CRLF, at);
  if (end === -1 || end + 1 >= buf.length) return null;
  const line = buf.toString("utf8", at + 1, end);
  const next = end + 2;
  switch (buf[at]) {
    case 0x2b: // +
      return [line, next];
    case 0x2d: // -
      return [new RespError(line), next];
    case 0x3a: // :
      return [Number(line), next];
    case 0x24: {
      // $ bulk string
      const length = Number(line);
      if (length < 0) return [null, next];
      if (buf.length < next + length + 2) return null;
      return [buf.toString("utf8", next, next + length), next + length + 2];
    }
    case 0x2a: {
      // * array
      const count = Number(line);
      if (count < 0) return [null, next];
      const items: RespValue[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, pos);
        if (!item) return null;
        items.push(item[0]);
        pos = item[1];
      }
      return [items, pos];
    }
    default:
      throw new StoreUnavailable("the store sent something that is not RESP");
  }
}

/** A command as RESP: an array of bulk strings. */
export function encodeCommand(args: ReadonlyArray<string | number>): Buffer {
  let text = `*${args.length}\r\n`;
  for (const arg of args) {
    const s = String(arg);
    text += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return Buffer.from(text);
}

interface Pending {
  resolve(value: RespValue): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class RespClient {
  private socket: Socket | null = null;
  /** The socket being opened (connecting, authenticating): commands wait for `connecting`. */
  private opening: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private readonly pending: Pending[] = [];
  private buffered: Buffer = Buffer.alloc(0);
  private retryAt = 0;
  private closed = false;

  constructor(private readonly options: RespOptions) {}

  /** Send one command; resolves with its reply (an error reply as a `RespError` value). Rejects with StoreUnavailable. */
  async command(args: ReadonlyArray<string | number>): Promise<RespValue> {
    let socket: Socket;
    try {
      socket = await this.connected();
    } catch (error) {
      const unsent = error instanceof StoreUnavailable ? error : new StoreUnavailable("cannot connect");
      unsent.sent = false;
      throw unsent;
    }
    return this.send(socket, args);
  }

  /** Commands written and not answered yet. */
  get inFlight(): number {
    return this.pending.length;
  }

  /** Drop the connection and fail what is in flight; no reconnection after this. */
  close(): void {
    this.closed = true;
    this.fail(new StoreUnavailable("the limits store client is closed"));
  }

  private send(socket: Socket, args: ReadonlyArray<string | number>): Promise<RespValue> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new StoreUnavailable(`no answer within ${this.options.commandTimeoutMs} ms`)), this.options.commandTimeoutMs);
      timer.unref();
      this.pending.push({ resolve, reject, timer });
      socket.write(encodeCommand(args));
    });
  }

  private connected(): Promise<Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    if (this.closed) return Promise.reject(new StoreUnavailable("the limits store client is closed"));
    if (Date.now() < this.retryAt) return Promise.reject(new StoreUnavailable("the store failed moments ago; not retried yet"));
    this.connecting ??= this.open().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async open(): Promise<Socket> {
    const { host, port, tls, connectTimeoutMs } = this.options;
    const socket = tls ? connectTls({ host, port, ...(isIP(host) ? {} : { servername: host }) }) : connectTcp({ host, port });
    this.opening = socket;
    // Events of a socket already dropped (e.g. its late "close") must not touch the next one.
    const current = () => this.socket === socket || this.opening === socket;
    socket.on("data", (chunk: Buffer) => current() && this.receive(chunk));
    socket.on("error", () => current() && this.fail(new StoreUnavailable("the connection failed")));
    socket.on("close", () => current() && this.fail(new StoreUnavailable("the connection closed")));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new StoreUnavailable(`no connection within ${connectTimeoutMs} ms`)), connectTimeoutMs);
        socket.once(tls ? "secureConnect" : "connect", () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once("error", (error) => {
          clearTimeout(timer);
          reject(new StoreUnavailable(`cannot connect (${(error as NodeJS.ErrnoException).code ?? "error"})`));
        });
      });
      socket.setNoDelay(true);
      this.buffered = Buffer.alloc(0);
      const password = await this.options.password();
      if (password !== null) {
        const reply = await this.send(socket, ["AUTH", password]);
        if (reply instanceof RespError) throw new StoreUnavailable("the store refused the AUTH password");
      }
      this.socket = socket;
      return socket;
    } catch (error) {
      const unavailable = error instanceof StoreUnavailable ? error : new StoreUnavailable("cannot connect");
      this.fail(unavailable);
      socket.destroy();
      throw unavailable;
    } finally {
      if (this.opening === socket) this.opening = null;
    }
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    let at = 0;
    try {
      for (let reply = parseReply(this.buffered, at); reply; reply = parseReply(this.buffered, at)) {
        at = reply[1];
        const waiting = this.pending.shift();
        if (!waiting) throw new StoreUnavailable("the store answered a command that was not sent");
        clearTimeout(waiting.timer);
        waiting.resolve(reply[0]);
      }
    } catch (error) {
      this.fail(error instanceof StoreUnavailable ? error : new StoreUnavailable("unreadable answer"));
      return;
    }
    this.buffered = at === this.buffered.length ? Buffer.alloc(0) : this.buffered.subarray(at);
  }

  /** Drop the connection; every command in flight fails; the next attempt waits `retryMs`. */
  private fail(error: StoreUnavailable): void {
    for (const socket of [this.socket, this.opening]) socket?.destroy();
    this.socket = null;
    this.opening = null;
    this.retryAt = Date.now() + this.options.retryMs;
    for (const waiting of this.pending.splice(0)) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
  }
}
