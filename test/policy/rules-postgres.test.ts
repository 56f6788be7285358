/**
 * The PostgreSQL rules through their real handlers: for each, a compliant resource passes and the
 * same resource with one field changed is reported, with a message naming what is wrong.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UnknownValueError } from "@pulumi/policy";
import { DefaultPrivileges } from "@pulumi/postgresql/defaultPrivileges.js";
import { Grant } from "@pulumi/postgresql/grant.js";
import { GrantRole } from "@pulumi/postgresql/grantRole.js";
import { Role } from "@pulumi/postgresql/role.js";
import type { WorkflowFacts } from "../../policies/lib/config.ts";
import { agentGrantsReadOnly } from "../../policies/rules/agentGrantsReadOnly.ts";
import { agentRoleAttributes } from "../../policies/rules/agentRoleAttributes.ts";
import { agentRoleMemberships } from "../../policies/rules/agentRoleMemberships.ts";
import { noAccessForExpiredWorkflows } from "../../policies/rules/noAccessForExpiredWorkflows.ts";
import { noTableAndColumnSelect } from "../../policies/rules/noTableAndColumnSelect.ts";
import { sensitiveColumnsJustified, sensitiveColumnsReached } from "../../policies/rules/sensitiveColumnsJustified.ts";
import { UNKNOWN } from "../../src/policy/standins.ts";
import { resourceViolations, stackViolations } from "./support/run.ts";

const finance: WorkflowFacts = {
  name: "finance-weekly",
  owner: "finance",
  expires: null,
  database: "app",
  group: "dbw_finance_weekly",
  logins: [
    { role: "dbw_finance_weekly__bot", client: "bot" },
    { role: "dbw_finance_weekly__bot_clone", client: "bot" },
  ],
  justifiedColumns: ["billing.invoices.card_last4"],
};
const incident: WorkflowFacts = {
  ...finance,
  name: "incident",
  owner: "platform",
  expires: "2026-03-31",
  group: "dbw_incident",
  logins: [{ role: "dbw_incident__oncall", client: "oncall" }],
  justifiedColumns: [],
};
const config = {
  workflows: [finance, incident],
  platformRoles: ["rds_iam"],
  sensitiveColumns: { app: ["app.users.email", "billing.invoices.card_last4"] },
  /** The incident workflow's last day: still active. */
  asOf: "2026-03-31",
};

const grant = (fields: Record<string, unknown> = {}) => ({
  type: Grant,
  props: {
    role: "dbw_finance_weekly",
    database: "app",
    schema: "billing",
    objectType: "table",
    objects: ["payments"],
    privileges: ["SELECT"],
    withGrantOption: false,
    ...fields,
  },
});

describe("agent-grants-read-only", () => {
  const judge = (resource: Parameters<typeof resourceViolations>[1]) => resourceViolations(agentGrantsReadOnly, resource, config);

  it("passes CONNECT, USAGE and SELECT for agent roles, and anything for other roles", async () => {
    assert.deepEqual(await judge(grant()), []);
    assert.deepEqual(await judge(grant({ objectType: "database", schema: undefined, objects: undefined, privileges: ["CONNECT"] })), []);
    assert.deepEqual(await judge(grant({ objectType: "schema", objects: undefined, privileges: ["USAGE"] })), []);
    assert.deepEqual(await judge(grant({ objectType: "column", columns: ["id"], privileges: ["SELECT"] })), []);
    assert.deepEqual(await judge(grant({ role: "public", privileges: [] })), [], "revoking from PUBLIC");
    assert.deepEqual(await judge(grant({ role: "etl_writer", privileges: ["INSERT", "UPDATE"] })), [], "not an agent role");
    assert.deepEqual(
      await judge({
        type: DefaultPrivileges,
        props: { role: "dbw_finance_weekly", database: "app", schema: "billing", owner: "app_owner", objectType: "table", privileges: ["SELECT"] },
      }),
      [],
    );
  });

  it("reports write, DDL, grant option and non-table objects, one field changed at a time", async () => {
    assert.match(
      (await judge(grant({ privileges: ["SELECT", "INSERT"] })))[0]!,
      /grants INSERT on table billing\.payments to agent role dbw_finance_weekly: it could insert into it; agent roles only read \(SELECT on a table\)/,
    );
    assert.match(
      (await judge(grant({ objectType: "schema", objects: undefined, privileges: ["USAGE", "CREATE"] })))[0]!,
      /CREATE on schema billing .*could create objects in/,
    );
    assert.match((await judge(grant({ objectType: "database", privileges: ["CONNECT", "TEMPORARY"] })))[0]!, /TEMPORARY on database app/);
    assert.match((await judge(grant({ withGrantOption: true })))[0]!, /WITH GRANT OPTION to agent role dbw_finance_weekly/);
    assert.match(
      (await judge(grant({ objectType: "sequence", objects: ["payments_id_seq"], privileges: ["USAGE"] })))[0]!,
      /agent roles hold nothing on a sequence/,
    );
    assert.match((await judge(grant({ objectType: "function", objects: [], privileges: ["EXECUTE"] })))[0]!, /EXECUTE on every function in schema billing/);
    assert.match((await judge(grant({ role: "dbw_finance_weekly__bot", privileges: ["DELETE"] })))[0]!, /to agent role dbw_finance_weekly__bot/, "a login");
    assert.match(
      (await judge(grant({ role: "dbw_handwritten", privileges: ["TRUNCATE"] })))[0]!,
      /agent role dbw_handwritten/,
      "a role under dbwarden's prefix, written by hand",
    );
    assert.match((await judge(grant({ role: "PUBLIC", privileges: ["UPDATE"] })))[0]!, /to PUBLIC \(every agent role inherits it\)/);
    const future = await judge({
      type: DefaultPrivileges,
      props: { role: "dbw_finance_weekly", database: "app", schema: "billing", owner: "app_owner", objectType: "table", privileges: ["SELECT", "INSERT"] },
    });
    assert.match(future[0]!, /default privileges INSERT on future tables in schema billing created by app_owner/);
  });

  it("stops on a value unknown at preview, as the policy runtime does", async () => {
    await assert.rejects(judge(grant({ role: UNKNOWN })), UnknownValueError);
  });
});

