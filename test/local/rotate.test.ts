/**
 * Credentials of the local stack: rotation keeps queries in flight and open sessions alive while the
 * old password stops working for new sessions; `up` rotates credentials older than rotationDays.
 * Runs the stack in-process (no MCP server) on a fresh project directory.
 */
import assert from "node:assert/strict";
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import pg from "pg";
import { LocalSecretStore } from "../../src/local/secrets.ts";
import { rotateLocal } from "../../src/local/rotate.ts";
import { localTargets, startLocalStack, type RunningLocalStack } from "../../src/local/stack.ts";
import { planStack } from "../../src/plan/index.ts";
import { ROOT } from "../postgres/helpers.ts";

const DAY = 86_400_000;

describe("local credentials: rotate and rotationDays", { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-rotate-"));
  chmodSync(root, 0o755);
  cpSync(join(ROOT, "stacks"), join(root, "stacks"), { recursive: true });
  const start = new Date("2026-01-10T09:00:00Z");
  let stack: RunningLocalStack | null = null;
  const clients: pg.Client[] = [];
  after(async () => {
    await Promise.allSettled(clients.map((c) => c.end()));
    await stack?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const secretName = "dbwarden/local/cs-usage-drop/claude-cs";
  const role = "dbw_cs_usage_drop__claude_cs";
  const connect = async (password: string) => {
    const c = new pg.Client({ host: stack!.connection.postgres.host, port: stack!.connection.postgres.port, user: role, password, database: "dbwarden_demo" });
    c.on("error", () => {});
    await c.connect();
    clients.push(c);
    return c;
  };

  test("rotate: in-flight query finishes, open session survives, old password refused, new one works", async () => {
    stack = await startLocalStack({ root, now: start, progress: () => {}, mcp: false });
    const store = new LocalSecretStore(stack.paths.secretsDir);
    const before = store.read(secretName)!;
    const session = await connect(before.dbPassword);
    const inFlight = session.query("SELECT pg_sleep(1.5), count(*)::int AS n FROM support.tickets");
    await new Promise((r) => setTimeout(r, 200));
    const conn = { ...stack.connection.postgres, url: null };
    const now = new Date(start.getTime() + DAY);
    const plan = planStack("local", { root, now });
    const targets = localTargets(plan, conn.url !== null);
    const { rotated } = await rotateLocal({ plan, targets, paths: stack.paths, conn, now, clients: ["claude-cs"] });
    assert.deepEqual(rotated, [secretName]);

    const result = await inFlight;
    assert.equal(result.rows[0].n, 160, "the query running during rotation completed");
    assert.equal((await session.query("SELECT count(*)::int AS n FROM app.accounts")).rows[0].n, 200, "the open session still works");

    const after = store.read(secretName)!;
    assert.notEqual(after.dbPassword, before.dbPassword);
    assert.notEqual(after.apiKey, before.apiKey);
    await assert.rejects(connect(before.dbPassword), (e: { code?: string }) => e.code === "28P01");
    await connect(after.dbPassword);
    // Other clients were not touched.
    const other = store.read("dbwarden/local/cs-usage-drop/n8n-cs-digest")!;
    assert.equal(store.rotations()["dbwarden/local/cs-usage-drop/n8n-cs-digest"]!.rotatedAt, start.toISOString());
    assert.ok(other.dbPassword.length > 20);
    // connection.json carries the new key.
    const connection = JSON.parse(readFileSync(stack.paths.connectionFile, "utf8"));
    assert.equal(connection.clients.find((c: { name: string }) => c.name === "claude-cs").apiKey, after.apiKey);
    await stack.stop();
    stack = null;
  });

  test("up rotates what is older than rotationDays (30 in the local stack), and nothing younger", async () => {
    // 20 days after the first start: nothing is due yet.
    stack = await startLocalStack({ root, now: new Date(start.getTime() + 20 * DAY), progress: () => {}, mcp: false });
    assert.deepEqual(stack.changed, { database: false, secrets: [], demoData: false });
    await stack.stop();
    // 30 days after the first start: every client but claude-cs (rotated on day 1) is due.
    const lines: string[] = [];
    stack = await startLocalStack({ root, now: new Date(start.getTime() + 30 * DAY), progress: (l) => lines.push(l), mcp: false });
    assert.deepEqual(stack.changed.secrets.sort(), [
      "dbwarden/local/account-assistant/initech-assistant",
      "dbwarden/local/account-assistant/umbrella-assistant",
      "dbwarden/local/cs-usage-drop/n8n-cs-digest",
      "dbwarden/local/eng-incident-investigation/claude-incident-bot",
      "dbwarden/local/finance-weekly-revenue/n8n-finance-weekly",
    ]);
    assert.equal(stack.changed.database, true, "the new passwords were set in the database");
    assert.ok(lines.some((l) => /Rotated credentials for finance-weekly-revenue\/n8n-finance-weekly \(older than 30 days\)/.test(l)));
    const store = new LocalSecretStore(stack.paths.secretsDir);
    await connect(store.read(secretName)!.dbPassword);
  });
});
