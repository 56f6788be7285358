/**
 * The running `up`'s control socket: a Unix socket (mode 0600) at `LocalPaths.controlSocket`, one
 * request per connection, newline-delimited JSON. A second `up` asks the running one to apply the
 * changed spec, `rotate` asks it to reload credentials, `down` asks it to stop, and anyone can ask
 * whether it is there at all (`ping`): an answer on the project's own socket is what proves that the
 * pid in state.json is ours, on any platform (see state.ts).
 *
 *   -> {"command":"reload"}
 *   <- {"progress":"Applying the access plan to dbwarden_demo (3 workflows)"}   (zero or more)
 *   <- {"reply":{"ok":true,"pid":1234,"ready":true,"report":{...}}}
 */
import { chmodSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import type { ReloadReport } from "./changes.ts";

export const CONTROL_COMMANDS = ["ping", "reload", "reload-secrets", "stop"] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export interface ControlReply {
  ok: boolean;
  /** pid of the `up` process that answered. */
  pid: number;
  /** False while `up` is still starting (it answers `ping`, and refuses the rest until ready). */
  ready: boolean;
  /** Why a command failed (plain words, no secret). */
  message?: string;
  /** What `reload` changed. */
  report?: ReloadReport;
}

export type ControlHandler = (command: ControlCommand, progress: (line: string) => void) => Promise<Omit<ControlReply, "pid">>;

export interface ControlServer {
  close(): Promise<void>;
}

/** Listen on `socketPath` (a stale socket file there is replaced: the caller checked nobody answers). */
export async function startControlServer(socketPath: string, handler: ControlHandler): Promise<ControlServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.setEncoding("utf8");
    let buffered = "";
    const onData = (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf("\n");
      if (end < 0) {
        if (buffered.length > 4096) socket.destroy();
        return;
      }
      socket.off("data", onData);
      void answer(socket, buffered.slice(0, end), handler);
    };
    socket.on("data", onData);
  });
  rmSync(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });
  chmodSync(socketPath, 0o600);
  return {
    // Answers already written still reach their reader (end, not destroy); a reader that keeps its
    // end open is cut off after a second.
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.end();
        const cutOff = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, 1_000);
        server.close(() => {
          clearTimeout(cutOff);
          rmSync(socketPath, { force: true });
          resolve();
        });
      }),
  };
}

async function answer(socket: Socket, line: string, handler: ControlHandler): Promise<void> {
  const send = (message: object) => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
  };
  let reply: Omit<ControlReply, "pid">;
  try {
    const request = JSON.parse(line) as { command?: unknown };
    const command = CONTROL_COMMANDS.find((c) => c === request.command);
    reply = command
      ? await handler(command, (progress) => send({ progress }))
      : { ok: false, ready: true, message: `unknown command (expected one of ${CONTROL_COMMANDS.join(", ")})` };
  } catch (error) {
    reply = { ok: false, ready: true, message: error instanceof SyntaxError ? "the request is not JSON" : (error as Error).message };
  }
  send({ reply: { ...reply, pid: process.pid } });
  socket.end();
}

/**
 * Send one command. Resolves with the reply, or null when nobody listens on the socket (no file, or
 * a file left by a process that is gone). Rejects when a listener does not answer within `timeoutMs`.
 */
export async function sendControl(
  socketPath: string,
  command: ControlCommand,
  options: { timeoutMs: number; progress?: (line: string) => void },
): Promise<ControlReply | null> {
  return await new Promise<ControlReply | null>((resolve, reject) => {
    const socket = connect(socketPath);
    let connected = false;
    let buffered = "";
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`no answer on ${socketPath} within ${Math.round(options.timeoutMs / 1000)} s`))),
      options.timeoutMs,
    );
    socket.setEncoding("utf8");
    socket.on("connect", () => {
      connected = true;
      socket.write(`${JSON.stringify({ command })}\n`);
    });
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      let end;
      while ((end = buffered.indexOf("\n")) >= 0) {
        const message = JSON.parse(buffered.slice(0, end)) as { progress?: string; reply?: ControlReply };
        buffered = buffered.slice(end + 1);
        if (message.progress !== undefined) options.progress?.(message.progress);
        if (message.reply) return settle(() => resolve(message.reply!));
      }
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (!connected) settle(() => resolve(null));
      else settle(() => reject(new Error(`the control socket failed: ${error.code ?? error.message}`)));
    });
    socket.on("close", () => settle(() => (connected ? reject(new Error("the running up closed the control socket without answering")) : resolve(null))));
  });
}
