/**
 * The Postgres component's masks, row filters and reporting views: under mocks, the governed
 * views resource (a dynamic resource) with its inputs and options, the logins' search_path, and
 * no grant on a table behind a view; then its provider run for real against PostgreSQL (what
 * `pulumi up` does): create, drift is clean, update after a plan change, delete.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { installMocks, isSecretValue, type Mocks } from "../../src/testing/index.ts";
import { examplePlan } from "./support/plans.ts";
import type { CatalogSnapshot } from "../../components/postgres/catalog.ts";

const mocks: Mocks = await installMocks();
const { PostgresReadOnlyAccess } = await import("../../components/postgres/index.ts");
const { governedViewsProvider, GOVERNED_VIEWS_KIND } = await import("../../components/postgres/governedViews.ts");
const { postgresAccessModel } = await import("../../components/postgres/access.ts");
const { detectDrift } = await import("../../src/postgres/drift.ts");
const { loadDemoData } = await import("../../src/local/demo.ts");
const { startTestPostgres } = await import("../support/postgres.ts");

const plan = examplePlan("local");
const WORKFLOW = "account-assistant";
const SCHEMA = "dbw_account_assistant";
/** The demo tables with their types, as `dbwarden catalog` writes them. */
const CATALOG: CatalogSnapshot = {
  "analytics.usage_events": {
    id: "bigint",
    account_id: "bigint",
    user_id: "bigint",
    event_type: "text",
    occurred_at: "timestamp with time zone",
    quantity: "integer",
    ip_address: "inet",
  },
  "app.accounts": {
    id: "bigint",
    name: "text",
    plan: "text",
    region: "text",
    billing_email: "text",
    created_at: "timestamp with time zone",
    churned_at: "timestamp with time zone",
  },
  "app.users": {
    id: "bigint",
    account_id: "bigint",
    email: "text",
    full_name: "text",
    password_hash: "text",
    role: "text",
    created_at: "timestamp with time zone",
    last_login_at: "timestamp with time zone",
  },
  "billing.invoices": {
    id: "bigint",
    account_id: "bigint",
    amount_cents: "bigint",
    currency: "text",
    status: "text",
    issued_at: "timestamp with time zone",
    paid_at: "timestamp with time zone",
    card_last4: "text",
  },
  "support.tickets": {
    id: "bigint",
    account_id: "bigint",
    user_id: "bigint",
    requester_email: "text",
    subject: "text",
    body: "text",
    priority: "text",
    status: "text",
    opened_at: "timestamp with time zone",
    closed_at: "timestamp with time zone",
  },
};

describe("PostgresReadOnlyAccess with governed views, under mocks", { timeout: 60_000 }, () => {
  before(async () => {
    new PostgresReadOnlyAccess("app", {
      plan,
      target: "app",
      catalog: CATALOG,
      connection: { host: "db.internal", username: "admin", password: "admin-password", superuser: false },
    });
    await mocks.settle();
  });

  it("one governed views resource, after every role and at the end of the grant chain, its connection secret", () => {
    const [governed, ...more] = mocks.byType("pulumi-nodejs:dynamic:Resource");
    assert.ok(governed && more.length === 0);
    assert.equal(governed.name, "app-governed-views");
    assert.equal(governed.inputs.kind, GOVERNED_VIEWS_KIND);
    assert.ok(isSecretValue(governed.inputs.connection), "the connection (with the admin password) is secret");
    assert.equal(typeof governed.inputs.__provider, "string", "the provider is serialized into the state");
    const roles = mocks.byType("postgresql:index/role:Role").map((r) => r.urn);
    for (const role of roles) assert.ok(governed.dependsOn.includes(role), "waits for every role");
    const grants = mocks.byType("postgresql:index/grant:Grant");
    assert.ok(governed.dependsOn.includes(grants.filter((g) => g.inputs.role !== "public").at(-1)!.urn), "after the groups' grants");
    assert.ok(grants.filter((g) => g.inputs.role === "public")[0]!.dependsOn.includes(governed.urn), "in the one grant chain: PUBLIC's revokes wait for it");
    assert.equal(governed.provider, "", "no postgresql provider: its own");
  });

  it("its inputs: each view with its masks, filter and reads, each login's attributes, and the model's statements", () => {
    const governed = mocks.byType("pulumi-nodejs:dynamic:Resource")[0]!;
    const views = governed.inputs.views as Array<{ name: string; columns: Array<{ name: string; mask: string | null }>; rowFilter: unknown; reads: unknown }>;
    assert.deepEqual(
      views.map((v) => v.name),
      ["plan_weekly_usage", "tickets", "usage_events"],
    );
    const tickets = views.find((v) => v.name === "tickets")!;
    assert.deepEqual(
      tickets.columns.filter((c) => c.mask),
      [{ name: "requester_email", mask: "email-domain" }],
    );
    assert.deepEqual(tickets.rowFilter, { predicate: "account_id = client.account_id", attributes: ["account_id"] });
    assert.deepEqual(views.find((v) => v.name === "plan_weekly_usage")!.reads, [
      { schema: "analytics", table: "usage_events", columns: ["account_id", "occurred_at"] },
      { schema: "app", table: "accounts", columns: ["id", "plan"] },
    ]);
    assert.deepEqual(governed.inputs.attributes, [
      { login: "dbw_account_assistant__initech_assistant", workflow: WORKFLOW, attributes: { account_id: 2 } },
      { login: "dbw_account_assistant__umbrella_assistant", workflow: WORKFLOW, attributes: { account_id: 3 } },
    ]);
    assert.deepEqual(governed.inputs.statements, postgresAccessModel(plan, "app", CATALOG).governed!.statements);
    assert.ok((governed.inputs.statements as string[]).some((s) => s.startsWith(`CREATE VIEW "${SCHEMA}"."tickets" WITH (security_barrier = true)`)));
  });

  it("no grant of the tables behind the views; the governed workflow's logins get the governed schema first on their search_path", () => {
    const grants = mocks.byType("postgresql:index/grant:Grant").filter((g) => g.inputs.role === `dbw_account_assistant`);
    assert.deepEqual(
      grants.map((g) => [g.inputs.objectType, g.inputs.schema ?? null, g.inputs.objects ?? null]),
      [["database", null, null]],
      "CONNECT only: USAGE and SELECT on the views come with the views",
    );
    const login = mocks.one("postgresql:index/role:Role", "dbw_account_assistant__initech_assistant");
    assert.deepEqual(login.inputs.searchPaths, [SCHEMA]);
    assert.equal(mocks.one("postgresql:index/role:Role", "dbw_cs_usage_drop__claude_cs").inputs.searchPaths, undefined);
  });

  it("an admin connecting with an IAM token cannot apply governed views: refused at once, naming the field", () => {
    assert.throws(
      () =>
        new PostgresReadOnlyAccess("iam", {
          plan,
          target: "app",
          catalog: CATALOG,
          connection: { host: "db.internal", username: "admin", superuser: false, awsRdsIamAuth: { region: "us-east-1" } },
        }),
      /iam: masks, row filters and reporting views are applied over a password connection; give connection\.password/,
    );
  });
});

