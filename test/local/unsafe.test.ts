/**
 * `dbwarden up --unsafe-no-sql-check`: the MCP server without its SQL check, so a reviewer can see
 * the database role hold alone. A query the parser would refuse reaches the database, which refuses
 * it itself; the flag is loud, and refused for anything but the local stack.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { interrupt, mcpClient, runBin, suiteProject, tempProject, textOf } from "./support.ts";

describe("dbwarden up --unsafe-no-sql-check", { timeout: 150_000 }, () => {
  const { root, startUp } = suiteProject("dbwarden-unsafe-");

  test("an excluded column and a write are refused by the database itself; a loud warning at start", async () => {
    const up = await startUp(["--unsafe-no-sql-check"]);
    assert.match(up.stderr(), /WARNING: --unsafe-no-sql-check: the MCP server runs WITHOUT its SQL check/);
    assert.match(up.stdout(), /WARNING: --unsafe-no-sql-check: the MCP server runs WITHOUT its SQL check/);

    const client = await mcpClient(root, "claude-cs");
    try {
      // billing_email is not granted to cs-usage-drop: with the parser on, the server refuses it
      // before the database sees it; here the database's column privileges refuse it.
      const excluded = await client.callTool({ name: "query", arguments: { sql: "SELECT billing_email FROM app.accounts LIMIT 1" } });
      assert.equal(excluded.isError, true);
      assert.match(textOf(excluded), /^DENIED: the database refused: permission denied for table accounts/);
      const outOfScope = await client.callTool({ name: "query", arguments: { sql: "SELECT count(*) FROM billing.invoices" } });
      assert.equal(outOfScope.isError, true);
      assert.match(textOf(outOfScope), /the database refused: permission denied for schema billing/);
      const ok = await client.callTool({ name: "query", arguments: { sql: "SELECT id, plan FROM app.accounts LIMIT 1" } });
      assert.notEqual(ok.isError, true, textOf(ok));
    } finally {
      await client.close();
    }
    const audit = readFileSync(join(root, ".dbwarden", "local", "audit.log"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { tool: string; verdict: string; errorClass?: string | null });
    const refused = audit.filter((r) => r.tool === "query" && r.verdict !== "allowed");
    assert.equal(refused.length, 2);
    assert.ok(
      refused.every((r) => r.errorClass === "42501"),
      JSON.stringify(refused),
    );
    assert.equal(await interrupt(up), 0);
  });

  test("refused for a stack that is not the local one, and with a PostgreSQL given by URL", async () => {
    const other = tempProject("dbwarden-unsafe-refused-");
    after(() => rmSync(other, { recursive: true, force: true }));
    const dev = await runBin(other, ["up", "--stack", "dev", "--unsafe-no-sql-check"]);
    assert.equal(dev.code, 2, dev.stderr);
    assert.match(
      dev.stderr,
      /--unsafe-no-sql-check is for the local stack only \(the embedded PostgreSQL, the MCP server on 127\.0\.0\.1\): stack dev has targets that are not the embedded PostgreSQL \(app\)/,
    );
    const url = await runBin(other, ["up", "--url-env", "ADMIN_URL", "--unsafe-no-sql-check"], { ADMIN_URL: "postgres://admin:pw@127.0.0.1:1/postgres" });
    assert.equal(url.code, 2, url.stderr);
    assert.match(url.stderr, /--unsafe-no-sql-check is for the local stack only .*: not with a PostgreSQL given by URL/);
    assert.ok(!url.stderr.includes("pw@"), "the URL is not echoed");
  });
});
