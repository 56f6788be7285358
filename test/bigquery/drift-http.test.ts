/**
 * BigQuery drift through the real clients (`@google-cloud/bigquery` for datasets and tables, the
 * REST call of Cloud Resource Manager's getIamPolicy) against a local HTTP double of the services,
 * and `dbwarden drift` end to end on the gcp stack's warehouse: no drift (exit 0), drift (exit 3),
 * `--fix` sending exactly one PATCH of the view dataset's list with `If-Match` at the etag read,
 * a concurrent change (412) said clearly with exit 1, and no credentials: exit 1 before any request.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { bigqueryIamClients } from "../../src/cli/commands/drift.ts";
import { detectBigQueryDrift, fixBigQueryDrift } from "../../src/bigquery/drift.ts";
import { applicationDefaultCredentials, bigqueryIam, ConcurrentChangeError } from "../../src/bigquery/iam.ts";
import { AS_OF, ROOT } from "../components/support/plans.ts";
import { gcpCatalog, gcpPlan } from "../gcp/support.ts";
import { BigQueryIamFake } from "../support/bigquery-iam-fake.ts";

const plan = gcpPlan("gcp");
const catalog = gcpCatalog("gcp");
const target = plan.targets.find((t) => t.name === "warehouse")!;
const PROJECT = "acme-data-prod";
const DATASET = "dbw_revops_pipeline_review";
const SA = "dbw-revops-pipeline-review@acme-data-prod.iam.gserviceaccount.com";
const TOKEN = "ya29.operator-token-must-not-show";
const authClient = { getRequestHeaders: async () => new Headers({ authorization: `Bearer ${TOKEN}` }) };
const DATASETS = `/bigquery/v2/projects/${PROJECT}/datasets`;

let fake: BigQueryIamFake;
let home: string;
let credentials: string;

before(() => {
  home = mkdtempSync(join(tmpdir(), "dbw-bq-drift-"));
  credentials = join(home, "adc.json");
  writeFileSync(credentials, "{}");
  bigqueryIamClients.open = (project) => bigqueryIam(project, { apiEndpoint: fake.url, resourceManagerEndpoint: fake.url, authClient });
});
after(() => rmSync(home, { recursive: true, force: true }));
beforeEach(async () => {
  await fake?.stop();
  fake = BigQueryIamFake.deployed(plan, target, catalog);
  await fake.start();
});
after(() => fake?.stop());

async function run(env: Record<string, string>, ...args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIO = { out: (t) => stdout.push(t), err: (t) => stderr.push(t), progress: (t) => stderr.push(t), now: () => AS_OF, cwd: ROOT, env };
  const code = await main(["drift", "--stack", "gcp", "--target", "warehouse", "--no-pulumi", ...args], io);
  return { code, out: stdout.join(""), err: stderr.join("") };
}
const withCredentials = () => ({ PATH: "/nonexistent", HOME: home, GOOGLE_APPLICATION_CREDENTIALS: credentials });

describe("BigQuery drift through the real clients", () => {
  it("reads every list, view and the project's policy with the client's own calls: no drift", async () => {
    const found = await detectBigQueryDrift(bigqueryIamClients.open(PROJECT), plan, target, catalog, "stacks/catalog/gcp.json");
    assert.deepEqual(found.report.differences, []);
    const seen = fake.requests.map((r) => `${r.method} ${r.path}`);
    // The views are read in parallel (readAll): their order of arrival is not the client's to keep.
    assert.deepEqual(
      [...seen.slice(0, 3), ...seen.slice(3, 6).sort(), ...seen.slice(6)],
      [
        `GET ${DATASETS}/${DATASET}`,
        `GET ${DATASETS}/${DATASET}/tables`,
        `GET ${DATASETS}/${DATASET}/tables`, // the second page (two tables a page)
        ...["marketing__campaigns", "sales__opportunities", "sales__orders"].map((t) => `GET ${DATASETS}/${DATASET}/tables/${t}`),
        `GET ${DATASETS}/marketing`,
        `GET ${DATASETS}/sales`,
        `POST /v1/projects/${PROJECT}:getIamPolicy`,
      ],
    );
    assert.deepEqual(fake.requests.at(-1)!.body, { options: { requestedPolicyVersion: 3 } });
  });

  it("--fix sends exactly one PATCH of the view dataset's list, with If-Match at the etag read", async () => {
    fake.dataset(DATASET).access.push({ role: "READER", groupByEmail: "everyone@acme.example" });
    const iam = bigqueryIamClients.open(PROJECT);
    const found = await detectBigQueryDrift(iam, plan, target, catalog, "stacks/catalog/gcp.json");
    const before = fake.requests.length;
    assert.equal(await fixBigQueryDrift(iam, found.fixes), 1);
    const sent = fake.requests.slice(before);
    assert.deepEqual(
      sent.map((r) => [r.method, r.path, r.ifMatch]),
      [["PATCH", `${DATASETS}/${DATASET}`, "etag-1"]],
    );
    assert.deepEqual(sent[0]!.body!.access, [
      { role: "READER", userByEmail: SA },
      { role: "OWNER", specialGroup: "projectOwners" },
    ]);
    assert.equal(fake.datasets.get(DATASET)!.etag, 2);
  });

  it("a list changed since it was read is not overwritten: ConcurrentChangeError naming the dataset", async () => {
    fake.dataset(DATASET).access.push({ role: "READER", domain: "acme.example" });
    const iam = bigqueryIamClients.open(PROJECT);
    const found = await detectBigQueryDrift(iam, plan, target, catalog, "stacks/catalog/gcp.json");
    fake.touch(DATASET, { role: "READER", userByEmail: "new-hire@acme.example" });
    await assert.rejects(fixBigQueryDrift(iam, found.fixes), (error: Error) => {
      assert.ok(error instanceof ConcurrentChangeError);
      assert.match(
        error.message,
        new RegExp(`^dataset ${PROJECT}:${DATASET} changed since drift read it \\(etag etag-1\\); nothing was written, run drift again$`),
      );
      return true;
    });
    assert.equal(fake.datasets.get(DATASET)!.access.length, 4, "the other change is kept");
    await assert.rejects(iam.setDatasetAccess(DATASET, [], ""), /was read without an etag; nothing was written/);
    assert.equal(fake.requests.filter((r) => r.method === "PATCH").length, 1, "only the refused PATCH above was sent");
  });
});

describe("dbwarden drift on a BigQuery target", () => {
  it("no drift: exit 0, the target's report", async () => {
    const r = await run(withCredentials());
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(r.out, `No drift: environment gcp, target warehouse (database ${PROJECT}) matches the access plan.\n`);
  });

  it("drift: exit 3, in text and --json, without the operator's token", async () => {
    fake.dataset(DATASET).access.push({ role: "READER", specialGroup: "allAuthenticatedUsers" });
    fake.bindings.push({ role: "roles/bigquery.admin", members: [`serviceAccount:${SA}`] });
    const r = await run(withCredentials());
    assert.equal(r.code, 3, r.out + r.err);
    assert.match(r.out, /^Drift found in environment gcp, target warehouse \(database acme-data-prod\): 2 differences from the access plan\./);
    assert.match(r.out, /admits READER special group allAuthenticatedUsers/);
    assert.match(r.out, /holds roles\/bigquery\.admin on project acme-data-prod/);
    const json = await run(withCredentials(), "--json");
    assert.equal(json.code, 3);
    const report = JSON.parse(json.out) as { drift: boolean; targets: Array<{ differences: Array<{ kind: string; fix: string[] }> }> };
    assert.equal(report.drift, true);
    assert.deepEqual(
      report.targets[0]!.differences.map((d) => [d.kind, d.fix]),
      [
        ["dataset-access", [`datasets.patch ${PROJECT}:${DATASET}: remove READER special group allAuthenticatedUsers`]],
        ["project-role", []],
      ],
    );
    assert.doesNotMatch(r.out + r.err + json.out + json.err, /operator-token/);
  });

  it("--fix: one PATCH with the etag, the report of what was removed and of the state after it (exit 0 when nothing is left)", async () => {
    fake.dataset(DATASET).access.push({ role: "WRITER", groupByEmail: "etl@acme.example" });
    const stale = { view: { projectId: PROJECT, datasetId: "dbw_old_workflow", tableId: "sales__orders" } };
    fake.dataset("sales").access.push(stale);
    const r = await run(withCredentials(), "--fix");
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(
      r.out,
      new RegExp(
        [
          "^Fixed in environment gcp, target warehouse \\(database acme-data-prod\\): 2 differences from the access plan removed, ",
          "2 dataset access lists written \\(datasets\\.patch, each only if unchanged since read\\):\n",
          "  - view dataset acme-data-prod:dbw_revops_pipeline_review admits WRITER group etl@acme\\.example[^\n]*\n",
          "  - source dataset acme-data-prod:sales still authorizes view acme-data-prod\\.dbw_old_workflow\\.sales__orders[^\n]*\n",
          "\nNo drift: ",
        ].join(""),
      ),
    );
    const patches = fake.requests.filter((q) => q.method === "PATCH");
    assert.deepEqual(
      patches.map((p) => [p.path, p.ifMatch]),
      [
        [`${DATASETS}/${DATASET}`, "etag-1"],
        [`${DATASETS}/sales`, "etag-1"],
      ],
    );
    assert.equal(
      (patches[1]!.body!.access as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(stale)),
      false,
    );
    assert.equal((patches[1]!.body!.access as unknown[]).length, fake.datasets.get("sales")!.access.length);
  });

  it("--fix where the list changed meanwhile: a clear error, exit 1, nothing overwritten", async () => {
    fake.dataset(DATASET).access.push({ role: "READER", domain: "acme.example" });
    fake.beforePatch = (dataset) => {
      fake.beforePatch = null;
      fake.touch(dataset, { role: "READER", userByEmail: "new-hire@acme.example" });
    };
    const r = await run(withCredentials(), "--fix");
    assert.equal(r.code, 1, r.out + r.err);
    assert.equal(
      r.err,
      `cannot fix drift on target warehouse (project ${PROJECT}): ` +
        `dataset ${PROJECT}:${DATASET} changed since drift read it (etag etag-1); nothing was written, run drift again`,
    );
    assert.equal(r.out, "");
    assert.equal(fake.datasets.get(DATASET)!.access.length, 4);
  });

  it("without Application Default Credentials: exit 1 saying what to run, before any request", async () => {
    const r = await run({ PATH: "/nonexistent", HOME: home });
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      "cannot check drift: target warehouse: no Application Default Credentials to read BigQuery's IAM with; " +
        "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a credentials file",
    );
    const missing = await run({ PATH: "/nonexistent", HOME: home, GOOGLE_APPLICATION_CREDENTIALS: join(home, "nope.json") });
    assert.equal(missing.code, 1);
    assert.match(missing.err, /GOOGLE_APPLICATION_CREDENTIALS names a file that does not exist/);
    assert.deepEqual(fake.requests, []);
    const gcloud = join(home, ".config", "gcloud");
    assert.equal(applicationDefaultCredentials({ HOME: home, CLOUDSDK_CONFIG: home }), null);
    writeFileSync(join(home, "application_default_credentials.json"), "{}");
    assert.equal(applicationDefaultCredentials({ HOME: home, CLOUDSDK_CONFIG: home }), join(home, "application_default_credentials.json"));
    assert.equal(applicationDefaultCredentials({ HOME: home }), null, `gcloud's own folder (${gcloud}) is empty`);
  });
});
