/** `bigquery-agents-read-views-only` through its real handler: a compliant grant passes, one field changed is reported. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DatasetAccess } from "@pulumi/gcp/bigquery/datasetAccess.js";
import { DatasetIamBinding } from "@pulumi/gcp/bigquery/datasetIamBinding.js";
import { DatasetIamMember } from "@pulumi/gcp/bigquery/datasetIamMember.js";
import { IamMember } from "@pulumi/gcp/bigquery/iamMember.js";
import { bigqueryAgentsReadViewsOnly } from "../../policies/rules/bigqueryAgentsReadViewsOnly.ts";
import { resourceViolations } from "./support/run.ts";

const agent = "serviceAccount:dbw-orders@acme-analytics.iam.gserviceaccount.com";
const reader = { project: "acme-analytics", datasetId: "dbw_orders", role: "roles/bigquery.dataViewer", member: agent };

describe("bigquery-agents-read-views-only", () => {
  it("passes the workflow's grant on its own view dataset, and grants on source tables to people", async () => {
    assert.deepEqual(await resourceViolations(bigqueryAgentsReadViewsOnly, { type: DatasetIamMember, props: reader }), []);
    assert.deepEqual(
      await resourceViolations(bigqueryAgentsReadViewsOnly, {
        type: IamMember,
        props: { ...reader, datasetId: "sales", tableId: "orders", member: "group:analysts@acme.example" },
      }),
      [],
    );
    assert.deepEqual(
      await resourceViolations(bigqueryAgentsReadViewsOnly, {
        type: DatasetAccess,
        props: { datasetId: "sales", view: { projectId: "acme-analytics", datasetId: "dbw_orders", tableId: "sales__orders" } },
      }),
      [],
    );
  });

  it("reports a whole-table or source-dataset grant to a workflow's account", async () => {
    assert.deepEqual(await resourceViolations(bigqueryAgentsReadViewsOnly, { type: IamMember, props: { ...reader, datasetId: "sales", tableId: "orders" } }), [
      `table sales.orders grants roles/bigquery.dataViewer to workflow account ${agent}: ` +
        `a whole-table grant gives it every column, excluded and sensitive ones too`,
    ]);
    assert.equal((await resourceViolations(bigqueryAgentsReadViewsOnly, { type: DatasetIamMember, props: { ...reader, datasetId: "sales" } })).length, 1);
    assert.equal(
      (
        await resourceViolations(bigqueryAgentsReadViewsOnly, {
          type: DatasetIamBinding,
          props: { datasetId: "sales", role: "roles/bigquery.dataViewer", members: [agent] },
        })
      ).length,
      1,
    );
    assert.equal(
      (
        await resourceViolations(bigqueryAgentsReadViewsOnly, {
          type: DatasetAccess,
          props: { datasetId: "sales", role: "READER", userByEmail: "dbw-orders@acme-analytics.iam.gserviceaccount.com" },
        })
      ).length,
      1,
    );
  });
});
