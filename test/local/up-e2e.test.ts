/**
 * `npm start` end to end: the real `bin/dbwarden.js up` process in a fresh project directory, driven
 * with the official MCP SDK client. An in-scope query succeeds, a write and an excluded column are
 * refused, the audit log holds all three; Ctrl-C stops cleanly; a second `up` changes nothing;
 * `dbwarden rotate` takes effect in the running server; `dbwarden down` stops it.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { main } from "../../src/cli/main.ts";
import { isAlive } from "../../src/local/state.ts";
import { initializeStatus, mcpClient, startBin, tempProject, waitFor, type Running } from "./support.ts";

/** `dbwarden up` with any free MCP port, not waited for. */
const startUp = (cwd: string) => startBin(cwd, ["up", "--mcp-port", "0"]);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe("npm start (dbwarden up) end to end", { timeout: 170_000 }, () => {
  const root = tempProject("dbwarden-up-");
  const local = join(root, ".dbwarden", "local");
  const running: Running[] = [];
  after(async () => {
    for (const up of running) if (up.child.exitCode === null) up.child.kill("SIGTERM");
    await Promise.all(running.map((u) => u.exited));
    rmSync(root, { recursive: true, force: true });
  });

  test("first up: a working governed endpoint, then Ctrl-C; second up is a no-op; down stops it", async () => {
    const up = startUp(root);
    running.push(up);
    await waitFor("the ready message", () => up.stdout().includes("dbwarden local stack is ready"), up);

    // connection.json: mode 0600, exactly the contract's keys.
    const file = join(local, "connection.json");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const connection = JSON.parse(readFileSync(file, "utf8"));
    assert.deepEqual(Object.keys(connection).sort(), ["clients", "mcpUrl", "postgres"]);
    assert.deepEqual(Object.keys(connection.postgres).sort(), ["adminPassword", "adminUser", "database", "host", "port"]);
    assert.equal(connection.postgres.database, "dbwarden_demo");
    assert.match(connection.mcpUrl, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    for (const c of connection.clients) assert.deepEqual(Object.keys(c).sort(), ["apiKey", "name", "workflow"]);
    assert.deepEqual(connection.clients.map((c: { name: string }) => c.name).sort(), [
      "claude-cs",
      "claude-incident-bot",
      "initech-assistant",
      "n8n-cs-digest",
      "n8n-finance-weekly",
      "umbrella-assistant",
    ]);
    // Every secret file is 0600; nothing secret was printed.
    for (const f of filesUnder(join(local, "secrets"))) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    const printed = up.stdout() + up.stderr();
    assert.ok(!printed.includes(connection.postgres.adminPassword));
    for (const c of connection.clients) assert.ok(!printed.includes(c.apiKey), `API key of ${c.name} printed`);
    assert.match(printed, /claude mcp add --transport http dbwarden-cs-usage-drop-claude-cs http:\/\/127\.0\.0\.1:\d+\/mcp --header/);
    assert.match(printed, /Cursor/);
    assert.match(
      printed,
      /npx -y @modelcontextprotocol\/inspector@1\.0\.3 --cli http:\/\/127\.0\.0\.1:\d+\/mcp --transport http --method tools\/list --header "Authorization: Bearer \$\(node -p/,
    );

    // The official SDK client, as claude-cs (workflow cs-usage-drop).
    const client = await mcpClient(root, "claude-cs");
    try {
      const tools = (await client.listTools()).tools.map((t) => t.name).sort();
      assert.deepEqual(tools, ["describe_table", "explain", "list_tables", "query"]);
      const ok = await client.callTool({ name: "query", arguments: { sql: "SELECT id, plan, region FROM app.accounts ORDER BY id LIMIT 3" } });
      assert.notEqual(ok.isError, true, JSON.stringify(ok.content));
      assert.match(JSON.stringify(ok.content), /enterprise|growth|starter|trial/);
      const write = await client.callTool({ name: "query", arguments: { sql: "UPDATE app.accounts SET plan = 'free' WHERE id = 1" } });
      assert.equal(write.isError, true);
      const excluded = await client.callTool({ name: "query", arguments: { sql: "SELECT billing_email FROM app.accounts LIMIT 1" } });
      assert.equal(excluded.isError, true);
    } finally {
      await client.close();
    }
    const audit = readFileSync(join(local, "audit.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((r) => r.tool === "query");
    assert.equal(audit.length, 3, JSON.stringify(audit));
    assert.deepEqual(
      audit.map((r) => r.client),
      ["claude-cs", "claude-cs", "claude-cs"],
    );
    assert.equal(audit[0].verdict, "allowed");
    assert.notEqual(audit[1].verdict, "allowed");
    assert.notEqual(audit[2].verdict, "allowed");
    assert.ok(audit[1].code, "the refused write carries an error code");
    assert.ok(audit[2].code, "the refused column carries an error code");

    // Ctrl-C: the process exits, PostgreSQL stops, the state file goes.
    const postmaster = Number(readFileSync(join(local, "pgdata", "postmaster.pid"), "utf8").split("\n")[0]);
    up.child.kill("SIGINT");
    await up.exited;
    assert.match(up.stderr(), /Stopped\./);
    assert.equal(isAlive(postmaster), false);
    assert.equal(existsSync(join(local, "state.json")), false);

    // Second up: same data and credentials, nothing to change.
    const again = startUp(root);
    running.push(again);
    await waitFor("the second ready message", () => again.stdout().includes("dbwarden local stack is ready"), again);
    assert.match(again.stderr(), /already up to date: nothing to change/);
    assert.doesNotMatch(again.stderr(), /Initialising|Loading the demo dataset|Created credentials|Rotated/);
    const second = JSON.parse(readFileSync(file, "utf8"));
    assert.deepEqual(second.clients, connection.clients);

    // `dbwarden rotate` while up runs: the server reloads, the old key is refused, the new one works.
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t), progress: () => {}, now: () => new Date(), cwd: root, env: {} };
    const oldKey = second.clients.find((c: { name: string }) => c.name === "claude-cs").apiKey;
    const status = (bearer: string) => initializeStatus(second.mcpUrl, bearer);
    assert.equal(await status(oldKey), 200);
    assert.equal(await main(["rotate", "--client", "claude-cs"], io), 0);
    assert.match(out.join(""), /Rotated 1 credential.*The running MCP server now accepts only the new API keys/s);
    const newKey = JSON.parse(readFileSync(file, "utf8")).clients.find((c: { name: string }) => c.name === "claude-cs").apiKey;
    assert.notEqual(newKey, oldKey);
    let oldStatus = 200;
    await waitFor(
      "the running server to drop the old key",
      () => {
        void status(oldKey).then((s) => (oldStatus = s));
        return oldStatus === 401;
      },
      again,
    );
    assert.equal(await status(newKey), 200);
    out.length = 0;

    // `dbwarden down` stops it.
    assert.equal(await main(["down"], io), 0);
    assert.equal((await again.exited) !== undefined, true);
    assert.match(out.join(""), /The local stack is stopped/);
    assert.equal(again.child.exitCode !== null || again.child.signalCode !== null, true);
  });
});