describe("agent-role-attributes", () => {
  const role = (fields: Record<string, unknown> = {}) => ({
    type: Role,
    props: {
      name: "dbw_finance_weekly__bot",
      login: true,
      inherit: true,
      superuser: false,
      createDatabase: false,
      createRole: false,
      replication: false,
      bypassRowLevelSecurity: false,
      ...fields,
    },
  });
  const judge = (resource: Parameters<typeof resourceViolations>[1]) => resourceViolations(agentRoleAttributes, resource, config);

  it("passes an agent role with only LOGIN and INHERIT, and one that leaves them to the defaults", async () => {
    assert.deepEqual(await judge(role()), []);
    assert.deepEqual(await judge({ type: Role, props: { name: "dbw_finance_weekly" } }), []);
    assert.deepEqual(await judge(role({ name: "app_admin", superuser: true })), [], "not an agent role");
  });

  it("reports each forbidden attribute with its risk", async () => {
    assert.deepEqual(await judge(role({ superuser: true })), [
      "agent role dbw_finance_weekly__bot sets superuser: true: SUPERUSER bypasses every privilege check",
    ]);
    assert.match((await judge(role({ createDatabase: true })))[0]!, /createDatabase: true: CREATEDB/);
    assert.match((await judge(role({ createRole: true })))[0]!, /createRole: true: CREATEROLE lets it create roles/);
    assert.match((await judge(role({ replication: true })))[0]!, /replication: true: REPLICATION lets it stream every row/);
    assert.match((await judge(role({ bypassRowLevelSecurity: true })))[0]!, /bypassRowLevelSecurity: true: BYPASSRLS/);
    assert.match((await judge(role({ inherit: false })))[0]!, /inherit: false: without INHERIT/);
  });
});

