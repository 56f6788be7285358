/**
 * `dbwarden catalog` on a BigQuery target: the columns of exactly the planned tables, read with the
 * real `@google-cloud/bigquery` client (`tables.get`) from a local double of the service, and the
 * planned tables that do not exist.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { bigqueryColumnReader, bigquerySnapshot } from "../../src/bigquery/catalog.ts";
import { buildPlan } from "../../src/plan/build.ts";
import { EnvironmentSchema, WorkflowSchema } from "../../src/spec/schema.ts";
import { BigQueryFake } from "../../mcp-server/test/support/bigquery-fake.ts";

const PROJECT = "acme-analytics";
const OPERATOR = "operator@acme-analytics.iam.gserviceaccount.com";
let fake: BigQueryFake;

before(async () => {
  fake = new BigQueryFake(
    PROJECT,
    new Map([
      [
        "sales.orders",
        {
          fields: [
            { name: "id", type: "INTEGER" },
            { name: "amount", type: "NUMERIC" },
            { name: "card", type: "STRING" },
          ],
          rows: [],
          bytes: 1,
          readers: [OPERATOR],
        },
      ],
    ]),
  );
  await fake.start();
});
after(() => fake?.stop());

describe("dbwarden catalog on BigQuery", () => {
  it("reads each planned table's columns with tables.get, and names the tables that do not exist", async () => {
    const environment = EnvironmentSchema.parse({
      apiVersion: "dbwarden/v1",
      kind: "Environment",
      name: "gcp",
      targets: { wh: { platform: "bigquery", database: PROJECT, location: "EU", credentials: { mode: "iam" }, logging: { statements: "query-history" } } },
      workflows: ["orders"],
    });
    const workflow = WorkflowSchema.parse({
      apiVersion: "dbwarden/v1",
      kind: "Workflow",
      name: "orders",
      owner: "data",
      description: "Order questions.",
      target: "wh",
      scope: { sales: { orders: { exclude: ["card"] }, refunds: { exclude: [] } } },
      clients: [{ name: "bot", auth: "api-key" }],
    });
    const plan = buildPlan(environment, [workflow], new Date("2026-12-07T00:00:00Z"));
    const authClient = { getRequestHeaders: async () => new Headers({ authorization: `Bearer token:${OPERATOR}` }) };
    const read = await bigquerySnapshot(plan, plan.targets[0]!, bigqueryColumnReader(PROJECT, { apiEndpoint: fake.url, authClient }));
    assert.deepEqual(read.catalog, { "sales.orders": { id: "INTEGER", amount: "NUMERIC", card: "STRING" } });
    assert.deepEqual(read.missing, [{ table: "sales.refunds", workflows: ["orders"] }]);
    assert.deepEqual(
      fake.requests.map((r) => `${r.method} ${r.path}`),
      [`GET /bigquery/v2/projects/${PROJECT}/datasets/sales/tables/orders`, `GET /bigquery/v2/projects/${PROJECT}/datasets/sales/tables/refunds`],
    );
  });
});
