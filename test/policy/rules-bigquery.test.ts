/**
 * The BigQuery rules through their real handlers: a compliant resource passes, and the same
 * resource with one field changed is reported.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TaskDefinition } from "@pulumi/aws/ecs/taskDefinition.js";
import { Dataset } from "@pulumi/gcp/bigquery/dataset.js";
import { DatasetAccess } from "@pulumi/gcp/bigquery/datasetAccess.js";
import { DatasetIamBinding } from "@pulumi/gcp/bigquery/datasetIamBinding.js";
import { DatasetIamMember } from "@pulumi/gcp/bigquery/datasetIamMember.js";
import { IamBinding } from "@pulumi/gcp/bigquery/iamBinding.js";
import { IamMember } from "@pulumi/gcp/bigquery/iamMember.js";
import { bigqueryJobsCapped, uncappedBigQueryWorkflows } from "../../policies/rules/bigqueryJobsCapped.ts";
import { bigqueryNoPublicGrants } from "../../policies/rules/bigqueryNoPublicGrants.ts";
import { resourceViolations } from "./support/run.ts";

const viewer = "serviceAccount:dbw-orders@acme-analytics.iam.gserviceaccount.com";

describe("bigquery-no-public-grants", () => {
  const table = { project: "acme-analytics", datasetId: "dbw_orders", tableId: "sales__orders", role: "roles/bigquery.dataViewer", member: viewer };

  it("passes grants to a named service account, on tables, datasets and dataset access entries", async () => {
    assert.deepEqual(await resourceViolations(bigqueryNoPublicGrants, { type: IamMember, props: table }), []);
    assert.deepEqual(await resourceViolations(bigqueryNoPublicGrants, { type: IamBinding, props: { ...table, member: undefined, members: [viewer] } }), []);
    assert.deepEqual(
      await resourceViolations(bigqueryNoPublicGrants, {
        type: DatasetIamMember,
        props: { datasetId: "dbw_orders", role: "roles/bigquery.dataViewer", member: viewer },
      }),
      [],
    );
    assert.deepEqual(
      await resourceViolations(bigqueryNoPublicGrants, {
        type: DatasetAccess,
        props: { datasetId: "sales", view: { projectId: "acme-analytics", datasetId: "dbw_orders", tableId: "sales__orders" } },
      }),
      [],
    );
  });

  it("reports allUsers and allAuthenticatedUsers on each kind of grant", async () => {
    assert.deepEqual(await resourceViolations(bigqueryNoPublicGrants, { type: IamMember, props: { ...table, member: "allUsers" } }), [
      "table dbw_orders.sales__orders grants roles/bigquery.dataViewer to allUsers: anyone can read it",
    ]);
    assert.equal(
      (
        await resourceViolations(bigqueryNoPublicGrants, {
          type: IamBinding,
          props: { ...table, member: undefined, members: [viewer, "allAuthenticatedUsers"] },
        })
      ).length,
      1,
    );
    assert.match(
      (
        await resourceViolations(bigqueryNoPublicGrants, {
          type: DatasetIamMember,
          props: { datasetId: "sales", role: "roles/bigquery.dataViewer", member: "allAuthenticatedUsers" },
        })
      )[0]!,
      /dataset sales grants .* to allAuthenticatedUsers/,
    );
    assert.equal(
      (
        await resourceViolations(bigqueryNoPublicGrants, {
          type: DatasetIamBinding,
          props: { datasetId: "sales", role: "roles/bigquery.dataViewer", members: ["allUsers"] },
        })
      ).length,
      1,
    );
    assert.match(
      (
        await resourceViolations(bigqueryNoPublicGrants, {
          type: DatasetAccess,
          props: { datasetId: "sales", role: "READER", specialGroup: "allAuthenticatedUsers" },
        })
      )[0]!,
      /dataset sales gives access \(READER\) to allAuthenticatedUsers/,
    );
  });
});

describe("bigquery-no-public-grants on a dataset's own access list", () => {
  const reader = { role: "READER", userByEmail: "dbw-orders@acme-analytics.iam.gserviceaccount.com" };
  const owner = { role: "OWNER", specialGroup: "projectOwners" };
  const viewDataset = (accesses: unknown) => ({ type: Dataset, props: { project: "acme-analytics", datasetId: "dbw_orders", location: "EU", accesses } });

  it(
    "passes a view dataset whose list is its workflow's account as READER and " + "projectOwners as OWNER, and a source dataset left to BigQuery's defaults",
    async () => {
      assert.deepEqual(await resourceViolations(bigqueryNoPublicGrants, viewDataset([reader, owner])), []);
      assert.deepEqual(await resourceViolations(bigqueryNoPublicGrants, { type: Dataset, props: { datasetId: "sales", location: "EU" } }), []);
    },
  );

  it("reports a view dataset without a list (BigQuery's defaults: every project Viewer reads it)", async () => {
    assert.deepEqual(await resourceViolations(bigqueryNoPublicGrants, viewDataset(undefined)), [
      "dataset dbw_orders holds a workflow's views and has no access list: BigQuery adds projectReaders as READER, so every project Viewer reads them",
    ]);
  });

  it("reports a view dataset's list admitting a special group, projectOwners below OWNER, or a domain, one field changed at a time", async () => {
    assert.deepEqual(await resourceViolations(bigqueryNoPublicGrants, viewDataset([reader, owner, { role: "READER", specialGroup: "projectReaders" }])), [
      "dataset dbw_orders holds a workflow's views and gives READER to the special group projectReaders: its members read the workflow's data",
    ]);
    assert.deepEqual(await resourceViolations(bigqueryNoPublicGrants, viewDataset([reader, { ...owner, specialGroup: "projectWriters" }])), [
      "dataset dbw_orders holds a workflow's views and gives OWNER to the special group projectWriters: its members read the workflow's data",
    ]);
    assert.deepEqual(await resourceViolations(bigqueryNoPublicGrants, viewDataset([reader, { ...owner, role: "READER" }])), [
      "dataset dbw_orders holds a workflow's views and gives READER to the special group projectOwners: its members read the workflow's data",
    ]);
    assert.deepEqual(await resourceViolations(bigqueryNoPublicGrants, viewDataset([reader, owner, { role: "READER", domain: "example.com" }])), [
      "dataset dbw_orders holds a workflow's views and gives READER to the domain example.com: everyone there reads the workflow's data",
    ]);
  });

  it("reports allUsers and allAuthenticatedUsers in any dataset's list", async () => {
    assert.deepEqual(
      await resourceViolations(bigqueryNoPublicGrants, viewDataset([reader, owner, { role: "READER", specialGroup: "allAuthenticatedUsers" }])),
      ["dataset dbw_orders gives access (READER) to allAuthenticatedUsers: anyone can read it"],
    );
    assert.deepEqual(
      await resourceViolations(bigqueryNoPublicGrants, {
        type: Dataset,
        props: { datasetId: "sales", accesses: [owner, { role: "READER", iamMember: "allUsers" }] },
      }),
      ["dataset sales gives access (READER) to allUsers: anyone can read it"],
    );
  });
});

describe("bigquery-jobs-capped", () => {
  const plan = (maxBytesBilled: number | null) => ({
    targets: [
      { name: "wh", platform: "bigquery" },
      { name: "db", platform: "aws-rds" },
    ],
    workflows: [
      { name: "orders", target: "wh", limits: { maxBytesBilled } },
      { name: "pg", target: "db", limits: { maxBytesBilled: null } },
    ],
  });
  const task = (maxBytesBilled: number | null) => ({
    type: TaskDefinition,
    props: {
      family: "dbwarden-mcp",
      containerDefinitions: JSON.stringify([{ name: "mcp", environment: [{ name: "DBWARDEN_PLAN", value: JSON.stringify(plan(maxBytesBilled)) }] }]),
    },
  });

  it("passes a plan whose BigQuery workflows have a cap (a Postgres workflow needs none)", async () => {
    assert.deepEqual(await resourceViolations(bigqueryJobsCapped, task(1e9)), []);
    assert.deepEqual(uncappedBigQueryWorkflows(plan(1e9)), []);
  });

  it("reports a BigQuery workflow without a cap", async () => {
    assert.deepEqual(await resourceViolations(bigqueryJobsCapped, task(null)), [
      "the MCP server's plan serves BigQuery workflow orders without a bytes-billed cap (limits.maxBytesBilled)",
    ]);
  });
});
