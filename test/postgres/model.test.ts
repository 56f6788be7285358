/**
 * The Postgres desired-state model's rules, as plain data: no database, no mocks. The column
 * source here is a plain record, as the committed snapshot and the live catalog both become.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TARGET_PLATFORMS, type AccessPlan, type TablePlan } from "@dbwarden/contract";
import {
  closestName,
  loginConnectionLimit,
  loginSettings,
  PGAUDIT_SETTINGS,
  postgresModel,
  roleMarker,
  type ColumnSource,
  type PostgresModel,
} from "../../src/postgres/model.ts";
import { AGENT_ROLE_ATTRIBUTES } from "../../src/postgres/rules.ts";
import { exampleCatalog, examplePlan } from "../components/support/plans.ts";
import { entryColumns } from "../../src/postgres/snapshot.ts";

/** The demo tables' columns (the committed snapshot), as a database would report them. */
const DEMO: Record<string, readonly string[]> = Object.fromEntries(Object.entries(exampleCatalog("prod")).map(([k, v]) => [k, entryColumns(v)]));

function database(name: string, tables: Readonly<Record<string, readonly string[]>> = DEMO): ColumnSource {
  const schemas = new Set(Object.keys(tables).map((k) => k.split(".")[0]));
  return { name: `database ${name}`, columnsOf: (s, t) => tables[`${s}.${t}`], hasSchema: (s) => schemas.has(s) };
}

const local = (): AccessPlan => examplePlan("local");
const modelOf = (plan: AccessPlan, tables?: Record<string, readonly string[]>): PostgresModel =>
  postgresModel(plan, "app", database(plan.targets[0]!.database, tables));
const table = (schema: string, name: string, rule: TablePlan["rule"], columns: TablePlan["columns"] = []): TablePlan => ({
  schema,
  table: name,
  description: null,
  rule,
  columns,
  rowFilter: null,
});
const cs = (plan: AccessPlan) => plan.workflows.find((w) => w.name === "cs-usage-drop")!;

