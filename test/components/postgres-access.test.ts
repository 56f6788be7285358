/** Pure plan -> roles/grants rendering of the Postgres component (no Pulumi). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseCatalog } from "../../components/postgres/catalog.ts";
import { checkHost, postgresAccessModel } from "../../components/postgres/access.ts";
import type { AccessPlan } from "../../src/plan/types.ts";
import { replicaParameters } from "../../components/aws-rds/replica.ts";
import { loginConnectionLimit, loginSettings, PGAUDIT_SETTINGS, rotationCloneName } from "../../src/postgres/model.ts";
import { exampleCatalog, examplePlan } from "./support/plans.ts";

describe("postgresAccessModel", () => {
  const plan = examplePlan("prod");
  const catalog = exampleCatalog("prod");
  const model = postgresAccessModel(plan, "app", catalog);

  it("creates one NOLOGIN group per workflow and logins that inherit only it", () => {
    for (const workflow of plan.workflows) {
      const group = model.roles.find((r) => r.name === workflow.roles.group)!;
      assert.equal(group.kind, "group");
      assert.equal(group.login, false);
      assert.deepEqual(group.memberOf, []);
      for (const login of workflow.roles.logins) {
        const role = model.roles.find((r) => r.name === login.role)!;
        assert.equal(role.login, true);
        assert.deepEqual(role.memberOf, [workflow.roles.group]);
        assert.equal(role.connectionLimit, loginConnectionLimit(plan, workflow));
        assert.equal(role.statementTimeoutMs, Number(loginSettings(plan, workflow).statement_timeout));
        assert.equal(role.idleInTransactionSessionTimeoutMs, Number(loginSettings(plan, workflow).idle_in_transaction_session_timeout));
      }
    }
    // prod is aws-rds with rotated passwords: each login has its alternate `_clone` login.
    assert.equal(
      model.roles.length,
      plan.workflows.reduce((n, w) => n + 1 + 2 * w.roles.logins.length, 0),
    );
    // pgaudit's per-login settings (the model's) have no field on postgresql.Role: reported, unless
    // the server applies the same values to every session, as the replica's parameter group does.
    assert.deepEqual(
      [...new Set(model.unsupportedSettings.map((s) => `${s.name}=${s.value}`))],
      Object.entries(PGAUDIT_SETTINGS).map(([name, value]) => `${name}=${value}`),
    );
    const replica = replicaParameters(plan.targets[0]!.logging, plan.workflows, "targets.app");
    const served = postgresAccessModel(plan, "app", catalog, { serverSettings: Object.fromEntries(replica.map((p) => [p.name, p.value])) });
    assert.deepEqual(served.unsupportedSettings, [], "the replica's parameter group sets every one of them, with the same value");
  });

  it("renders exactly the planned privileges, never an all-tables grant", () => {
    const cs = model.grants.filter((g) => g.workflow === "cs-usage-drop");
    assert.deepEqual(
      cs.map((g) => [g.objectType, g.schema, g.objects, g.columns, g.privileges]),
      [
        ["database", null, [], null, ["CONNECT"]],
        ["schema", "analytics", [], null, ["USAGE"]],
        ["schema", "app", [], null, ["USAGE"]],
        ["schema", "support", [], null, ["USAGE"]],
        // allColumnsExcept [ip_address], resolved against the catalog snapshot
        ["column", "analytics", ["usage_events"], ["account_id", "event_type", "id", "occurred_at", "quantity", "user_id"], ["SELECT"]],
        ["column", "app", ["accounts"], ["churned_at", "created_at", "id", "name", "plan", "region"], ["SELECT"]],
        ["column", "support", ["tickets"], ["account_id", "body", "closed_at", "id", "opened_at", "priority", "status", "subject"], ["SELECT"]],
      ],
    );
    for (const grant of model.grants) {
      if (grant.objectType === "table" || grant.objectType === "column") assert.ok(grant.objects.length > 0, grant.resourceName);
      if (grant.objectType === "column") assert.equal(grant.objects.length, 1);
    }
    const names = model.grants.map((g) => g.resourceName);
    assert.equal(new Set(names).size, names.length, "resource names are unique");
  });

  it("merges table-level SELECTs of one schema into one grant", () => {
    const wide = structuredClone(plan);
    const workflow = wide.workflows[0]!;
    workflow.tables = [
      { schema: "app", table: "users", description: null, rule: { access: "all" }, columns: [] },
      { schema: "app", table: "accounts", description: null, rule: { access: "all" }, columns: [] },
    ];
    const grants = postgresAccessModel(wide, "app", catalog).grants.filter((g) => g.workflow === workflow.name);
    assert.deepEqual(grants.at(-1), {
      resourceName: `${workflow.roles.group}-select-app`,
      workflow: workflow.name,
      role: workflow.roles.group,
      database: "app",
      objectType: "table",
      schema: "app",
      objects: ["accounts", "users"],
      columns: null,
      privileges: ["SELECT"],
    });
    assert.equal(grants.length, 3);
  });

  it("refuses a table and a column SELECT on the same table", () => {
    const bad = structuredClone(plan);
    bad.workflows[0]!.tables.push({ schema: "app", table: "accounts", description: null, rule: { access: "all" }, columns: [] });
    assert.throws(() => postgresAccessModel(bad, "app", catalog), /app\.accounts has both a table and a column SELECT/);
  });

  it("derives rotation clones and IAM memberships from the target's platform and credentials", () => {
    // prod: aws-rds, password credentials -> alternating-user rotation: a clone per login, member of the group only.
    const login = plan.workflows[0]!.roles.logins[0]!.role;
    const clone = model.roles.find((r) => r.name === rotationCloneName(login))!;
    assert.equal(clone.kind, "rotation-clone");
    assert.equal(clone.loginOf, login);
    assert.deepEqual(clone.memberOf, [plan.workflows[0]!.roles.group]);
    // The same plan with IAM credentials: logins join rds_iam, and there is nothing to rotate.
    const iam = structuredClone(plan);
    iam.targets[0]!.credentials = { mode: "iam", rotationDays: null };
    const iamModel = postgresAccessModel(iam, "app", catalog);
    assert.equal(
      iamModel.roles.some((r) => r.kind === "rotation-clone"),
      false,
    );
    assert.deepEqual(iamModel.roles.find((r) => r.name === login)!.memberOf, [plan.workflows[0]!.roles.group, "rds_iam"]);
    assert.deepEqual(iamModel.roles.find((r) => r.name === plan.workflows[0]!.roles.group)!.memberOf, []);
  });

  it("reports role settings the provider cannot set", () => {
    const dev = examplePlan("dev");
    const devModel = postgresAccessModel(dev, "app", exampleCatalog("dev"));
    assert.ok(devModel.unsupportedSettings.length > 0);
    assert.ok(devModel.unsupportedSettings.every((s) => s.name === "log_statement" && s.value === "all"));
  });

  it("throws early, naming the table and the fix, when the catalog lacks a needed table", () => {
    const { ["analytics.usage_events"]: _dropped, ...rest } = catalog;
    assert.throws(
      () => postgresAccessModel(plan, "app", rest, { catalogSource: "stacks/catalog/prod.json" }),
      (error: Error) =>
        /analytics\.usage_events/.test(error.message) &&
        /stacks\/catalog\/prod\.json/.test(error.message) &&
        /Add "analytics\.usage_events": \[its columns\]/.test(error.message),
    );
  });

  it("throws on a rule naming a column the snapshot's table lacks (quantty), naming workflow, table, column and file", () => {
    const typo = structuredClone(plan);
    const events = typo.workflows.find((w) => w.name === "cs-usage-drop")!.tables.find((t) => t.table === "usage_events")!;
    events.rule = { access: "all-except", except: ["ip_address", "quantty"] };
    assert.throws(
      () => postgresAccessModel(typo, "app", catalog, { catalogSource: "stacks/catalog/prod.json" }),
      (error: Error) =>
        error.message ===
        'the access plan of target "app" does not fit stacks/catalog/prod.json:\n' +
          '  - workflow cs-usage-drop excludes analytics.usage_events.quantty, which does not exist in stacks/catalog/prod.json (did you mean "quantity"?)',
    );
  });

  it("throws on an unknown target and on over-long role names", () => {
    assert.throws(() => postgresAccessModel(plan, "nope", catalog), /target: stack prod has no target "nope" \(targets: app\)/);
    const long: AccessPlan = structuredClone(plan);
    long.workflows[0]!.roles.logins[0]!.role = "x".repeat(60);
    // "x" * 60 fits; its rotation clone ("_clone" added) does not.
    assert.throws(() => postgresAccessModel(long, "app", catalog), /"x{60}_clone" is longer than 63 bytes/);
  });
});

describe("catalog", () => {
  it("checks the snapshot's shape", () => {
    assert.throws(() => parseCatalog([], "c.json"), /c\.json: expected an object/);
    assert.throws(() => parseCatalog({ users: ["id"] }, "c.json"), /"users" must be "schema\.table"/);
    assert.throws(() => parseCatalog({ "app.users": [] }, "c.json"), /non-empty list/);
    assert.deepEqual(parseCatalog({ "app.users": ["id"] }, "c.json"), { "app.users": ["id"] });
  });

  it("refuses to exclude every column", () => {
    const onlyTable = (columns: string[]) => {
      const one = examplePlan("prod");
      one.workflows = [
        { ...one.workflows[0]!, tables: [{ schema: "s", table: "t", description: null, rule: { access: "all-except", except: ["a", "b"] }, columns: [] }] },
      ];
      return postgresAccessModel(one, "app", { "s.t": columns }, { catalogSource: "c.json" });
    };
    assert.throws(() => onlyTable(["a", "b"]), /excludes every column of s\.t/);
    assert.deepEqual(onlyTable(["c", "a", "b"]).grants.find((g) => g.objectType === "column")!.columns, ["c"]);
  });
});

describe("checkHost", () => {
  it("accepts an address and refuses an endpoint with a port", () => {
    assert.equal(checkHost("db.example.com", "host"), "db.example.com");
    assert.throws(() => checkHost("db.example.com:5432", "connection.host"), /connection\.host: .* without port .*\.address, not \.endpoint/);
  });
});
