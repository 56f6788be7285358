/**
 * A reload under load drops no call (issue 18): while clients call the running stack without pause,
 * a changed spec is applied by a second `dbwarden up` (the real bin); the MCP server takes the new
 * plan in place, every call before, during and after it is answered, and the new plan is the one
 * served afterwards.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { mcpClient, readConnection, runBin, suiteProject, textOf } from "./support.ts";

describe("a reload under load", { timeout: 170_000 }, () => {
  const { root, startUp } = suiteProject("dbwarden-reload-load-");

  test("a second `up` changes the plan while clients call: no call fails, the new plan serves", async () => {
    // Rates high enough for the load: a refusal here could only come from the reload.
    for (const name of readdirSync(join(root, "stacks", "workflows"))) {
      const file = join(root, "stacks", "workflows", name);
      writeFileSync(file, readFileSync(file, "utf8").replace(/callsPerMinute: \d+/, "callsPerMinute: 6000"));
    }
    const up = await startUp();
    // Every client the local stack can serve from this machine (some are bound to other networks).
    const clients: Array<{ name: string; mcp: Client; table: string }> = [];
    for (const { name } of readConnection(root).clients) {
      const mcp = await mcpClient(root, name).catch(() => null);
      if (!mcp) continue;
      const listed = await mcp.callTool({ name: "list_tables", arguments: {} });
      if (listed.isError) {
        await mcp.close();
        continue;
      }
      clients.push({ name, mcp, table: (JSON.parse(textOf(listed)) as { tables: Array<{ table: string }> }).tables[0]!.table });
    }
    assert.ok(clients.length >= 3, `clients served from here: ${clients.map((c) => c.name).join(", ")}`);

    let stop = false;
    const failures: string[] = [];
    let calls = 0;
    // One call at a time per client.
    const load = clients.map(async ({ name, mcp, table }) => {
      for (let i = 0; !stop; i++) {
        const result = await mcp
          .callTool({ name: i % 2 === 0 ? "list_tables" : "describe_table", arguments: i % 2 === 0 ? {} : { table } })
          .catch((error: Error) => ({ isError: true, content: [{ type: "text", text: `transport: ${error.message}` }] }));
        calls++;
        if (result.isError) failures.push(`${name}: ${textOf(result)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    });

    await new Promise((r) => setTimeout(r, 1_000));
    const file = join(root, "stacks", "workflows", "cs-usage-drop.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("  maxRows: 1000\n", "  maxRows: 500\n"));
    const second = await runBin(root, ["up"]);
    await new Promise((r) => setTimeout(r, 1_000));
    stop = true;
    await Promise.all(load);

    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /- workflow cs-usage-drop limits: rows per result 1000 -> 500/);
    assert.match(second.stdout, /- MCP server serves the new plan at http:\/\/127\.0\.0\.1:\d+\/mcp \(in place: calls in flight finished on the previous plan/);
    assert.deepEqual(failures, [], `${failures.length} of ${calls} calls failed`);
    assert.ok(calls > 30, `${calls} calls made`);

    // The new plan is served: the same open session now sees the new cap.
    const cs = clients.find((c) => c.name === "claude-cs")!;
    const capped = await cs.mcp.callTool({ name: "query", arguments: { sql: "SELECT id FROM analytics.usage_events" } });
    assert.notEqual(capped.isError, true, textOf(capped));
    const answer = JSON.parse(textOf(capped)) as { rowCount: number; truncated: boolean; limits: { maxRows: number } };
    assert.deepEqual([answer.rowCount, answer.truncated, answer.limits.maxRows], [500, true, 500]);
    await Promise.all(clients.map((c) => c.mcp.close()));
    assert.ok(up.stderr().includes("Handing the new plan to the MCP server (in place)"));
  });
});
