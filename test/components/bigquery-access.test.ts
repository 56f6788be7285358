/**
 * BigQuery read-only access: the pure plan of views (columns resolved against the catalog), and
 * the component under Pulumi mocks, every resource's inputs AND options asserted: per workflow a
 * service account with jobUser, a view dataset, one authorized view per table, the view dataset's whole
 * access list (its account READER, the project's owners OWNER); never a grant on a source table.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildPlan } from "../../src/plan/build.ts";
import { EnvironmentSchema, WorkflowSchema } from "../../src/spec/schema.ts";
import type { AccessPlan } from "../../src/plan/types.ts";
import { installMocks, type Mocks } from "../../src/testing/index.ts";

const mocks: Mocks = await installMocks({
  outputs: (type, _name, inputs) =>
    type === "gcp:serviceaccount/account:Account" ? { email: `${String(inputs.accountId)}@acme-analytics.iam.gserviceaccount.com` } : {},
});
const { BigQueryReadOnlyAccess } = await import("../../components/bigquery/access.ts");
const { bigqueryAccessPlan, viewColumns } = await import("../../components/bigquery/plan.ts");
const { ACCESS_COMPONENTS, accessComponentOf } = await import("../../components/targets.ts");
const reviewModule = await import("../../src/review/diff.ts");

function plan(): AccessPlan {
  const environment = EnvironmentSchema.parse({
    apiVersion: "dbwarden/v1",
    kind: "Environment",
    name: "gcp",
    targets: {
      wh: {
        platform: "bigquery",
        database: "acme-analytics",
        location: "EU",
        maximumBytesBilled: "1GB",
        credentials: { mode: "iam" },
        logging: { statements: "query-history" },
      },
    },
    workflows: ["orders"],
  });
  const workflow = WorkflowSchema.parse({
    apiVersion: "dbwarden/v1",
    kind: "Workflow",
    name: "orders",
    owner: "Data Team",
    description: "Order questions.",
    target: "wh",
    scope: { sales: { orders: { exclude: ["card"] }, customers: { columns: { id: null, name: null } }, regions: { exclude: [] } } },
    clients: [{ name: "claude-ops", auth: "api-key" }],
  });
  return buildPlan(environment, [workflow], new Date("2026-12-07T00:00:00Z"));
}

const catalog = { "sales.orders": ["id", "amount", "card"] };

describe("bigqueryAccessPlan", () => {
  it("selects exactly the readable columns: the allowlist, every column (*), all but the exclusions from the catalog", () => {
    const p = plan();
    const [access] = bigqueryAccessPlan(p, p.targets[0]!, catalog, "stacks/catalog/gcp.json");
    assert.equal(access!.accountId, "dbw-orders");
    assert.equal(access!.viewDataset, "dbw_orders");
    assert.deepEqual(
      access!.views.map((v) => [v.view.tableId, v.query]),
      [
        ["sales__customers", "SELECT `id`, `name` FROM `acme-analytics.sales.customers`"],
        ["sales__orders", "SELECT `id`, `amount` FROM `acme-analytics.sales.orders`"],
        ["sales__regions", "SELECT * FROM `acme-analytics.sales.regions`"],
      ],
    );
  });

  it("refuses 'all but these' without the table's columns, and a rule naming a column the table lacks", () => {
    const table = plan().workflows[0]!.tables.find((t) => t.table === "orders")!;
    assert.throws(
      () => viewColumns(table, {}, "stacks/catalog/gcp.json"),
      /sales\.orders: .*stacks\/catalog\/gcp\.json has no columns for it; run `dbwarden catalog`/,
    );
    assert.throws(() => viewColumns(table, { "sales.orders": ["id"] }, "c.json"), /card named by the workflow is not a column/);
  });
});

describe("BigQueryReadOnlyAccess under mocks", { timeout: 30_000 }, () => {
  it("is the BigQuery entry of the registry", () => {
    assert.equal(ACCESS_COMPONENTS.bigquery.type, "dbwarden:bigquery:ReadOnlyAccess");
    assert.equal(accessComponentOf({ name: "wh", platform: "bigquery" }).type, "dbwarden:bigquery:ReadOnlyAccess");
  });

  it("creates per workflow a service account, jobUser, a view dataset, authorized views, and the view dataset's whole access list", async () => {
    mocks.reset();
    const p = plan();
    new BigQueryReadOnlyAccess("wh", { plan: p, target: p.targets[0]!, catalog, catalogSource: "c.json" });
    await mocks.settle();
    const types = mocks.resources.filter((r) => r.custom).map((r) => `${r.type}::${r.name}`);
    assert.deepEqual(types.sort(), [
      "gcp:bigquery/dataset:Dataset::wh-orders-views",
      "gcp:bigquery/datasetAccess:DatasetAccess::wh-orders-sales__customers-authorized",
      "gcp:bigquery/datasetAccess:DatasetAccess::wh-orders-sales__orders-authorized",
      "gcp:bigquery/datasetAccess:DatasetAccess::wh-orders-sales__regions-authorized",
      "gcp:bigquery/table:Table::wh-orders-sales__customers",
      "gcp:bigquery/table:Table::wh-orders-sales__orders",
      "gcp:bigquery/table:Table::wh-orders-sales__regions",
      "gcp:projects/iAMMember:IAMMember::wh-orders-job-user",
      "gcp:serviceaccount/account:Account::wh-orders-sa",
    ]);
    const top = mocks.resources.find((r) => r.type === "dbwarden:bigquery:ReadOnlyAccess")!;
    for (const r of mocks.resources.filter((x) => x.custom)) {
      assert.equal(r.parent, top.urn, `${r.name}: parent is the component`);
      assert.equal(r.provider, "", `${r.name}: default provider`);
      assert.equal(r.deleteBeforeReplace, false);
      assert.equal(r.retainOnDelete, false);
      assert.deepEqual(r.ignoreChanges, []);
    }
    const sa = mocks.one("gcp:serviceaccount/account:Account", "wh-orders-sa");
    assert.deepEqual(sa.inputs, {
      project: "acme-analytics",
      accountId: "dbw-orders",
      displayName: "dbwarden orders",
      description: "Reads workflow orders's views (dbwarden).",
    });
    const member = "serviceAccount:dbw-orders@acme-analytics.iam.gserviceaccount.com";
    assert.deepEqual(mocks.one("gcp:projects/iAMMember:IAMMember", "wh-orders-job-user").inputs, {
      project: "acme-analytics",
      role: "roles/bigquery.jobUser",
      member,
    });
    const labels = { "dbwarden-owner": "data_team", "dbwarden-workflow": "orders", "dbwarden-environment": "gcp", "dbwarden-target": "wh" };
    assert.deepEqual(mocks.one("gcp:bigquery/dataset:Dataset", "wh-orders-views").inputs, {
      project: "acme-analytics",
      datasetId: "dbw_orders",
      location: "EU",
      labels,
      description: "Authorized views of workflow orders (dbwarden).",
      deleteContentsOnDestroy: true,
      // The whole list, authoritative: the workflow's account reads, the project's owners own, nobody else
      // (without it BigQuery adds projectReaders READER: every project Viewer would read the views).
      accesses: [
        { role: "READER", userByEmail: "dbw-orders@acme-analytics.iam.gserviceaccount.com" },
        { role: "OWNER", specialGroup: "projectOwners" },
      ],
    });
    const view = mocks.one("gcp:bigquery/table:Table", "wh-orders-sales__orders");
    assert.deepEqual(view.inputs, {
      project: "acme-analytics",
      datasetId: "dbw_orders",
      tableId: "sales__orders",
      view: { query: "SELECT `id`, `amount` FROM `acme-analytics.sales.orders`", useLegacySql: false },
      deletionProtection: false,
      labels,
    });
    const authorized = mocks.one("gcp:bigquery/datasetAccess:DatasetAccess", "wh-orders-sales__orders-authorized");
    assert.deepEqual(authorized.inputs, {
      project: "acme-analytics",
      datasetId: "sales",
      view: { projectId: "acme-analytics", datasetId: "dbw_orders", tableId: "sales__orders" },
    });
    assert.deepEqual(authorized.dependsOn, [view.urn], "authorized once the view exists");
    assert.equal(mocks.byType("gcp:bigquery/datasetIamMember:DatasetIamMember").length, 0, "nothing adds to the authoritative access list");
    assert.equal(mocks.byType("gcp:bigquery/iamMember:IamMember").length, 0, "no grant on any table, least of all a source table");
    assert.deepEqual(mocks.invokes, []);
  });
});

describe("the access review of a BigQuery workflow", () => {
  const { diffPlans } = reviewModule;
  const changes = (before: AccessPlan, after: AccessPlan) => diffPlans(before, after).changes.map((c) => `${c.direction} ${c.kind} ${c.subject}: ${c.summary}`);

  it("a higher bytes-billed cap, or none, widens; a lower one narrows; a new table widens", () => {
    const before = plan();
    const raise = structuredClone(before);
    raise.workflows[0]!.limits.maxBytesBilled = 2e9;
    assert.deepEqual(changes(before, raise), [
      "widening limit-changed orders bytes billed per query (BigQuery): orders: bytes billed per query (BigQuery) 1 GB -> 2 GB",
    ]);
    const none = structuredClone(before);
    none.workflows[0]!.limits.maxBytesBilled = null;
    assert.match(changes(before, none)[0]!, /^widening limit-changed .* -> no cap$/);
    assert.match(changes(none, before)[0]!, /^narrowing limit-changed .* no cap -> 1 GB$/);
    const more = structuredClone(before);
    more.workflows[0]!.tables.push({ schema: "hr", table: "salaries", description: null, rule: { access: "all" }, columns: [], rowFilter: null });
    assert.ok(changes(before, more).some((c) => c.startsWith("widening") && c.includes("hr.salaries")));
  });
});
