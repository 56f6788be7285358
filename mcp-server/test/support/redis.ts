/**
 * A throwaway real `redis-server` (Debian package `redis-server`; `.ci/run` installs it) on a free
 * loopback port, without persistence, for the shared limits store's tests.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { freePort } from "../../../src/postgres/embedded.ts";
import { RespClient } from "../../src/resp.ts";

export interface TestRedis {
  host: string;
  port: number;
  /** A client of this server (for assertions on its keys). */
  client: RespClient;
  /** The store goes away at once (SIGKILL), as a crashed or unreachable store would. */
  kill(): Promise<void>;
  /** The store stops answering (SIGSTOP): connections stay open, commands wait in its socket buffers. */
  freeze(): void;
  /** The frozen store resumes (SIGCONT) and runs what it was sent meanwhile. */
  resume(): void;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  if (spawnSync("redis-server", ["--version"]).error) {
    throw new Error("redis-server is not installed: the shared limits tests need it (apt-get install -y redis-server; .ci/run installs it)");
  }
  const port = await freePort();
  const child: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output.slice(-500)}`)), 10_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (/Ready to accept connections/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const client = new RespClient({
    host: "127.0.0.1",
    port,
    tls: false,
    password: async () => null,
    connectTimeoutMs: 2_000,
    commandTimeoutMs: 2_000,
    retryMs: 0,
  });
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    }
    await exited;
  };
  return {
    host: "127.0.0.1",
    port,
    client,
    kill,
    freeze: () => process.kill(child.pid!, "SIGSTOP"),
    resume: () => process.kill(child.pid!, "SIGCONT"),
    async stop() {
      client.close();
      await kill();
    },
  };
}
