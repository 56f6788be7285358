/**
 * An audit that never lies: a short write (a real file size limit, RLIMIT_FSIZE, in a child
 * process) refuses the call and leaves the file one JSON record per line; a rotated or deleted
 * file is followed to the configured path; durability modes (none / line / group commit); lines to
 * a file and stdout together; and the unsafe no-SQL-check mode marked on every line.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { AuditConfigSchema } from "@dbwarden/contract";
import { startServer, type AuditRecord } from "../src/index.ts";
import { FileAuditSink, startedRecord, UNAUTHENTICATED_SOURCES, UnauthenticatedLog, type UnauthenticatedEntry } from "../src/audit.ts";
import { call, fixtureForFile, httpClient, repoRoot, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
const { servers, clients, children } = fixtureForFile((started) => void (fx = started));

/** Parse a JSON-lines file strictly: every line whole JSON, the file ending with a newline. */
function jsonLines(path: string): Array<Record<string, unknown>> {
  const text = readFileSync(path, "utf8");
  if (text === "") return [];
  assert.ok(text.endsWith("\n"), "the file ends with a whole line");
  return text
    .slice(0, -1)
    .split("\n")
    .map((line, i) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`line ${i + 1} is not JSON: ${line.slice(0, 80)}...`);
      }
    });
}

