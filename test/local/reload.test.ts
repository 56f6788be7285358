/**
 * A changed spec reaches the running stack: `dbwarden up` again (the real bin) applies it to the
 * running `up` and prints what changed; `up --watch` does so on every save; a spec with errors
 * changes nothing and the stack keeps serving what it served.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { initializeStatus, interrupt, keyOf, mcpClient, readConnection, runBin, suiteProject, textOf, waitFor, type Running } from "./support.ts";

const WORKFLOW = join("stacks", "workflows", "cs-usage-drop.yaml");

function editWorkflow(root: string, edit: (text: string) => string): void {
  const file = join(root, WORKFLOW);
  const text = readFileSync(file, "utf8");
  const next = edit(text);
  assert.notEqual(next, text, "the edit changed the spec");
  writeFileSync(file, next);
}

const addClient = (text: string) => text.replace("  - name: n8n-cs-digest\n", "  - name: claude-cs-2\n    auth: api-key\n  - name: n8n-cs-digest\n");
const dropRegion = (text: string) => text.replace("        region: Data region the account lives in (eu, us, apac).\n", "");
const removeClient = (text: string) => text.replace("  - name: claude-cs-2\n    auth: api-key\n", "");
const breakSpec = (text: string) => text.replace(/^limits:/m, "limitz:");

/** Nothing secret in what a command printed. */
function assertNoSecret(root: string, printed: string): void {
  const connection = readConnection(root);
  assert.ok(!printed.includes(connection.postgres.adminPassword), "the admin password was printed");
  for (const c of connection.clients) assert.ok(!printed.includes(c.apiKey), `the API key of ${c.name} was printed`);
}

describe("a second `dbwarden up` applies the changed spec to the running stack", { timeout: 170_000 }, () => {
  const { root, startUp } = suiteProject("dbwarden-reload-");
  let up: Running;

  test("roles, grants and clients change in place; the output says what changed, in words, no secret", async () => {
    up = await startUp();
    const before = readConnection(root);
    editWorkflow(root, (t) => dropRegion(addClient(t)));

    const second = await runBin(root, ["up"]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /Applied the changed spec to the running local stack:/);
    assert.match(second.stdout, /- client claude-cs-2 added to workflow cs-usage-drop\n/);
    assert.match(second.stdout, /- workflow cs-usage-drop can no longer read app\.accounts column region\n/);
    assert.match(
      second.stdout,
      /- database dbwarden_demo: \d+ statements in one transaction \(roles created: dbw_cs_usage_drop__claude_cs_2; grants, memberships or settings changed for: dbw_cs_usage_drop\)/,
    );
    assert.match(second.stdout, /- MCP server serves the new plan at http:\/\/127\.0\.0\.1:\d+\/mcp \(in place/);
    assertNoSecret(root, second.stdout + second.stderr + up.stdout() + up.stderr());

    // Same endpoint, the new client's key from connection.json works, old clients keep theirs.
    const after = readConnection(root);
    assert.equal(after.mcpUrl, before.mcpUrl);
    assert.equal(keyOf(after, "claude-cs"), keyOf(before, "claude-cs"));
    const added = await mcpClient(root, "claude-cs-2");
    try {
      const tables = await added.callTool({ name: "list_tables", arguments: {} });
      assert.notEqual(tables.isError, true, textOf(tables));
      assert.match(textOf(tables), /app\.accounts/);
    } finally {
      await added.close();
    }
    // The dropped column is no longer readable (by the database role and by the server's plan).
    const cs = await mcpClient(root, "claude-cs");
    try {
      const region = await cs.callTool({ name: "query", arguments: { sql: "SELECT region FROM app.accounts LIMIT 1" } });
      assert.equal(region.isError, true, textOf(region));
      const plan = await cs.callTool({ name: "query", arguments: { sql: "SELECT plan FROM app.accounts LIMIT 1" } });
      assert.notEqual(plan.isError, true, textOf(plan));
    } finally {
      await cs.close();
    }

    // Once more: nothing to change.
    const third = await runBin(root, ["up"]);
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stdout, /The running local stack already matches the spec: nothing changed\./);
  });

  test("a spec with errors prints them, exits 1, and leaves the running stack as it was", async () => {
    const connection = readConnection(root);
    editWorkflow(root, breakSpec);
    const result = await runBin(root, ["up"]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /stacks\/workflows\/cs-usage-drop\.yaml:\d+:1: error at limitz: unknown key `limitz`/);
    assert.match(result.stderr, /The running local stack was left as it was\./);
    // Still serving the previous plan, with claude-cs-2.
    assert.equal(await initializeStatus(connection.mcpUrl, keyOf(connection, "claude-cs-2")), 200);
    assert.deepEqual(readConnection(root), connection);
    editWorkflow(root, (t) => t.replace(/^limitz:/m, "limits:"));
  });

  test("`dbwarden down` stops it", async () => {
    const down = await runBin(root, ["down"]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /The local stack is stopped/);
    assert.equal(await up.exited, 0);
  });
});

describe("`dbwarden up --watch` applies every save of a spec file", { timeout: 170_000 }, () => {
  const { root, startUp } = suiteProject("dbwarden-watch-");

  test("a save adds a client, another removes it, a broken save changes nothing", async () => {
    const run = await startUp(["--watch"]);
    assert.match(run.stdout(), /Watching the spec files: every save is applied to this stack\./);

    editWorkflow(root, addClient);
    await waitFor("the added client", () => run.stdout().includes("client claude-cs-2 added to workflow cs-usage-drop"), run);
    await waitFor("connection.json with the new client", () => readConnection(root).clients.some((c) => c.name === "claude-cs-2"), run);
    const connection = readConnection(root);
    const addedKey = keyOf(connection, "claude-cs-2");
    assert.equal(await initializeStatus(connection.mcpUrl, addedKey), 200);

    editWorkflow(root, breakSpec);
    await waitFor("the spec's problem", () => run.stderr().includes("error at limitz: unknown key `limitz`"), run);
    assert.match(run.stderr(), /The running local stack was left as it was\./);
    assert.equal(await initializeStatus(connection.mcpUrl, addedKey), 200, "still serving the previous plan");

    editWorkflow(root, (t) => removeClient(t.replace(/^limitz:/m, "limits:")));
    await waitFor("the removed client", () => run.stdout().includes("client claude-cs-2 removed from workflow cs-usage-drop"), run);
    assert.equal(await initializeStatus(connection.mcpUrl, addedKey), 401, "the removed client's key is refused");
    assert.equal(await initializeStatus(connection.mcpUrl, keyOf(connection, "claude-cs")), 200);
    assertNoSecret(root, run.stdout() + run.stderr());

    assert.equal(await interrupt(run), 0);
  });
});
