/** The BigQuery preflight: GCP's name rules as pure functions, each refusing what GCP would refuse. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AccessPlan, TargetPlan } from "@dbwarden/contract";
import { bigqueryTargetProblems, labelProblems, serviceAccountIdProblems, workflowServiceAccountId } from "../../components/bigquery/preflight.ts";

const target = { name: "wh", platform: "bigquery" } as TargetPlan;
const workflow = (name: string, tables: Array<[string, string]>) =>
  ({
    name,
    target: "wh",
    roles: { group: `dbw_${name.replaceAll("-", "_")}` },
    tables: tables.map(([schema, table]) => ({ schema, table })),
  }) as AccessPlan["workflows"][number];

describe("the BigQuery preflight", () => {
  it("service account ids: 6-30 characters, long workflow names cut with a hash, distinct", () => {
    assert.equal(workflowServiceAccountId("orders"), "dbw-orders");
    assert.equal(workflowServiceAccountId("a"), "dbw-a-sa", "padded to six characters");
    const long = workflowServiceAccountId("customer-success-weekly-revenue-report");
    assert.equal(long.length, 30);
    assert.notEqual(long, workflowServiceAccountId("customer-success-weekly-revenue-digest"));
    for (const id of ["dbw-orders", long]) assert.deepEqual(serviceAccountIdProblems("sa", id), []);
    for (const id of ["dbw-o", "x".repeat(31), "Dbw-orders", "dbw-orders-", "1dbw-orders", "dbw_orders"])
      assert.equal(serviceAccountIdProblems("sa", id).length, 1, id);
  });

  it("label keys and values: lowercase, at most 63, keys start with a letter", () => {
    assert.deepEqual(labelProblems("labels", "dbwarden-workflow", "cs-usage-drop"), []);
    assert.deepEqual(labelProblems("labels", "dbwarden-request", ""), [], "an empty value is allowed");
    assert.equal(labelProblems("labels", "dbwarden:owner", "x").length, 1);
    assert.equal(labelProblems("labels", "Owner", "x").length, 1);
    assert.equal(labelProblems("labels", "owner", "Customer Success").length, 1);
    assert.equal(labelProblems("labels", "owner", "x".repeat(64)).length, 1);
  });

  it("dataset and view ids, and two tables whose views would share a name", () => {
    assert.deepEqual(
      bigqueryTargetProblems(
        {
          workflows: [
            workflow("orders", [
              ["sales", "orders"],
              ["sales", "customers"],
            ]),
          ],
        },
        target,
      ),
      [],
    );
    const problems = bigqueryTargetProblems(
      {
        workflows: [
          workflow("orders", [
            ["a__b", "c"],
            ["a", "b__c"],
            ["sa$les", "t"],
          ]),
        ],
      },
      target,
    );
    assert.ok(problems.some((p) => p.includes('its view "a__b__c" is also a__b.c\'s')));
    assert.ok(problems.some((p) => p.includes('"sa$les" is not a BigQuery dataset id')));
  });
});
