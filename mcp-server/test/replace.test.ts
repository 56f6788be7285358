/**
 * A plan replaced in place (issue 18): the same listener serves the new plan to the next requests,
 * a call already running finishes on the previous one, connections of what did not change are kept
 * (the same database backend serves an unchanged workflow before and after), and a plan whose
 * database does not answer changes nothing. The server process does the same on SIGHUP when its plan
 * file changed.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type pg from "pg";
import { call, fixtureForFile, httpClient, repoRoot, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
let admin: pg.Client;
const opened = fixtureForFile(async (started) => {
  fx = started;
  admin = await fx.db.admin("dbwarden_demo");
});

/** Backend pids of a client's connections (its pool's application_name). */
async function backends(client: string): Promise<number[]> {
  const rows = await admin.query("SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid", [`dbwarden-mcp/${client}`]);
  return rows.rows.map((r: { pid: number }) => r.pid);
}

describe("replacePlan", { timeout: 120_000 }, () => {
  test("the next requests get the new plan, a running call finishes on the old one, unchanged connections are kept", async () => {
    const s = await opened.serve();
    const cs = await opened.connect(s, "claude-cs");
    const incident = await opened.connect(s, "claude-incident-bot");
    assert.equal((await call(incident, "describe_table", { table: "app.users" })).isError, false);
    const incidentBefore = await backends("claude-incident-bot");
    assert.equal(incidentBefore.length, 1);

    const running = call(cs, "query", { sql: "SELECT count(*) AS n FROM analytics.big" });
    await new Promise<void>((resolve, reject) => {
      const poll = async () => {
        const active = await admin.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE '%analytics.big%' AND state = 'active' AND pid <> pg_backend_pid()");
        if (active.rows.length > 0) resolve();
        else setTimeout(() => void poll().catch(reject), 20);
      };
      void poll().catch(reject);
    });
    await s.replacePlan(fx.withLimits({ maxRows: 5 }), fx.runtime());

    const finished = await running;
    assert.equal(finished.isError, false, finished.text);
    assert.deepEqual(finished.json.rows, [["10000000"]], "the call running at the swap finished (on the previous plan)");
    const capped = await call(cs, "query", { sql: "SELECT id FROM analytics.usage_events" });
    assert.deepEqual([capped.json.rowCount, capped.json.truncated, capped.json.limits.maxRows], [5, true, 5], "the next call has the new plan");

    assert.equal((await call(incident, "describe_table", { table: "app.users" })).isError, false);
    assert.deepEqual(await backends("claude-incident-bot"), incidentBefore, "the unchanged workflow kept its connection");
    // The changed workflow's old connection closes once the previous plan has no call left.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const left = await backends("claude-cs");
      if (left.length === 1) break;
      assert.ok(Date.now() < deadline, `claude-cs connections: ${left.join(", ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  test("a plan whose database does not answer changes nothing: the previous plan keeps serving", async () => {
    const s = await opened.serve();
    const cs = await opened.connect(s, "claude-cs");
    await assert.rejects(
      s.replacePlan(
        fx.withLimits({ maxRows: 5 }),
        fx.runtime({ databases: { app: { host: "127.0.0.1", port: 1, database: "dbwarden_demo", sslmode: "disable" } } }),
      ),
      /database unreachable/,
    );
    const out = await call(cs, "query", { sql: "SELECT id FROM analytics.usage_events" });
    assert.deepEqual([out.json.rowCount, out.json.truncated], [1000, true]);
    await assert.rejects(s.replacePlan({ apiVersion: "nope" }, fx.runtime()), /plan/i);
    assert.equal((await call(cs, "list_tables")).isError, false);
  });
});

describe("the server process on SIGHUP", { timeout: 120_000 }, () => {
  test("a changed plan file is served in place", async () => {
    const { planFile, runtimeFile } = fx.writeServerFiles(fx.plan, "sighup");
    const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "mcp-server/src/main.ts"), "--plan", planFile, "--runtime", runtimeFile], {
      cwd: repoRoot,
      stdio: ["ignore", "ignore", "pipe"],
    });
    opened.children.push(child);
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const waitFor = async (pattern: RegExp) => {
      const deadline = Date.now() + 30_000;
      while (!pattern.test(stderr)) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `waiting for ${pattern}: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor(/listening on (\S+)/);
    const url = /listening on (\S+)/.exec(stderr)![1]!;
    const client = await httpClient(url, fx.keys["claude-cs"]!);
    opened.clients.push(client);
    assert.equal((await call(client, "query", { sql: "SELECT id FROM analytics.usage_events" })).json.rowCount, 1000);
    writeFileSync(planFile, JSON.stringify(fx.withLimits({ maxRows: 7 })));
    child.kill("SIGHUP");
    await waitFor(/plan and runtime config reloaded \(the new plan is served in place\)/);
    assert.equal((await call(client, "query", { sql: "SELECT id FROM analytics.usage_events" })).json.rowCount, 7, "the same session, the new plan");
    child.kill("SIGHUP");
    await waitFor(/dbwarden-mcp: runtime config reloaded/);
  });
});