describe("postgresModel: roles", () => {
  it("a NOLOGIN group per workflow and a LOGIN per client, with the agent attributes, limits and settings", () => {
    const plan = local();
    const model = modelOf(plan);
    assert.equal(model.appliedBy, "reconciler");
    assert.deepEqual(model.platformRoles, []);
    for (const w of plan.workflows) {
      const mine = model.roles.filter((r) => r.workflow === w.name);
      assert.deepEqual(
        mine.map((r) => [r.name, r.kind]),
        [[w.roles.group, "group"], ...w.roles.logins.map((l) => [l.role, "login"])],
      );
      const [group, ...logins] = mine;
      assert.deepEqual(
        { login: group!.login, attributes: group!.attributes, connectionLimit: group!.connectionLimit, memberOf: group!.memberOf, settings: group!.settings },
        { login: false, attributes: AGENT_ROLE_ATTRIBUTES, connectionLimit: -1, memberOf: [], settings: {} },
      );
      assert.equal(group!.marker, roleMarker("local", "app", w.name, "group"));
      for (const l of logins) {
        assert.equal(l.login, true);
        assert.deepEqual(l.attributes, AGENT_ROLE_ATTRIBUTES);
        assert.deepEqual(l.memberOf, [w.roles.group]);
        assert.equal(l.connectionLimit, loginConnectionLimit(plan, w));
        assert.deepEqual(l.settings, loginSettings(plan, w));
        assert.equal(l.loginOf, l.name);
        assert.equal(l.marker, roleMarker("local", "app", w.name, "login"));
        assert.deepEqual(l.advisory, { marker: false, settings: [] });
      }
    }
    // The local target logs statements with log_statement, as a role setting.
    assert.equal(model.roles.find((r) => r.kind === "login")!.settings.log_statement, "all");
  });

  it("IAM logins join the platform's IAM roles: rds_iam on aws-rds, none on Cloud SQL", () => {
    const dev = examplePlan("dev");
    const model = modelOf(dev);
    assert.deepEqual(model.platformRoles, ["rds_iam"]);
    for (const r of model.roles) assert.deepEqual(r.memberOf, r.kind === "group" ? [] : [r.group, "rds_iam"]);
    assert.equal(
      model.roles.some((r) => r.kind === "rotation-clone"),
      false,
      "nothing to rotate with IAM",
    );
    const cloudSql = structuredClone(dev);
    cloudSql.targets[0]!.platform = "gcp-cloudsql";
    assert.deepEqual(TARGET_PLATFORMS["gcp-cloudsql"].iamLoginRoles, []);
    assert.deepEqual(modelOf(cloudSql).platformRoles, []);
  });

  it("alternating-user rotation gives each login a _clone, member of the group only (aws-rds, passwords)", () => {
    const prod = examplePlan("prod");
    const model = modelOf(prod);
    const w = prod.workflows[0]!;
    const login = w.roles.logins[0]!.role;
    const [asLogin, asClone] = model.roles.filter((r) => r.loginOf === login);
    assert.deepEqual([asLogin!.name, asLogin!.kind, asClone!.name, asClone!.kind], [login, "login", `${login}_clone`, "rotation-clone"]);
    assert.deepEqual(asClone!.memberOf, [w.roles.group]);
    assert.deepEqual(asClone!.settings, asLogin!.settings);
    assert.equal(asClone!.connectionLimit, asLogin!.connectionLimit);
    assert.equal(asClone!.marker, roleMarker("prod", "app", w.name, "rotation-clone"));
    // Plain PostgreSQL rotates in place: no clones.
    assert.equal(
      modelOf(local()).roles.some((r) => r.kind === "rotation-clone"),
      false,
    );
  });

  it("where Pulumi applies the target, the marker and settings postgresql.Role cannot hold are advisory", () => {
    const dev = modelOf(examplePlan("dev"));
    assert.equal(dev.appliedBy, "pulumi");
    for (const r of dev.roles) assert.deepEqual(r.advisory, { marker: true, settings: r.login ? ["log_statement"] : [] });
    const prod = modelOf(examplePlan("prod"));
    for (const r of prod.roles) {
      assert.deepEqual(r.advisory, { marker: true, settings: r.login ? Object.keys(PGAUDIT_SETTINGS) : [] }, "pgaudit: its settings, no log_statement");
      if (r.login) for (const [name, value] of Object.entries(PGAUDIT_SETTINGS)) assert.equal(r.settings[name], value, `${r.name} ${name}`);
    }
  });

  it("role names PostgreSQL would truncate, or planned twice, are problems", () => {
    const plan = local();
    plan.workflows[0]!.roles.logins[0]!.role = "y".repeat(64);
    plan.workflows[1]!.roles.group = plan.workflows[0]!.roles.group;
    assert.deepEqual(
      modelOf(plan).problems.map((p) => p.message),
      [
        `workflows.${plan.workflows[0]!.name}.roles.logins: "${"y".repeat(64)}" is longer ` +
          `than 63 bytes; Postgres would truncate it. Shorten the workflow or client name.`,
        `workflows.${plan.workflows[1]!.name}.roles.group: role "${plan.workflows[0]!.roles.group}" is planned twice`,
      ],
    );
  });
});

describe("postgresModel: grants", () => {
  it("CONNECT, USAGE per schema, and one SELECT per table: column lists resolved against the source", () => {
    const model = modelOf(local());
    const group = model.groups.find((g) => g.workflow === "cs-usage-drop")!;
    assert.deepEqual(group, {
      role: "dbw_cs_usage_drop",
      workflow: "cs-usage-drop",
      database: ["CONNECT"],
      schemas: ["analytics", "app", "support"],
      tables: [
        // except [ip_address]: every other column of the source, sorted.
        { schema: "analytics", table: "usage_events", columns: ["account_id", "event_type", "id", "occurred_at", "quantity", "user_id"] },
        { schema: "app", table: "accounts", columns: ["churned_at", "created_at", "id", "name", "plan", "region"] },
        { schema: "support", table: "tickets", columns: ["account_id", "body", "closed_at", "id", "opened_at", "priority", "status", "subject"] },
      ],
      governed: null,
    });
    assert.deepEqual(model.problems, []);
  });
});