describe("agent-role-memberships", () => {
  const judge = (resource: Parameters<typeof resourceViolations>[1]) => resourceViolations(agentRoleMemberships, resource, config);
  const login = (roles: string[]) => ({ type: Role, props: { name: "dbw_finance_weekly__bot", login: true, roles } });

  it("passes a login in its own group and the platform's IAM role, a clone in its group, a group in nothing", async () => {
    assert.deepEqual(await judge(login(["dbw_finance_weekly", "rds_iam"])), []);
    assert.deepEqual(await judge({ type: Role, props: { name: "dbw_finance_weekly__bot_clone", roles: ["dbw_finance_weekly"] } }), []);
    assert.deepEqual(await judge({ type: Role, props: { name: "dbw_finance_weekly", roles: [] } }), []);
    assert.deepEqual(await judge({ type: GrantRole, props: { role: "dbw_finance_weekly__bot", grantRole: "dbw_finance_weekly" } }), []);
    assert.deepEqual(await judge({ type: GrantRole, props: { role: "analyst", grantRole: "pg_read_all_data" } }), [], "not an agent role");
  });

  it("reports predefined roles, other workflows' roles, foreign roles and admin option", async () => {
    assert.match(
      (await judge(login(["dbw_finance_weekly", "pg_read_server_files"])))[0]!,
      /member of pg_read_server_files: membership lets it read any file the database server can read/,
    );
    assert.match((await judge(login(["dbw_finance_weekly", "dbw_incident"])))[0]!, /dbw_incident is another agent role/);
    assert.match(
      (await judge({ type: Role, props: { name: "dbw_finance_weekly", roles: ["reporting"] } }))[0]!,
      /agent role dbw_finance_weekly is a member of reporting: reporting is not a role dbwarden gives agents; whatever it holds, the agent holds \(allowed: no membership\)/,
    );
    assert.match((await judge({ type: GrantRole, props: { role: "dbw_finance_weekly__bot", grantRole: "rds_superuser" } }))[0]!, /act as the RDS master user/);
    const admin = await judge({ type: GrantRole, props: { role: "dbw_finance_weekly__bot", grantRole: "dbw_finance_weekly", withAdminOption: true } });
    assert.deepEqual(admin, ["agent role dbw_finance_weekly__bot gets dbw_finance_weekly WITH ADMIN OPTION: it could grant that role to any other role"]);
  });
});

describe("no-table-and-column-select", () => {
  const column = grant({ objectType: "column", objects: ["payments"], columns: ["id", "amount"] });

  it("passes a column grant alone, and table grants on other tables", async () => {
    assert.deepEqual(await stackViolations(noTableAndColumnSelect, [column, grant({ objects: ["refunds"] })]), []);
    assert.deepEqual(await stackViolations(noTableAndColumnSelect, [column, grant({ role: "dbw_other" })]), [], "another role");
    assert.deepEqual(await stackViolations(noTableAndColumnSelect, [column, grant({ schema: "app", objects: [] })]), [], "every table of another schema");
  });

  it("reports a table SELECT next to a column SELECT on the same table, or every table of its schema", async () => {
    const named = await stackViolations(noTableAndColumnSelect, [
      { ...grant(), name: "wide" },
      { ...column, name: "narrow" },
    ]);
    assert.equal(named.length, 1);
    assert.match(
      named[0]!.message,
      /role dbw_finance_weekly gets SELECT on table billing\.payments and, from narrow, SELECT on columns of billing\.payments: the table grant exposes every column/,
    );
    assert.equal(named[0]!.urn, "urn:pulumi:test::dbwarden::postgresql:index/grant:Grant::wide");
    const schemaWide = await stackViolations(noTableAndColumnSelect, [grant({ objects: [] }), column]);
    assert.match(schemaWide[0]!.message, /SELECT on every table of schema billing/);
  });
});

describe("sensitive-columns-justified", () => {
  const judge = (resource: ReturnType<typeof grant>) => resourceViolations(sensitiveColumnsJustified, resource, config);

  it("passes columns that are not sensitive, and sensitive ones the role's workflow justifies", async () => {
    assert.deepEqual(await judge(grant({ objectType: "column", objects: ["invoices"], columns: ["id", "amount_cents"] })), []);
    assert.deepEqual(await judge(grant({ objectType: "column", objects: ["invoices"], columns: ["id", "card_last4"] })), []);
    assert.deepEqual(await judge(grant({ objects: ["invoices"] })), [], "the whole table: its one sensitive column is justified");
    assert.deepEqual(await judge(grant({ role: "analyst", schema: "app", objects: ["users"] })), [], "not an agent role");
  });

  it("reports a sensitive column reached by a column grant, a table grant, a schema-wide grant or PUBLIC", async () => {
    const viaColumns = await judge(grant({ role: "dbw_incident__oncall", objectType: "column", objects: ["invoices"], columns: ["card_last4"] }));
    assert.deepEqual(viaColumns, [
      "columns card_last4 of billing.invoices to agent role dbw_incident__oncall makes sensitive " +
        "column billing.invoices.card_last4 of database app readable without a justification",
    ]);
    assert.match((await judge(grant({ schema: "app", objects: ["users"] })))[0]!, /table app\.users .* sensitive column app\.users\.email/);
    assert.match((await judge(grant({ schema: "app", objects: [] })))[0]!, /every table in schema app .* app\.users\.email/);
    assert.match(
      (await judge(grant({ role: "public", objects: ["invoices"] })))[0]!,
      /to PUBLIC \(every agent role\) makes sensitive column billing\.invoices\.card_last4/,
    );
  });

  it("finds the columns a grant reaches as a filter of the sensitive list would, in the list's order (duplicates too)", () => {
    const sensitive = ["b.t2.x", "a.t1.y", "a.t1.x", "a.t2.x", "b.t1.x", "a.t1.y", "c.t1.x", "a.t10.x"];
    const byFilter = (g: { objectType: string; schema?: string; objects?: string[]; columns?: string[] }) => {
      const schema = g.schema ?? "public";
      const objects = g.objects ?? [];
      if (g.objectType === "column") return sensitive.filter((c) => (g.columns ?? []).some((col) => objects.some((t) => c === `${schema}.${t}.${col}`)));
      if (g.objectType !== "table") return [];
      return sensitive.filter((c) => (objects.length === 0 ? c.split(".")[0] === schema : objects.some((t) => c.startsWith(`${schema}.${t}.`))));
    };
    const grants = [
      { objectType: "column", schema: "a", objects: ["t1", "t2"], columns: ["x", "y", "x"] },
      { objectType: "column", schema: "a", objects: ["t1"], columns: ["z"] },
      { objectType: "column", objects: ["t1"], columns: ["x"] },
      { objectType: "table", schema: "a", objects: ["t2", "t1", "t1"] },
      { objectType: "table", schema: "a", objects: ["t1"] },
      { objectType: "table", schema: "a", objects: [] },
      { objectType: "table", schema: "b" },
      { objectType: "table", schema: "d", objects: ["t1"] },
      { objectType: "schema", schema: "a" },
    ];
    for (const g of grants) assert.deepEqual(sensitiveColumnsReached(g, sensitive), byFilter(g), JSON.stringify(g));
    assert.deepEqual(sensitiveColumnsReached({ objectType: "table", schema: "a", objects: [] }, sensitive), [
      "a.t1.y",
      "a.t1.x",
      "a.t2.x",
      "a.t1.y",
      "a.t10.x",
    ]);
  });
});

