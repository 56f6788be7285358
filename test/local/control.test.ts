/** The control socket: one request per connection, progress then a reply; nobody listening = null. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { sendControl, startControlServer } from "../../src/local/control.ts";
import { localPaths } from "../../src/local/paths.ts";

const dir = mkdtempSync(join(tmpdir(), "dbwarden-control-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("ping and reload are answered with progress and a reply; the socket is 0600 and gone after close", async () => {
  const socket = join(dir, "control.sock");
  const seen: string[] = [];
  const server = await startControlServer(socket, async (command, progress) => {
    seen.push(command);
    if (command === "reload") progress("step one");
    return { ok: command !== "stop", ready: true, ...(command === "reload" ? { report: { ok: true, changes: ["x"] } } : {}) };
  });
  assert.equal(statSync(socket).mode & 0o777, 0o600);
  assert.deepEqual(await sendControl(socket, "ping", { timeoutMs: 2_000 }), { ok: true, ready: true, pid: process.pid });
  const lines: string[] = [];
  const reply = await sendControl(socket, "reload", { timeoutMs: 2_000, progress: (l) => lines.push(l) });
  assert.deepEqual(lines, ["step one"]);
  assert.deepEqual(reply?.report, { ok: true, changes: ["x"] });
  assert.deepEqual(seen, ["ping", "reload"]);
  await server.close();
  assert.throws(() => statSync(socket), /ENOENT/);
  assert.equal(await sendControl(socket, "ping", { timeoutMs: 2_000 }), null, "nobody listens");
});

test("a project path too long for a socket name gets one in the temp directory", () => {
  const short = localPaths("/srv/project");
  assert.equal(short.controlSocket, "/srv/project/.dbwarden/local/control.sock");
  const long = localPaths(`/srv/${"deep/".repeat(30)}project`);
  assert.ok(long.controlSocket.startsWith(join(tmpdir(), "dbwarden-")), long.controlSocket);
  assert.ok(Buffer.byteLength(long.controlSocket) <= 100);
  assert.equal(localPaths(`/srv/${"deep/".repeat(30)}project`).controlSocket, long.controlSocket, "the same project, the same socket");
});
