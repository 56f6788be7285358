/**
 * `up` supervises its PostgreSQL (issue 18), through the real bin: a postmaster killed with SIGKILL
 * is reported on the terminal and restarted on the same port, after which calls are served again;
 * one that cannot be started again (its port taken) makes `up` say why, stop the stack and exit 1.
 * And what `up` leaves on disk is private: its directories and PostgreSQL's log (which holds every
 * agent statement with its parameters) are readable by no one else.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { isAlive } from "../../src/local/state.ts";
import { interrupt, mcpClient, readConnection, startUp, tempProject, textOf, waitFor, type Running } from "./support.ts";

const local = (root: string) => join(root, ".dbwarden", "local");
const postmasterPid = (root: string) => Number(readFileSync(join(local(root), "pgdata", "postmaster.pid"), "utf8").split("\n")[0]);

describe("up supervises its PostgreSQL", { timeout: 170_000 }, () => {
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

  test("a postmaster killed with SIGKILL: up says so, restarts it on the same port, and calls are served again", async () => {
    const root = project("dbwarden-supervise-");
    const up = await startUp(root);
    running.push(up);
    const { port } = readConnection(root).postgres;
    const killed = postmasterPid(root);
    process.kill(killed, "SIGKILL");
    await waitFor("the restart to be reported", () => /PostgreSQL restarted \(pid \d+\)/.test(up.stderr()), up);
    assert.match(up.stderr(), new RegExp(`PostgreSQL \\(pid ${killed}\\) was killed \\(SIGKILL\\): every call fails until it runs again\\. Restarting it\\.`));
    assert.match(up.stderr(), new RegExp(`PostgreSQL restarted \\(pid \\d+\\) on 127\\.0\\.0\\.1:${port}; calls are served again\\.`));
    const restarted = postmasterPid(root);
    assert.notEqual(restarted, killed);
    assert.equal(isAlive(restarted), true);
    assert.equal(readConnection(root).postgres.port, port, "the same port: the MCP server's config still holds");

    const client = await mcpClient(root, "claude-cs");
    try {
      let answer = "";
      await waitFor("a query to be served after the restart", async () => {
        const result = await client.callTool({ name: "query", arguments: { sql: "SELECT count(*) AS n FROM app.accounts" } });
        answer = textOf(result);
        return result.isError !== true;
      });
      assert.match(answer, /"rowCount":1/);
    } finally {
      await client.close();
    }
    assert.equal(await interrupt(up), 0, up.stderr());
    assert.equal(isAlive(restarted), false, "Ctrl-C stopped the restarted PostgreSQL");
  });

  test("a PostgreSQL that cannot be started again: up says why, stops the stack and exits 1", async () => {
    const root = project("dbwarden-supervise-lost-");
    const up = await startUp(root);
    running.push(up);
    const { port } = readConnection(root).postgres;
    const killed = postmasterPid(root);
    process.kill(killed, "SIGKILL");
    // Take its port before the first restart attempt (half a second after the exit).
    const blocker: Server = createServer();
    await waitFor("the killed postmaster's port to be free", async () => {
      const bound = await new Promise<boolean>((resolve) => {
        blocker.once("error", () => resolve(false));
        blocker.listen(port, "127.0.0.1", () => resolve(true));
      });
      return bound;
    });
    try {
      const code = await up.exited;
      assert.equal(code, 1, up.stderr());
      assert.match(up.stderr(), /Restarting PostgreSQL failed \(attempt 1 of 5\): PostgreSQL did not start/);
      assert.match(up.stderr(), /PostgreSQL could not be restarted after 5 attempts \(.*see .*postgres\.log\): stopping the local stack\./);
      assert.match(up.stderr(), /dbwarden up: PostgreSQL could not be restarted after 5 attempts .*; the local stack stopped/);
      assert.equal(existsSync(join(local(root), "state.json")), false, "the stack stopped");
      assert.equal(existsSync(join(local(root), "pgdata", "postmaster.pid")) && isAlive(postmasterPid(root)), false, "no PostgreSQL left running");
    } finally {
      blocker.close();
    }
  });

  test("what up leaves on disk is private: 0700 directories (0710 for the postgres group as root), a 0600 PostgreSQL log", async () => {
    const root = project("dbwarden-private-");
    const up = await startUp(root);
    running.push(up);
    const mode = (path: string) => statSync(path).mode & 0o777;
    const asRoot = process.getuid?.() === 0;
    for (const dir of [join(root, ".dbwarden"), local(root)]) {
      if (asRoot) {
        assert.equal(mode(dir), 0o710, `${dir}: traversable by the postgres group only`);
        const group = readFileSync("/etc/passwd", "utf8")
          .split("\n")
          .find((l) => l.startsWith("postgres:"))!
          .split(":")[3];
        assert.equal(statSync(dir).gid, Number(group));
      } else {
        assert.equal(mode(dir), 0o700, dir);
      }
    }
    for (const file of ["postgres.log", "audit.log", "connection.json"]) assert.equal(mode(join(local(root), file)), 0o600, file);
    assert.match(readFileSync(join(local(root), "postgres.log"), "utf8"), /database system is ready to accept connections/);
    assert.equal(await interrupt(up), 0);
  });
});
