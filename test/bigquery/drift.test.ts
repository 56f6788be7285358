/**
 * Drift on BigQuery against a double of the project (test/support/bigquery-iam-fake.ts) deployed
 * as `pulumi up` leaves the gcp stack's warehouse: no drift; each kind of drift (an extra entry on
 * a view dataset's list, a missing one, a view's SQL, an unknown view, a missing view, a stale
 * authorized view on a source dataset, a project role); `--fix` removes only the extra entries
 * and the stale authorized views, and leaves the source datasets' own entries alone.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { driftExitCode, mergeDrift } from "../../src/drift/report.ts";
import { detectBigQueryDrift, entryText, fixBigQueryDrift, normaliseSql, readAll, VIEW_READS_AT_ONCE } from "../../src/bigquery/drift.ts";
import { formatDriftReport } from "../../src/postgres/drift.ts";
import { gcpCatalog, gcpPlan } from "../gcp/support.ts";
import { BigQueryIamFake, OWNERS_ENTRIES } from "../support/bigquery-iam-fake.ts";

const plan = gcpPlan("gcp");
const catalog = gcpCatalog("gcp");
const target = plan.targets.find((t) => t.name === "warehouse")!;
const PROJECT = "acme-data-prod";
const DATASET = "dbw_revops_pipeline_review";
const SA = "dbw-revops-pipeline-review@acme-data-prod.iam.gserviceaccount.com";
const detect = (fake: BigQueryIamFake) => detectBigQueryDrift(fake, plan, target, catalog, "stacks/catalog/gcp.json");
const messages = async (fake: BigQueryIamFake) => (await detect(fake)).report.differences.map((d) => `${d.kind}: ${d.message}`);

describe("drift on BigQuery: the view datasets", () => {
  it("the project as pulumi up leaves it: no drift, exit 0, nothing to fix", async () => {
    const fake = BigQueryIamFake.deployed(plan, target, catalog);
    // What the double holds is the component's rendering, in literal names (not only the same function twice).
    assert.deepEqual(fake.datasets.get(DATASET)!.access, [
      { role: "READER", userByEmail: SA },
      { role: "OWNER", specialGroup: "projectOwners" },
    ]);
    assert.deepEqual([...fake.datasets.get(DATASET)!.tables.keys()], ["marketing__campaigns", "sales__opportunities", "sales__orders"]);
    assert.deepEqual(fake.datasets.get("sales")!.access.slice(2), [
      { view: { projectId: PROJECT, datasetId: DATASET, tableId: "sales__opportunities" } },
      { view: { projectId: PROJECT, datasetId: DATASET, tableId: "sales__orders" } },
    ]);
    const found = await detect(fake);
    assert.deepEqual(found.report.differences, []);
    assert.deepEqual(found.fixes, []);
    assert.equal(driftExitCode(mergeDrift(plan.environment, [found.report], null)), 0);
    assert.equal(formatDriftReport(found.report), "No drift: environment gcp, target warehouse (database acme-data-prod) matches the access plan.\n");
  });

  it("an entry beyond the two on a view dataset is drift (widening), each kind of principal; --fix removes exactly those", async () => {
    const fake = BigQueryIamFake.deployed(plan, target, catalog);
    const extras = [
      { role: "READER", groupByEmail: "Everyone@acme.example" },
      { role: "READER", domain: "acme.example" },
      { role: "READER", specialGroup: "allAuthenticatedUsers" },
      { role: "READER", iamMember: "allUsers" },
      { role: "WRITER", userByEmail: SA },
      { role: "roles/bigquery.dataViewer", userByEmail: "intern@acme.example" },
    ];
    fake.datasets.get(DATASET)!.access.push(...extras);
    const found = await detect(fake);
    assert.deepEqual(
      found.report.differences.map((d) => [d.kind, d.message]),
      [
        "READER group everyone@acme.example",
        "READER domain acme.example",
        "READER special group allAuthenticatedUsers",
        "READER IAM member allUsers",
        `WRITER user ${SA}`,
        "READER user intern@acme.example",
      ].map((who) => [
        "dataset-access",
        `view dataset ${PROJECT}:${DATASET} admits ${who}, which the plan does not (it widens who reads the workflow's views)`,
      ]),
    );
    assert.equal(driftExitCode(mergeDrift(plan.environment, [found.report], null)), 3);
    assert.match(formatDriftReport(found.report), /Who may read the workflows' view datasets[\s\S]*Run `dbwarden drift --fix` to remove the access entries/);
    assert.equal(found.fixes.length, 1);
    assert.deepEqual(found.fixes[0]!.access, [
      { role: "READER", userByEmail: SA },
      { role: "OWNER", specialGroup: "projectOwners" },
    ]);
    assert.equal(found.fixes[0]!.etag, "etag-1");
    assert.equal(await fixBigQueryDrift(fake, found.fixes), 1);
    assert.deepEqual(await messages(fake), []);
  });

  it("a missing expected entry is drift that --fix does not add (pulumi up restores the list)", async () => {
    const fake = BigQueryIamFake.deployed(plan, target, catalog);
    fake.datasets.get(DATASET)!.access.shift();
    const found = await detect(fake);
    assert.deepEqual(
      found.report.differences.map((d) => [d.kind, d.message, d.fix]),
      [["dataset-access", `view dataset ${PROJECT}:${DATASET} lacks READER user ${SA} (pulumi up restores the list)`, []]],
    );
    assert.deepEqual(found.fixes, []);
  });

  it("a view selecting something else, a view the plan does not know and a missing view are drift; whitespace is not", async () => {
    const fake = BigQueryIamFake.deployed(plan, target, catalog);
    const tables = fake.datasets.get(DATASET)!.tables;
    const orders = tables.get("sales__orders")!;
    orders.query = `\n  ${orders.query!.replaceAll(" ", "\n    ")}\n`;
    const opportunities = tables.get("sales__opportunities")!;
    opportunities.query = opportunities.query!.replace("SELECT ", "SELECT `contact_email`, ");
    tables.delete("marketing__campaigns");
    tables.set("sales__customers", { type: "VIEW", query: "SELECT * FROM `acme-data-prod.sales.customers`" });
    const found = await detect(fake);
    assert.deepEqual(
      found.report.differences.map((d) => d.kind),
      ["missing-object", "view", "view"],
    );
    const [missing, sql, unknown] = found.report.differences.map((d) => d.message);
    assert.match(
      sql!,
      new RegExp(`^view ${PROJECT}:${DATASET}\\.sales__opportunities selects something else than the plan \\(the plan: SELECT .*\\); pulumi up restores it$`),
    );
    assert.doesNotMatch(sql!.split("(the plan:")[1]!, /contact_email/);
    assert.equal(missing, `view ${PROJECT}:${DATASET}.marketing__campaigns does not exist (pulumi up creates it)`);
    assert.equal(
      unknown,
      `view ${PROJECT}:${DATASET}.sales__customers is not in the plan, and the workflow's service account reads it; ` +
        `remove it (bq rm -t ${PROJECT}:${DATASET}.sales__customers)`,
    );
    assert.deepEqual(found.fixes, [], "--fix rewrites no view");
    assert.equal(normaliseSql(" SELECT  a,\n b FROM t "), "SELECT a, b FROM t");
  });

  it("a view dataset that does not exist is drift", async () => {
    const fake = BigQueryIamFake.deployed(plan, target, catalog);
    fake.datasets.delete(DATASET);
    assert.deepEqual(await messages(fake), [`missing-object: view dataset ${PROJECT}:${DATASET} does not exist (pulumi up creates it)`]);
  });
});

describe("drift on BigQuery: source datasets and the project", () => {
  it("on a source dataset only dbwarden's stale authorized views are drift; the owner's entries are never reported or changed", async () => {
    const fake = BigQueryIamFake.deployed(plan, target, catalog);
    const sales = fake.datasets.get("sales")!;
    const stale = { view: { projectId: PROJECT, datasetId: "dbw_old_workflow", tableId: "sales__orders" } };
    const removedTable = { view: { projectId: PROJECT, datasetId: DATASET, tableId: "sales__customers" } };
    const theirs = [
      { view: { projectId: PROJECT, datasetId: "reporting", tableId: "orders_by_region" } },
      { view: { projectId: "other-project", datasetId: "dbw_elsewhere", tableId: "sales__orders" } },
      { role: "WRITER", userByEmail: "etl@acme-data-prod.iam.gserviceaccount.com" },
    ];
    sales.access.push(stale, ...theirs, removedTable);
    const marketing = fake.datasets.get("marketing")!;
    marketing.access = marketing.access.filter((e) => !e.view);
    const found = await detect(fake);
    assert.deepEqual(
      found.report.differences.map((d) => [d.kind, d.message, d.fix.length]),
      [
        [
          "authorized-view",
          `source dataset ${PROJECT}:marketing does not authorize view ${PROJECT}.${DATASET}.marketing__campaigns, ` +
            "so it cannot read its table (pulumi up adds it)",
          0,
        ],
        ["authorized-view", `source dataset ${PROJECT}:sales still authorizes view ${PROJECT}.dbw_old_workflow.sales__orders, which the plan no longer has`, 1],
        ["authorized-view", `source dataset ${PROJECT}:sales still authorizes view ${PROJECT}.${DATASET}.sales__customers, which the plan no longer has`, 1],
      ],
    );
    assert.deepEqual(
      found.fixes.map((f) => [f.datasetId, f.removed]),
      [["sales", [stale, removedTable]]],
    );
    await fixBigQueryDrift(fake, found.fixes);
    assert.deepEqual(fake.datasets.get("sales")!.access, [
      ...OWNERS_ENTRIES,
      { view: { projectId: PROJECT, datasetId: DATASET, tableId: "sales__opportunities" } },
      { view: { projectId: PROJECT, datasetId: DATASET, tableId: "sales__orders" } },
      ...theirs,
    ]);
  });

  it("a removed workflow's views (labelled with this environment and target, or deleted) are stale; another environment's are not touched", async () => {
    const fake = BigQueryIamFake.deployed(plan, target, catalog);
    const labels = (environment: string) => ({ "dbwarden-environment": environment, "dbwarden-target": "warehouse", "dbwarden-workflow": "gone" });
    fake.dataset("dbw_removed_workflow").labels = labels("gcp");
    fake.dataset("dbw_staging_workflow").labels = labels("staging");
    fake.dataset("dbw_unlabelled").labels = {};
    const entry = (datasetId: string) => ({ view: { projectId: PROJECT, datasetId, tableId: "sales__orders" } });
    fake.datasets.get("sales")!.access.push(entry("dbw_removed_workflow"), entry("dbw_staging_workflow"), entry("dbw_unlabelled"), entry("dbw_deleted"));
    const found = await detect(fake);
    assert.deepEqual(
      found.report.differences.map((d) => d.role),
      ["dbw_removed_workflow", "dbw_deleted"],
    );
    assert.deepEqual(found.fixes[0]!.removed, [entry("dbw_removed_workflow"), entry("dbw_deleted")]);
  });

  it("a workflow's service account holding a project role beyond jobUser, or lacking it, is drift that --fix leaves to the owner", async () => {
    const fake = BigQueryIamFake.deployed(plan, target, catalog);
    fake.bindings.push(
      { role: "roles/bigquery.dataViewer", members: [`serviceAccount:${SA}`] },
      { role: "roles/bigquery.jobUser", members: [`serviceAccount:${SA}`], condition: { title: "weekdays", expression: "true" } },
    );
    const found = await detect(fake);
    assert.deepEqual(
      found.report.differences.map((d) => d.message),
      [
        `${SA} holds roles/bigquery.dataViewer on project ${PROJECT}, which the plan does not grant; ` +
          `remove it (gcloud projects remove-iam-policy-binding ${PROJECT} --member=serviceAccount:${SA} --role=roles/bigquery.dataViewer)`,
        `${SA} holds roles/bigquery.jobUser (condition weekdays) on project ${PROJECT}, which the plan does not grant; ` +
          `remove it (gcloud projects remove-iam-policy-binding ${PROJECT} --member=serviceAccount:${SA} --role=roles/bigquery.jobUser)`,
      ],
    );
    assert.deepEqual(found.fixes, []);
    fake.bindings = fake.bindings.filter((b) => b.role === "roles/owner");
    assert.deepEqual(await messages(fake), [`project-role: ${SA} lacks roles/bigquery.jobUser on project ${PROJECT} (pulumi up grants it)`]);
  });

  it("says each entry in words", () => {
    assert.equal(entryText({ role: "roles/bigquery.dataOwner", specialGroup: "projectOwners" }), "OWNER special group projectOwners");
    assert.equal(entryText({ routine: { projectId: "p", datasetId: "d", routineId: "r" } }), "authorized routine p.d.r");
    assert.equal(entryText({ dataset: { dataset: { projectId: "p", datasetId: "d" } } }), "authorized dataset p.d");
  });

  it("reads views at most VIEW_READS_AT_ONCE at a time, the answers in order", async () => {
    let inFlight = 0;
    let most = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    const answers = await readAll(items, async (i) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      return i * 2;
    });
    assert.deepEqual(
      answers,
      items.map((i) => i * 2),
    );
    assert.equal(most, VIEW_READS_AT_ONCE);
    assert.deepEqual(await readAll([], async () => 1), []);
  });
});
