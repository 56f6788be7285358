/**
 * A BigQuery target on a Cloud Run host (`CLOUDRUN_TARGETS.bigquery`, components/bigquery/onCloudRun.ts):
 * its check refuses network settings nothing would enforce, its planned names reach the GCP
 * preflight, its plan problems name the field (an uncapped workflow, a target no workflow reads, a
 * dataset id BigQuery refuses), its endpoint and audit log filter, and a target in another project
 * than the host's keeps its audit log there (no sink in the host's project could see it).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AccessPlan, TargetOf } from "../../src/plan/types.ts";
import { installMocks, type Mocks } from "../../src/testing/index.ts";
import { gcpCatalog, gcpInvokes, gcpOutputs, gcpPlan } from "../gcp/support.ts";

const mocks: Mocks = await installMocks({ invokes: gcpInvokes, outputs: gcpOutputs, stack: "gcp" });
const { BIGQUERY_ON_CLOUDRUN, bigqueryAuditFilter, bigqueryEndpoint, bigqueryPlanProblems, bigqueryPlannedNames, checkBigQueryTarget } =
  await import("../../components/bigquery/onCloudRun.ts");
const { CLOUDRUN_TARGETS } = await import("../../components/gcp-cloudrun/targets.ts");
const { checkCloudRunPlan, GovernedCloudRun } = await import("../../components/gcp-cloudrun/governedCloudRun.ts");
const { plannedGcpNames } = await import("../../components/gcp-cloudrun/preflight.ts");

const plan = gcpPlan("gcp");
const warehouseOf = (p: AccessPlan) => p.targets.find((t) => t.name === "warehouse") as TargetOf<"bigquery">;
const warehouse = warehouseOf(plan);

describe("BigQuery on a Cloud Run host: the registry row and its checks", () => {
  it("is the BigQuery row of CLOUDRUN_TARGETS, and the gcp stack's plan passes the host's check with both targets", () => {
    assert.equal(CLOUDRUN_TARGETS.bigquery, BIGQUERY_ON_CLOUDRUN);
    assert.deepEqual(
      checkCloudRunPlan(plan).targets.map((t) => `${t.name} ${t.platform}`),
      ["app gcp-cloudsql", "warehouse bigquery"],
    );
  });

  it("refuses network settings on a BigQuery target, naming the field: nothing would enforce them", () => {
    assert.equal(checkBigQueryTarget(warehouse), warehouse);
    const withCidrs = { ...warehouse, network: { ...warehouse.network, allowedCidrs: ["10.0.0.0/8"] } };
    assert.throws(
      () => checkBigQueryTarget(withCidrs),
      /^Error: targets\.warehouse\.network\.allowedCidrs: a BigQuery target is reached through Google's API with IAM alone and dbwarden sets no network boundary on it; remove allowedCidrs/,
    );
    const withVpc = { ...warehouse, network: { ...warehouse.network, vpcId: "projects/p/global/networks/n", subnetIds: ["s"] } };
    assert.throws(() => checkBigQueryTarget(withVpc), /targets\.warehouse\.network\.vpcId: .*remove vpcId, subnetIds/);
    assert.throws(() => checkCloudRunPlan({ ...plan, targets: plan.targets.map((t) => (t.name === "warehouse" ? withCidrs : t)) }), /network\.allowedCidrs/);
  });

  it("gives one service account id per workflow to the GCP preflight", () => {
    assert.deepEqual(bigqueryPlannedNames(plan, warehouse), [
      {
        kind: "serviceAccountId",
        what: "the BigQuery service account of revops-pipeline-review",
        field: "workflows.revops-pipeline-review (its name)",
        name: "dbw-revops-pipeline-review",
      },
    ]);
    const { targets, host } = checkCloudRunPlan(plan);
    assert.ok(plannedGcpNames(plan, host, targets).some((n) => n.name === "dbw-revops-pipeline-review"));
  });

  it("reports an uncapped workflow, a target no workflow reads and a dataset id BigQuery refuses, each naming the field", () => {
    assert.deepEqual(bigqueryPlanProblems(plan, warehouse), []);
    const uncapped = structuredClone(plan);
    uncapped.workflows.find((w) => w.target === "warehouse")!.limits.maxBytesBilled = null;
    assert.deepEqual(bigqueryPlanProblems(uncapped, warehouseOf(uncapped)), [
      "workflows.revops-pipeline-review.limits.maxBytesBilled: a BigQuery job without " +
        "a bytes-billed cap is refused; set it, or targets.warehouse.maximumBytesBilled",
    ]);
    const unread = { ...plan, workflows: plan.workflows.filter((w) => w.target !== "warehouse") };
    assert.deepEqual(bigqueryPlanProblems(unread, warehouse), ["targets.warehouse: no workflow reads this target; remove it or enable a workflow"]);
    const badDataset = structuredClone(plan);
    badDataset.workflows.find((w) => w.target === "warehouse")!.tables[0]!.schema = "sales-eu";
    assert.match(
      bigqueryPlanProblems(badDataset, warehouseOf(badDataset)).join("\n"),
      /workflows\.revops-pipeline-review\.scope\.sales-eu: "sales-eu" is not a BigQuery dataset id/,
    );
  });

  it("gives the server the project and location as its endpoint, and the audit log of the project's BigQuery calls by dbwarden's accounts", () => {
    assert.deepEqual(bigqueryEndpoint(warehouse), { bigquery: { project: "acme-data-prod", location: "EU" } });
    assert.equal(
      bigqueryAuditFilter("acme-data-prod"),
      'logName="projects/acme-data-prod/logs/cloudaudit.googleapis.com%2Fdata_access" AND protoPayload.serviceName="bigquery.googleapis.com" ' +
        'AND protoPayload.authenticationInfo.principalEmail=~"^dbw-[a-z0-9-]+@acme-data-prod\\\\.iam\\\\.gserviceaccount\\\\.com$"',
    );
  });
});

describe("BigQuery on a Cloud Run host: a warehouse in another project", { timeout: 60_000 }, () => {
  it("creates its accounts and views in the warehouse's project, and routes no log there from the host's project", async () => {
    mocks.reset();
    const other = structuredClone(plan);
    const target = warehouseOf(other);
    target.database = "acme-analytics";
    new GovernedCloudRun("dbwarden-gcp", { plan: other, catalog: gcpCatalog("gcp") });
    await mocks.settle();
    assert.equal(mocks.one("gcp:serviceaccount/account:Account", "dbwarden-gcp-warehouse-revops-pipeline-review-sa").inputs.project, "acme-analytics");
    assert.deepEqual(
      mocks.byType("gcp:serviceaccount/iAMMember:IAMMember").map((m) => m.inputs.serviceAccountId),
      ["projects/acme-analytics/serviceAccounts/dbw-revops-pipeline-review@acme-analytics.iam.gserviceaccount.com"],
    );
    assert.deepEqual(
      mocks
        .byType("gcp:logging/projectBucketConfig:ProjectBucketConfig")
        .map((b) => b.inputs.bucketId)
        .sort(),
      ["dbw-gcp-app-db", "dbw-gcp-mcp-audit"],
    );
    assert.deepEqual(mocks.one("gcp:bigquery/table:Table", "dbwarden-gcp-warehouse-revops-pipeline-review-sales__orders").inputs.view, {
      query: "SELECT `id`, `opportunity_id`, `amount`, `currency`, `closed_at` FROM `acme-analytics.sales.orders`",
      useLegacySql: false,
    });
  });
});
