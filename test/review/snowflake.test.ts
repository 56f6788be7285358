/**
 * `dbwarden review` on the Snowflake stack: a new client (a service user), a table read whole
 * instead of through its secure view, a hidden column revealed, and a wider network policy are
 * widening; the reverse narrowing. Snowflake users and network policies count as access resources
 * in a preview's steps.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { planStack } from "../../src/plan/index.ts";
import { diffPlans } from "../../src/review/diff.ts";
import { isAccessResource } from "../../src/review/preview.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const now = new Date("2026-01-15T12:00:00Z");

describe("review of Snowflake changes", () => {
  const before = planStack("snowflake", { root: ROOT, now });

  it("marks a new service user, a revealed column and a wider network policy as widening, and their reverse as narrowing", () => {
    const after = structuredClone(before);
    const workflow = after.workflows[0]!;
    workflow.clients.push({
      ...workflow.clients[0]!,
      name: "n8n-revops",
      loginRole: "dbw_sales_analytics__n8n_revops",
      secretName: "dbwarden/snowflake/sales-analytics/n8n-revops",
    });
    workflow.roles.logins.push({ client: "n8n-revops", role: "dbw_sales_analytics__n8n_revops", secretName: "dbwarden/snowflake/sales-analytics/n8n-revops" });
    const customers = workflow.tables.find((t) => t.table === "CUSTOMERS")!;
    customers.rule = { access: "all-except", except: ["EMAIL"] };
    after.targets[0]!.network.allowedCidrs = [...after.targets[0]!.network.allowedCidrs, "203.0.113.0/24"];
    const wider = diffPlans(before, after);
    const kinds = wider.changes.map((c) => `${c.direction} ${c.kind}`);
    assert.ok(kinds.includes("widening client-added"), kinds.join(", "));
    assert.ok(kinds.includes("widening columns-gained"), kinds.join(", "));
    assert.ok(kinds.includes("widening cidrs-admitted"), kinds.join(", "));
    const narrower = diffPlans(after, before);
    const back = narrower.changes.map((c) => `${c.direction} ${c.kind}`);
    assert.ok(
      back.includes("narrowing client-removed") && back.includes("narrowing columns-lost") && back.includes("narrowing cidrs-dropped"),
      back.join(", "),
    );
  });

  it("counts Snowflake grants, roles, users and network policies as access resources in a preview", () => {
    for (const type of [
      "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole",
      "snowflake:index/grantAccountRole:GrantAccountRole",
      "snowflake:index/accountRole:AccountRole",
      "snowflake:index/serviceUser:ServiceUser",
      "snowflake:index/networkPolicy:NetworkPolicy",
      "snowflake:index/networkRule:NetworkRule",
    ]) {
      assert.ok(isAccessResource(type), type);
    }
    assert.ok(!isAccessResource("snowflake:index/schema:Schema"));
  });

  it("counts BigQuery datasets (their access list) and authorized-view grants as access resources, not tables", () => {
    for (const type of ["gcp:bigquery/dataset:Dataset", "gcp:bigquery/datasetAccess:DatasetAccess", "gcp:bigquery/datasetIamMember:DatasetIamMember"]) {
      assert.ok(isAccessResource(type), type);
    }
    assert.ok(!isAccessResource("gcp:bigquery/table:Table"));
  });
});