describe("postgresModel: masks, row filters and reporting views", () => {
  it("a masked or filtered table is read only through its view: no grant on it, USAGE on the governed schema and SELECT on each view", () => {
    const model = modelOf(local());
    assert.deepEqual(
      model.groups.find((g) => g.workflow === "account-assistant"),
      {
        role: "dbw_account_assistant",
        workflow: "account-assistant",
        database: ["CONNECT"],
        schemas: [],
        tables: [],
        governed: { schema: "dbw_account_assistant", views: ["plan_weekly_usage", "tickets", "usage_events"] },
      },
    );
    const tickets = model.governed.workflows[0]!.views.find((v) => v.name === "tickets")!;
    assert.equal(
      tickets.query,
      'SELECT "id", "account_id", split_part("requester_email"::text, \'@\', 2) AS ' +
        '"requester_email", "subject", "priority", "status", "opened_at", "closed_at"\n' +
        'FROM "support"."tickets"\n' +
        'WHERE (\naccount_id = (SELECT (a.attributes ->> \'account_id\')::bigint FROM "dbwarden"."client_attributes" a WHERE a.login = current_user::text)\n)',
    );
    assert.deepEqual(
      model.governed.attributes.map((a) => [a.login, a.attributes]),
      [
        ["dbw_account_assistant__initech_assistant", { account_id: 2 }],
        ["dbw_account_assistant__umbrella_assistant", { account_id: 3 }],
      ],
    );
    assert.deepEqual(model.governed.keys, ["account-assistant"]);
    const login = model.roles.find((r) => r.name === "dbw_account_assistant__initech_assistant")!;
    assert.equal(login.settings.search_path, '"dbw_account_assistant"');
  });

  it("a governed view's columns, filter and reads are checked against the source, with the type where it knows one", () => {
    const plan = local();
    const assistant = plan.workflows.find((w) => w.name === "account-assistant")!;
    assistant.tables.find((t) => t.table === "tickets")!.columns.find((c) => c.name === "requester_email")!.mask = { kind: "year" };
    assistant.tables.find((t) => t.table === "usage_events")!.rowFilter = {
      predicate: "acount_id = client.account_id",
      columns: ["acount_id"],
      attributes: ["account_id"],
    };
    assistant.reportingViews[0]!.sql = assistant.reportingViews[0]!.sql.replace("a.plan,", "a.tier AS plan,");
    const typed: ColumnSource = { ...database("dbwarden_demo"), typeOf: (_s, _t, column) => (column === "requester_email" ? "text" : undefined) };
    assert.deepEqual(
      postgresModel(plan, "app", typed).problems.map((p) => p.message),
      [
        "workflow account-assistant: the row filter of analytics.usage_events reads " +
          "analytics.usage_events.acount_id, which does not exist in database dbwarden_demo",
        "workflow account-assistant masks support.tickets.requester_email (database " +
          "dbwarden_demo): mask year applies to date and timestamp columns; this one is text",
        "workflow account-assistant: reporting view plan_weekly_usage reads app.accounts.tier, which does not exist in database dbwarden_demo",
      ],
    );
  });
});

describe("postgresModel: grants (continued)", () => {
  it("access: all is a table-level SELECT; a column added later is readable under all-except only after the next model", () => {
    const plan = local();
    cs(plan).tables = [table("app", "users", { access: "all" }), table("analytics", "usage_events", { access: "all-except", except: ["ip_address"] })];
    const wider = { ...DEMO, "analytics.usage_events": [...DEMO["analytics.usage_events"]!, "added_later"] };
    const tables = modelOf(plan, wider).groups.find((g) => g.workflow === "cs-usage-drop")!.tables;
    assert.deepEqual(tables, [
      { schema: "analytics", table: "usage_events", columns: ["account_id", "added_later", "event_type", "id", "occurred_at", "quantity", "user_id"] },
      { schema: "app", table: "users", columns: null },
    ]);
  });

  it("the quantty bug: an exclusion naming a column the table lacks is an error, with the closest name", () => {
    const plan = local();
    // Meant to hide quantity; validates (the spec cannot know the columns), so the model must catch it.
    cs(plan).tables[0] = table("analytics", "usage_events", { access: "all-except", except: ["ip_address", "quantty"] }, cs(plan).tables[0]!.columns);
    const model = modelOf(plan);
    assert.deepEqual(model.problems, [
      {
        workflow: "cs-usage-drop",
        table: "analytics.usage_events",
        column: "quantty",
        message: 'workflow cs-usage-drop excludes analytics.usage_events.quantty, which does not exist in database dbwarden_demo (did you mean "quantity"?)',
      },
    ]);
  });

  it("every way the plan names a missing column is a problem: read, described, marked sensitive", () => {
    const plan = local();
    plan.targets[0]!.sensitiveColumns.push("app.accounts.tax_id");
    cs(plan).tables = [
      table("app", "accounts", { access: "only", columns: ["id", "nmae"] }, [
        { name: "tax_id", description: null, classification: "sensitive", justification: null, mask: null },
        { name: "zzz_unrelated", description: "a column nobody has", classification: "standard", justification: null, mask: null },
      ]),
    ];
    assert.deepEqual(
      modelOf(plan).problems.map((p) => [p.column, p.message]),
      [
        ["nmae", 'workflow cs-usage-drop reads app.accounts.nmae, which does not exist in database dbwarden_demo (did you mean "name"?)'],
        ["tax_id", "target app marks app.accounts.tax_id sensitive (sensitiveColumns), which does not exist in database dbwarden_demo"],
        ["zzz_unrelated", "workflow cs-usage-drop describes app.accounts.zzz_unrelated, which does not exist in database dbwarden_demo"],
      ],
    );
  });

  it("a schema or table the source lacks is a problem, and a snapshot says how to add it", () => {
    const plan = local();
    cs(plan).tables.push(table("nowhere", "t", { access: "all" }), table("app", "nope", { access: "all" }));
    assert.deepEqual(
      modelOf(plan).problems.map((p) => p.message),
      [
        "workflow cs-usage-drop reads schema nowhere, which does not exist in database dbwarden_demo",
        "workflow cs-usage-drop reads table nowhere.t, which does not exist in database dbwarden_demo",
        "workflow cs-usage-drop reads table app.nope, which does not exist in database dbwarden_demo",
      ],
    );
    const snapshot: ColumnSource = {
      name: "stacks/catalog/local.json",
      columnsOf: (s, t) => DEMO[`${s}.${t}`],
      addTableHint: (s, t) => `Add "${s}.${t}": [its columns]`,
    };
    assert.deepEqual(
      postgresModel(plan, "app", snapshot).problems.map((p) => p.message),
      [
        'workflow cs-usage-drop reads table nowhere.t, which does not exist in stacks/catalog/local.json. Add "nowhere.t": [its columns]',
        'workflow cs-usage-drop reads table app.nope, which does not exist in stacks/catalog/local.json. Add "app.nope": [its columns]',
      ],
    );
  });

  it("a table planned with both a table and a column SELECT, or excluding every column, is a problem", () => {
    const plan = local();
    cs(plan).tables.push(table("app", "accounts", { access: "all" }));
    cs(plan).tables.push(table("billing", "invoices", { access: "all-except", except: DEMO["billing.invoices"]! as string[] }));
    assert.deepEqual(
      modelOf(plan).problems.map((p) => p.message),
      [
        "workflow cs-usage-drop: app.accounts has both a table and a column SELECT; the table grant would expose every column",
        "workflow cs-usage-drop excludes every column of billing.invoices (database dbwarden_demo); remove the table from its scope instead",
      ],
    );
  });
});

