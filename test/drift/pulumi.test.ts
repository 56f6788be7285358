/**
 * The Pulumi side of drift: a fake `pulumi` on PATH emitting recorded `preview --json` output for
 * clean, drifted and failing cases; the verdict comes from the JSON, not the exit code alone; the
 * merge with the database side; no CLI; no Pulumi deployment (local).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { findPulumi, judgePreview, previewArgs, pulumiDrift } from "../../src/drift/pulumi.ts";
import { driftExitCode, formatStackDrift, mergeDrift } from "../../src/drift/report.ts";
import type { DriftReport } from "../../src/postgres/drift.ts";
import { examplePlan } from "../components/support/plans.ts";
import { PREVIEWS, fakePulumi } from "./support.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const prod = examplePlan("prod");
const sample = (name: string) => readFileSync(join(PREVIEWS, name), "utf8");
const cleanDatabase: DriftReport = { environment: "prod", target: "app", database: "app", drift: false, differences: [], notices: [] };

async function withFake(file: string, exitCode: number, stderr = "") {
  const fake = fakePulumi(file, exitCode, stderr);
  try {
    return { result: await pulumiDrift(prod, { root: ROOT, env: { PATH: `${fake.dir}:/usr/bin:/bin` } }), calls: fake.calls() };
  } finally {
    fake.remove();
  }
}

describe("pulumi side of drift", () => {
  it("runs a refreshing preview that expects no changes, as JSON, for the stack (never `refresh`, which writes state)", async () => {
    const { result, calls } = await withFake("drift-clean.json", 0);
    assert.deepEqual(calls, [["preview", "--refresh", "--expect-no-changes", "--json", "--non-interactive", "--stack", "prod"]]);
    assert.deepEqual(result.command, ["pulumi", ...previewArgs("prod")]);
    assert.equal(result.status, "clean");
    assert.equal(result.message, "Pulumi: no drift: every resource of stack prod matches the program.");
  });

  for (const code of [7, 255]) {
    it(`drift: exit ${code} with changed steps (newer CLIs exit 7, older 255)`, async () => {
      const { result } = await withFake("drift-changed.json", code);
      assert.equal(result.status, "drift");
      assert.equal(result.exitCode, code);
      assert.equal(result.message, "Pulumi: 2 resources of stack prod differ from the program (1 to create, 1 to update).");
      const text = formatStackDrift(mergeDrift("prod", [cleanDatabase], result));
      assert.match(
        text,
        /- update aws:vpc\/securityGroupIngressRule:SecurityGroupIngressRule dbwarden-prod-network-lb-in-0 \(cidrIpv4: 0\.0\.0\.0\/0 is deployed, the program says 10\.0\.0\.0\/16\)/,
      );
      assert.match(text, /- create postgresql:index\/grant:Grant dbw_cs_usage_drop-app-accounts/);
    });
  }

  it("the JSON decides, not the code: exit 0 with changed steps is drift, exit 255 without is a failure", () => {
    const command = ["pulumi", ...previewArgs("prod")];
    assert.equal(judgePreview("prod", command, { exitCode: 0, stdout: sample("drift-changed.json"), stderr: "" }).status, "drift");
    const failed = judgePreview("prod", command, { exitCode: 255, stdout: sample("drift-clean.json"), stderr: "error: something else" });
    assert.equal(failed.status, "failed");
    assert.match(failed.message, /reported no change: error: something else/);
  });

  it("a failing preview is a failure, its error scrubbed of credentials", async () => {
    const { result } = await withFake("drift-failed.json", 255);
    assert.equal(result.status, "failed");
    assert.match(
      result.message,
      /^pulumi preview failed \(exit 255\) and reported no change: error: failed to refresh dbwarden-prod-app-postgres: could not connect to postgres:\/\/dbwarden_admin:\[secret\]@app-prod/,
    );
    assert.ok(!result.message.includes("Pa55w0rd-leak"));
    assert.equal(driftExitCode(mergeDrift("prod", [cleanDatabase], result)), 1);
  });

  it("output that is not JSON is a failure naming the CLI's first error line", () => {
    const r = judgePreview("prod", ["pulumi"], { exitCode: 255, stdout: "", stderr: "\nerror: no stack named 'prod' found\n" });
    assert.equal(r.status, "failed");
    assert.equal(r.message, "pulumi preview failed (exit 255) without a readable result: error: no stack named 'prod' found");
  });

  it("without the CLI: says so in one line and does not fail the run", async () => {
    const result = await pulumiDrift(prod, { root: ROOT, env: { PATH: "/nonexistent" } });
    assert.equal(result.status, "no-cli");
    assert.equal(findPulumi({ PATH: "/nonexistent" }), null);
    const merged = mergeDrift("prod", [cleanDatabase], result);
    assert.equal(driftExitCode(merged), 0);
    assert.equal(
      formatStackDrift(merged)
        .split("\n")
        .filter((l) => l.startsWith("Pulumi side not checked")).length,
      1,
    );
  });

  it("the local stack has no Pulumi side: the CLI is not run", async () => {
    const fake = fakePulumi("drift-changed.json", 255);
    try {
      const result = await pulumiDrift(examplePlan("local"), { root: ROOT, env: { PATH: fake.dir } });
      assert.equal(result.status, "not-deployed");
      assert.deepEqual(fake.calls(), []);
    } finally {
      fake.remove();
    }
  });

  it("merges both sides into one verdict: drift on either side is exit 3", () => {
    const dbDrift: DriftReport = { ...cleanDatabase, drift: true };
    const pulumiClean = judgePreview("prod", ["pulumi"], { exitCode: 0, stdout: sample("drift-clean.json"), stderr: "" });
    const pulumiDrifted = judgePreview("prod", ["pulumi"], { exitCode: 7, stdout: sample("drift-changed.json"), stderr: "" });
    assert.equal(driftExitCode(mergeDrift("prod", [cleanDatabase], pulumiClean)), 0);
    assert.equal(driftExitCode(mergeDrift("prod", [dbDrift], pulumiClean)), 3);
    assert.equal(driftExitCode(mergeDrift("prod", [cleanDatabase], pulumiDrifted)), 3);
    assert.equal(driftExitCode(mergeDrift("prod", [cleanDatabase], null)), 0);
    assert.deepEqual(Object.keys(mergeDrift("prod", [cleanDatabase], pulumiClean)), ["environment", "drift", "targets", "pulumi"]);
  });
});
