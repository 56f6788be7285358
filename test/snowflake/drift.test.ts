/**
 * Drift and the catalog on Snowflake against a fake account answering SHOW GRANTS and
 * INFORMATION_SCHEMA.COLUMNS in Snowflake's row shapes: a role holding exactly what the plan grants
 * is no drift; an extra privilege, a grant option, another grantee and a missing grant are drift in
 * the PostgreSQL drift report's shape (same exit code); `--fix` revokes only what the plan does not grant.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { entryColumns, loadCatalog } from "../../components/postgres/catalog.ts";
import { mergeDrift, driftExitCode } from "../../src/drift/report.ts";
import { planStack } from "../../src/plan/index.ts";
import type { TargetOf } from "../../src/plan/types.ts";
import { detectSnowflakeDrift, plannedGrants, revokeSnowflakeDrift, snowflakeCatalog, type SnowflakeQuery } from "../../src/snowflake/drift.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const plan = planStack("snowflake", { root: ROOT, now: new Date("2026-01-15T12:00:00Z") });
const target = plan.targets[0] as TargetOf<"snowflake">;
const catalog = loadCatalog("snowflake", ROOT);
const ROLE = "DBW_SALES_ANALYTICS";

/** A fake account: SHOW GRANTS rows as Snowflake prints them (unquoted names), and every statement run. */
function account(extra: Array<Record<string, unknown>> = [], grantees = [{ granted_to: "USER", grantee_name: "DBW_SALES_ANALYTICS__CLAUDE_REVOPS" }]) {
  const ran: string[] = [];
  const planned = (plannedGrants(plan, target, catalog).get(ROLE) ?? []).map((g) => ({
    privilege: g.privilege,
    granted_on: g.on,
    name: g.name.replaceAll('"', ""),
    grantee_name: ROLE,
    grant_option: "false",
  }));
  const query: SnowflakeQuery = async (sql, binds) => {
    ran.push(sql);
    if (sql === `SHOW GRANTS TO ROLE "${ROLE}"`) return [...planned, ...extra];
    if (sql === `SHOW GRANTS OF ROLE "${ROLE}"`) return grantees.map((g) => ({ role: ROLE, ...g }));
    if (sql.includes("INFORMATION_SCHEMA.COLUMNS"))
      return entryColumns(catalog[`${binds![0]}.${binds![1]}`] ?? []).map((c) => ({ COLUMN_NAME: c, DATA_TYPE: "TEXT" }));
    if (sql.startsWith("REVOKE")) return [];
    throw Object.assign(new Error("SQL compilation error"), { code: "001003" });
  };
  return { query, ran, planned };
}

describe("drift on Snowflake", () => {
  it("a role holding exactly the plan's grants: no drift, exit 0", async () => {
    const report = await detectSnowflakeDrift(account().query, plan, target, catalog);
    assert.deepEqual(report.differences, []);
    assert.equal(driftExitCode(mergeDrift(plan.environment, [report], null)), 0);
  });

  it("reports an extra privilege, a grant option, another grantee and a missing grant; exit 3; --fix revokes only what the plan does not grant", async () => {
    const fake = account(
      [
        { privilege: "SELECT", granted_on: "TABLE", name: "ANALYTICS.SALES.CUSTOMERS", grant_option: "false" },
        { privilege: "USAGE", granted_on: "WAREHOUSE", name: "AGENTS_XS", grant_option: "true" },
      ],
      [
        { granted_to: "USER", grantee_name: "DBW_SALES_ANALYTICS__CLAUDE_REVOPS" },
        { granted_to: "ROLE", grantee_name: "ANALYST" },
      ],
    );
    fake.planned.splice(
      fake.planned.findIndex((g) => g.granted_on === "DATABASE"),
      1,
    );
    const report = await detectSnowflakeDrift(fake.query, plan, target, catalog);
    assert.deepEqual(
      report.differences.map((d) => d.message),
      [
        "DBW_SALES_ANALYTICS holds SELECT on TABLE ANALYTICS.SALES.CUSTOMERS, which the plan does not grant",
        "DBW_SALES_ANALYTICS holds USAGE on WAREHOUSE AGENTS_XS WITH GRANT OPTION, which the plan does not grant",
        "DBW_SALES_ANALYTICS lacks USAGE on DATABASE ANALYTICS (pulumi up grants it)",
        "ROLE ANALYST holds role DBW_SALES_ANALYTICS, which the plan gives only to DBW_SALES_ANALYTICS__CLAUDE_REVOPS",
      ],
    );
    assert.equal(driftExitCode(mergeDrift(plan.environment, [report], null)), 3);
    const statements = await revokeSnowflakeDrift(fake.query, report);
    assert.equal(statements, 3);
    assert.deepEqual(
      fake.ran.filter((s) => s.startsWith("REVOKE")),
      [
        'REVOKE SELECT ON TABLE ANALYTICS.SALES.CUSTOMERS FROM ROLE "DBW_SALES_ANALYTICS"',
        'REVOKE USAGE ON WAREHOUSE AGENTS_XS FROM ROLE "DBW_SALES_ANALYTICS"',
        'REVOKE ROLE "DBW_SALES_ANALYTICS" FROM ROLE "ANALYST"',
      ],
    );
  });

  it("a role that does not exist is drift (missing-role)", async () => {
    const query: SnowflakeQuery = async () => {
      throw Object.assign(new Error("Role 'DBW_SALES_ANALYTICS' does not exist or not authorized."), { code: "002003" });
    };
    const report = await detectSnowflakeDrift(query, plan, target, catalog);
    assert.deepEqual(
      report.differences.map((d) => d.kind),
      ["missing-role"],
    );
  });
});

describe("dbwarden catalog on Snowflake", () => {
  it("reads INFORMATION_SCHEMA.COLUMNS of the scoped tables into a catalog snapshot", async () => {
    const fake = account();
    const typed = Object.fromEntries(
      Object.entries(catalog).map(([table, columns]) => [table, Object.fromEntries(entryColumns(columns).map((c) => [c, "TEXT"]))]),
    );
    assert.deepEqual(await snowflakeCatalog(fake.query, plan, target), typed);
    assert.ok(fake.ran.every((s) => s.startsWith('SELECT COLUMN_NAME, DATA_TYPE FROM "ANALYTICS".INFORMATION_SCHEMA.COLUMNS')));
  });
});

describe("the CLI on the Snowflake stack", () => {
  it("plan covers it; drift and catalog need the deployer's key-pair login, named in the error (exit 1), before anything connects", async () => {
    const { runCli } = await import("../support/cli.ts");
    const now = new Date("2026-01-15T12:00:00Z");
    const planned = await runCli(ROOT, now, "plan", "--stack", "snowflake", "--json");
    assert.equal(planned.code, 0, planned.stderr);
    assert.equal(JSON.parse(planned.stdout).targets[0].platform, "snowflake");
    const drift = await runCli(ROOT, now, "drift", "--stack", "snowflake", "--no-pulumi");
    assert.equal(drift.code, 1);
    assert.match(drift.stderr, /cannot check drift: target warehouse: set SNOWFLAKE_USER/);
    const read = await runCli(ROOT, now, "catalog", "--stack", "snowflake");
    assert.equal(read.code, 1);
    assert.match(read.stderr, /cannot read the catalog: target warehouse: set SNOWFLAKE_USER/);
  });
});