/** The server's command line in a child process (`shell` wraps it, e.g. to set a ulimit); resolves once it listens. */
function spawnServer(runtime: Record<string, unknown>, shell = ""): Promise<{ child: ChildProcess; url: string; stdout: () => string; stderr: () => string }> {
  const planFile = join(fx.dir, `plan-${children.length}.json`);
  const runtimeFile = join(fx.dir, `runtime-${children.length}.json`);
  writeFileSync(planFile, JSON.stringify(fx.plan));
  writeFileSync(runtimeFile, JSON.stringify(runtime));
  const command = `${shell} exec "${process.execPath}" --import tsx mcp-server/src/main.ts --plan "${planFile}" --runtime "${runtimeFile}"`;
  // TSX_DISABLE_CACHE: the compiler cache must not write files under the child's file size limit.
  const child = spawn("bash", ["-c", command], { cwd: repoRoot, env: { ...process.env, TSX_DISABLE_CACHE: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve({ child, url: m[1]!, stdout: () => out, stderr: () => err });
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${err.slice(0, 500)}`)));
  });
}

describe("a short write refuses the call and leaves the file parseable", { timeout: 120_000 }, () => {
  test("under a real file size limit (RLIMIT_FSIZE via ulimit -f), no call is answered on a half line", async () => {
    const auditFile = join(fx.dir, "limited.jsonl");
    // 8 KiB limit (bash counts 1024-byte blocks); lines are ~400 bytes: a line straddles the limit within ~20 calls.
    const { url, child } = await spawnServer(fx.runtime({ audit: { file: auditFile } }), "ulimit -f 8;");
    const c = await httpClient(url, fx.keys["claude-cs"]!);
    clients.push(c);
    const answered: string[] = [];
    let refused = 0;
    for (let i = 0; i < 40 && refused < 3; i++) {
      const out = await call(c, "query", { sql: `SELECT id, name FROM app.accounts WHERE id = $1 AND name <> 'padding ${"x".repeat(i)}'`, params: [1 + i] });
      if (out.isError && /^UNAVAILABLE: the audit log/.test(out.text)) refused++;
      else answered.push(out.text);
    }
    assert.equal(refused, 3, "calls past the limit are refused");
    assert.ok(answered.length >= 10, `${answered.length} calls were answered before the limit`);
    // Every answered call has its whole line, whatever it answered (on a loaded machine a call may
    // fail for another reason, with a line that says so), and no call refused for the log has one.
    const lines = jsonLines(auditFile);
    const errors = answered.filter((text) => /^[A-Z_]+: /.test(text));
    assert.equal(
      lines.length,
      answered.length,
      `every answered call has its whole line, and no refused call has one (errors answered: ${JSON.stringify(errors)})`,
    );
    assert.equal(lines.filter((l) => l.verdict === "allowed").length, answered.length - errors.length, "each call served has an allowed line");
    assert.ok(readFileSync(auditFile).length <= 8 * 1024);

    // Log rotation moves the full file away: the next line goes to a new file at the path.
    renameSync(auditFile, `${auditFile}.1`);
    const probe = await call(c, "query", { sql: "SELECT 1 AS one" });
    assert.match(probe.text, /^UNAVAILABLE: /, "the first call after an outage only probes the sink");
    const next = await call(c, "query", { sql: "SELECT 2 AS two" });
    assert.deepEqual(next.json?.rows, [[2]], next.text);
    assert.deepEqual(
      jsonLines(auditFile).map((l) => l.verdict),
      ["failed", "allowed"],
    );
    jsonLines(`${auditFile}.1`);
    child.kill("SIGTERM");
  });
});

describe("log rotation", { timeout: 60_000 }, () => {
  test("a renamed or deleted audit file is followed to the configured path; reload() reopens it too", async () => {
    const auditFile = join(fx.dir, "rotated.jsonl");
    const s = await startServer({ plan: fx.plan, runtime: fx.runtime({ audit: { file: auditFile } }) });
    servers.push(s);
    const c = await httpClient(s.url, fx.keys["claude-cs"]!);
    clients.push(c);
    await call(c, "list_tables");
    renameSync(auditFile, `${auditFile}.1`);
    await call(c, "describe_table", { table: "app.accounts" });
    assert.deepEqual(
      jsonLines(`${auditFile}.1`).map((l) => l.tool),
      ["list_tables"],
    );
    assert.deepEqual(
      jsonLines(auditFile).map((l) => l.tool),
      ["describe_table"],
    );
    unlinkSync(auditFile);
    await call(c, "list_tables");
    assert.deepEqual(
      jsonLines(auditFile).map((l) => l.tool),
      ["list_tables"],
    );
    // Rotation by signal: SIGHUP calls reload(), which reopens the file first.
    renameSync(auditFile, `${auditFile}.2`);
    await s.reload();
    assert.deepEqual(jsonLines(auditFile), [], "reopened at the path before any call");
  });
});

describe("durability", { timeout: 60_000 }, () => {
  const record = (i: number): AuditRecord =>
    startedRecord({ time: new Date(0).toISOString(), requestId: `r${i}`, transport: "stdio", client: "c", principal: "p", workflow: "w", tool: "list_tables" });

  test("fsync none / line / group: what each makes durable before answering", async () => {
    for (const [fsync, check] of [
      ["none", (s: FileAuditSink["stats"]) => s.syncs === 0],
      ["line", (s: FileAuditSink["stats"]) => s.syncs === 20 && s.writes === 20],
      ["group", (s: FileAuditSink["stats"]) => s.syncs >= 1 && s.syncs < 20 && s.writes === s.syncs],
    ] as const) {
      const path = join(fx.dir, `durable-${fsync}.jsonl`);
      const sink = await FileAuditSink.open(path, { fsync, groupCommitMs: 20 });
      const resolvedAfterSyncs: number[] = [];
      await Promise.all(Array.from({ length: 20 }, (_, i) => sink.write(record(i)).then(() => void resolvedAfterSyncs.push(sink.stats.syncs))));
      assert.ok(check(sink.stats), `${fsync}: ${JSON.stringify(sink.stats)}`);
      if (fsync !== "none")
        assert.ok(
          resolvedAfterSyncs.every((n) => n >= 1),
          "no write resolved before a sync",
        );
      await sink.close();
      assert.deepEqual(
        jsonLines(path).map((l) => l.requestId),
        Array.from({ length: 20 }, (_, i) => `r${i}`),
        "in order, whole",
      );
    }
  });

  test("the audit config keeps its two forms and adds fsync, groupCommitMs and a stream beside the file", () => {
    for (const ok of [
      { file: "/a" },
      { stream: "stderr" },
      { file: "/a", fsync: "group", groupCommitMs: 3, stream: "stdout" },
      { file: "/a", fsync: "line" },
    ]) {
      assert.equal(AuditConfigSchema.safeParse(ok).success, true, JSON.stringify(ok));
    }
    for (const bad of [
      { file: "/a", fsync: "always" },
      { file: "/a", groupCommitMs: 3 },
      { stream: "stdout", fsync: "line" },
      { file: "/a", durable: true },
    ]) {
      assert.equal(AuditConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  test("audit lines go to the file and to stdout as JSON together", async () => {
    const auditFile = join(fx.dir, "tee.jsonl");
    const { url, stdout, child } = await spawnServer(fx.runtime({ audit: { file: auditFile, fsync: "group", stream: "stdout" } }));
    const c = await httpClient(url, fx.keys["claude-cs"]!);
    clients.push(c);
    await call(c, "list_tables");
    await call(c, "query", { sql: "SELECT 1 AS one" });
    const inFile = jsonLines(auditFile).map((l) => l.requestId);
    const onStdout = stdout()
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { requestId: string }).requestId);
    assert.equal(inFile.length, 2);
    assert.deepEqual(onStdout, inFile);
    child.kill("SIGTERM");
  });
});

describe("--unsafe-no-sql-check", { timeout: 60_000 }, () => {
  test("warned at start, marked on every audit line, refused on a non-loopback listener", async () => {
    const logged: string[] = [];
    const auditFile = join(fx.dir, "unsafe.jsonl");
    const s = await startServer({
      plan: fx.plan,
      runtime: fx.runtime({ audit: { file: auditFile } }),
      unsafeDisableSqlCheck: true,
      log: (l) => logged.push(l),
    });
    servers.push(s);
    assert.ok(
      logged.some((l) => /WARNING: the SQL statement check is OFF/.test(l)),
      logged.join("\n"),
    );
    const c = await httpClient(s.url, fx.keys["claude-cs"]!);
    clients.push(c);
    await call(c, "list_tables");
    await call(c, "query", { sql: "SELECT 1 AS one" });
    await call(c, "query", { sql: "SELECT 1", nope: 1 });
    const lines = jsonLines(auditFile);
    assert.equal(lines.length, 3);
    for (const l of lines) assert.equal(l.sqlCheck, "off");
    const safe = join(fx.dir, "safe.jsonl");
    const t = await startServer({ plan: fx.plan, runtime: fx.runtime({ audit: { file: safe } }), log: () => {} });
    servers.push(t);
    const d = await httpClient(t.url, fx.keys["claude-cs"]!);
    clients.push(d);
    await call(d, "list_tables");
    assert.equal("sqlCheck" in jsonLines(safe)[0]!, false);
    await assert.rejects(
      startServer({ plan: fx.plan, runtime: fx.runtime({ listen: { host: "0.0.0.0", port: 0 } }), unsafeDisableSqlCheck: true, log: () => {} }),
      /unsafeDisableSqlCheck .*refused on listen\.host 0\.0\.0\.0/,
    );
  });
});

describe("failed authentications in the audit log, bounded", () => {
  test("per window: a source's first failure at once, the rest as one count; past the source limit, one 'other' count", () => {
    const lines: UnauthenticatedEntry[] = [];
    const log = new UnauthenticatedLog((entry) => lines.push(entry), 60_000);
    // A flood: 150 sources, 1,000 failures each.
    for (let round = 0; round < 1_000; round++) for (let i = 0; i < 150; i++) log.note(`10.0.${i >> 8}.${i & 255}`, "auth-invalid-token");
    assert.equal(lines.length, UNAUTHENTICATED_SOURCES + 1, "one line per known source and one for the rest, so far");
    assert.deepEqual(lines.at(-1), { source: "other", errorClass: "auth-invalid-token", count: 1 });
    log.flush();
    assert.equal(lines.length, 2 * (UNAUTHENTICATED_SOURCES + 1), "at most two lines per source and window, whatever arrives");
    assert.deepEqual(lines[UNAUTHENTICATED_SOURCES + 1], { source: "10.0.0.0", errorClass: "auth-invalid-token", count: 999 });
    assert.deepEqual(lines.at(-1), { source: "other", errorClass: "auth-invalid-token", count: 50 * 1_000 - 1 });
    assert.equal(
      lines.reduce((sum, l) => sum + l.count, 0),
      150 * 1_000,
      "every failure is counted",
    );
    // The next window starts afresh; a quiet source leaves no summary line.
    log.note("10.9.9.9", "auth-missing");
    log.flush();
    assert.deepEqual(lines.slice(-1), [{ source: "10.9.9.9", errorClass: "auth-missing", count: 1 }]);
  });
});