describe("postgresModel: PUBLIC and the model as data", () => {
  it("PUBLIC keeps nothing on the database, the planned schemas and tables; at most USAGE elsewhere", () => {
    assert.deepEqual(modelOf(local()).public, {
      mode: "revoke",
      reason: local().targets[0]!.publicPrivileges.revoke,
      database: [],
      plannedSchemas: ["analytics", "app", "billing", "support"],
      otherSchemas: ["USAGE"],
      plannedTables: [
        { schema: "analytics", table: "usage_events" },
        { schema: "app", table: "accounts" },
        { schema: "app", table: "users" },
        { schema: "billing", table: "invoices" },
        { schema: "support", table: "tickets" },
      ],
    });
  });

  it("PUBLIC is left alone unless the spec says why it may be changed (the local demo database does; prod, a shared primary, does not)", () => {
    assert.match(local().targets[0]!.publicPrivileges.revoke ?? "", /dbwarden's own demo database/);
    const prod = examplePlan("prod");
    assert.equal(prod.targets[0]!.publicPrivileges.revoke, null);
    const model = postgresModel(prod, "app", database("app"));
    assert.equal(model.public.mode, "leave");
    assert.equal(model.public.reason, null);
    // The schemas and tables are still named: drift judges what PUBLIC gives the agents there.
    assert.deepEqual(model.public.plannedSchemas, ["analytics", "app", "billing", "support"]);
  });

  it("is plain data: it survives a JSON round trip unchanged", () => {
    const model = modelOf(examplePlan("prod"));
    assert.deepEqual(JSON.parse(JSON.stringify(model)), model);
  });

  it("refuses a target that is not PostgreSQL, and one the plan lacks", () => {
    const plan = local();
    plan.targets[0]!.platform = "snowflake";
    assert.throws(() => modelOf(plan), /target "app" is on Snowflake, not PostgreSQL/);
    assert.throws(() => postgresModel(local(), "nope", database("x")), /stack local has no target "nope" \(targets: app\)/);
  });

  it("closestName: the likely intended name, within a third of its length, else none", () => {
    assert.equal(closestName("quantty", ["id", "quantity", "quality"]), "quantity");
    assert.equal(closestName("Quantity", ["quantity"]), "quantity");
    assert.equal(closestName("zzz", ["quantity"]), null);
  });
});