describe("the governed views provider, run for real", { timeout: 120_000 }, () => {
  let db: Awaited<ReturnType<typeof startTestPostgres>>;
  before(async () => {
    db = await startTestPostgres();
    await db.createDatabase("dbwarden_demo");
    const admin = await db.admin("dbwarden_demo");
    await loadDemoData(admin);
    // The roles, as the component's Role resources create them (and the grants the model gives).
    for (const w of plan.workflows) {
      await admin.query(`CREATE ROLE "${w.roles.group}" NOLOGIN`);
      for (const l of w.roles.logins) await admin.query(`CREATE ROLE "${l.role}" LOGIN PASSWORD 'x' IN ROLE "${w.roles.group}"`);
    }
  });
  after(() => db?.stop());

  const inputsOf = (p: typeof plan) => {
    const governed = postgresAccessModel(p, "app", CATALOG).governed!;
    return {
      ...governed,
      connection: { host: db.host, port: db.port, database: "dbwarden_demo", user: "postgres", password: "", sslmode: "disable" as const },
    };
  };

  it("create makes exactly what the reconciler would: drift finds nothing governed to fix", async () => {
    const admin = await db.admin("dbwarden_demo");
    const url = new URL(db.url("dbwarden_demo"));
    const inputs = {
      ...inputsOf(plan),
      connection: { ...inputsOf(plan).connection, user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) },
    };
    const created = await governedViewsProvider.create!(inputs);
    assert.equal(created.id, "dbwarden_demo/governed-views");
    const drift = await detectDrift(admin, plan, { target: "app" });
    assert.deepEqual(
      drift.differences.filter((d) => d.kind === "governed").map((d) => d.message),
      [],
    );
    const report = (await admin.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.plan_weekly_usage`)).rows[0].n;
    assert.ok(report > 0, "the reporting view reads its tables");
    const own = await admin.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.tickets`);
    assert.equal(own.rows[0].n, 0, "a login with no attributes row (the admin) reads no filtered row");

    // Update: the mask changes, the key survives (hashes stay comparable), the view follows.
    const key = (await admin.query("SELECT key FROM dbwarden.workflow_keys")).rows[0].key;
    const changed = structuredClone(plan);
    changed.workflows
      .find((w) => w.name === WORKFLOW)!
      .tables.find((t) => t.table === "tickets")!
      .columns.find((c) => c.name === "requester_email")!.mask = { kind: "redact" };
    const next = { ...inputsOf(changed), connection: inputs.connection };
    assert.equal((await governedViewsProvider.diff!(created.id, created.outs, next)).changes, true);
    await governedViewsProvider.update!(created.id, created.outs, next);
    assert.equal((await admin.query("SELECT key FROM dbwarden.workflow_keys")).rows[0].key, key);
    assert.equal((await admin.query(`SELECT count(requester_email)::int AS n FROM ${SCHEMA}.tickets`)).rows[0].n, 0, "redacted");
    assert.equal((await governedViewsProvider.diff!(created.id, next, next)).changes, false);

    // Delete: nothing of it is left.
    await governedViewsProvider.delete!(created.id, next);
    const left = await admin.query(`SELECT nspname FROM pg_namespace WHERE nspname IN ('dbwarden', '${SCHEMA}')`);
    assert.deepEqual(left.rows, []);
  });

  it("a schema of that name that is not dbwarden's fails the transaction, naming it; nothing is created", async () => {
    const admin = await db.admin("dbwarden_demo");
    const url = new URL(db.url("dbwarden_demo"));
    await admin.query(`CREATE SCHEMA ${SCHEMA}; CREATE TABLE ${SCHEMA}.precious (id int)`);
    try {
      const inputs = {
        ...inputsOf(plan),
        connection: { ...inputsOf(plan).connection, user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) },
      };
      await assert.rejects(governedViewsProvider.create!(inputs), /refused: schema dbw_account_assistant exists and is not dbwarden's/);
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = '${SCHEMA}'`)).rows[0].n, 1, "its table is still there");
      assert.equal((await admin.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'dbwarden'`)).rows[0].n, 0, "rolled back");
    } finally {
      await admin.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
    }
  });
});