describe("no-access-for-expired-workflows", () => {
  const judge = (resource: Parameters<typeof resourceViolations>[1]) => resourceViolations(noAccessForExpiredWorkflows, resource, config);

  it("passes roles and grants of active workflows, and resources tagged with them", async () => {
    assert.deepEqual(await judge(grant()), []);
    assert.deepEqual(await judge({ type: Role, props: { name: "dbw_finance_weekly__bot" } }), []);
    assert.deepEqual(
      await judge({ type: "aws:secretsmanager/secret:Secret", props: { tags: { "dbwarden:workflow": "finance-weekly", "dbwarden:expires": "2026-12-31" } } }),
      [],
    );
    assert.deepEqual(await judge(grant({ role: "dbw_incident" })), [], "on its last day");
  });

  it("reports what still serves a workflow after its expiry day", async () => {
    const after = { ...config, asOf: "2026-04-01" };
    const judgeAfter = (resource: Parameters<typeof resourceViolations>[1]) => resourceViolations(noAccessForExpiredWorkflows, resource, after);
    assert.deepEqual(await judgeAfter(grant({ role: "dbw_incident" })), ["Grant for role dbw_incident of workflow incident, which expired on 2026-03-31"]);
    assert.match(
      (await judgeAfter({ type: Role, props: { name: "dbw_incident__oncall", login: true } }))[0]!,
      /Role for role dbw_incident__oncall of workflow incident/,
    );
    assert.match(
      (await judgeAfter({ type: GrantRole, props: { role: "dbw_incident__oncall", grantRole: "dbw_incident" } }))[0]!,
      /GrantRole for role dbw_incident__oncall/,
    );
    assert.match(
      (await judgeAfter({ type: "aws:secretsmanager/secret:Secret", props: { tags: { "dbwarden:workflow": "incident" } } }))[0]!,
      /tagged dbwarden:workflow: incident, which expired on 2026-03-31/,
    );
    assert.match(
      (await judge({ type: "aws:secretsmanager/secret:Secret", props: { tags: { "dbwarden:expires": "2026-03-30" } } }))[0]!,
      /tagged dbwarden:expires: 2026-03-30, a day that has passed/,
      "the tag alone, with no facts",
    );
    const plan = JSON.stringify({ workflows: [{ name: "incident", expires: "2026-03-31" }] });
    const task = {
      type: "aws:ecs/taskDefinition:TaskDefinition",
      props: { containerDefinitions: JSON.stringify([{ name: "mcp-server", environment: [{ name: "DBWARDEN_PLAN", value: plan }] }]) },
    };
    assert.deepEqual(await judgeAfter(task), ["the MCP server's plan (DBWARDEN_PLAN) still serves workflow incident, expired on 2026-03-31"]);
  });
});
