/** `dbwarden check` through the real bin, as `npx dbwarden check` runs it: output and exit codes. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ROOT, projectWithHandWrittenResources } from "../policy/support/project.ts";

const bin = join(ROOT, "bin/dbwarden.js");
const run = (cwd: string, ...args: string[]) => spawnSync(process.execPath, [bin, "check", ...args], { cwd, encoding: "utf8", timeout: 120_000 });

describe("dbwarden check", { timeout: 300_000 }, () => {
  const project = projectWithHandWrittenResources();
  after(() => project.remove());

  it("exits 0 on the prod example: no violation at all", () => {
    const r = run(ROOT, "--stack", "prod");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Policy check of stack "prod" as of \d{4}-\d{2}-\d{2}: dbwarden policy pack 0\.1\.0, 29 policies, 121 resources\./);
    assert.doesNotMatch(r.stdout, /owner-and-workflow-tags/);
    assert.match(r.stdout, /0 mandatory violations, 0 advisory violations, 0 not judged: passed\.\n$/);
  });

  it("exits 4 on a mandatory violation, printing resource, rule, why and fix", () => {
    const r = run(project.root, "--stack", "prod");
    assert.equal(r.status, 4, r.stderr);
    const section = r.stdout.slice(r.stdout.indexOf("MANDATORY no-open-ingress"));
    assert.match(
      section,
      /^MANDATORY no-open-ingress \(1 violation\)\n {2}- aws:vpc\/securityGroupIngressRule:SecurityGroupIngressRule debug-access: ingress rule admits 0\.0\.0\.0\/0 to port 5432: anyone on the internet can reach it\n {2}why: Databases and the MCP service are never reachable from the whole internet.*\n {2}fix: Replace 0\.0\.0\.0\/0/,
    );
    assert.match(
      r.stdout,
      /MANDATORY agent-grants-read-only \(1 violation\)\n {2}- postgresql:index\/grant:Grant analyst-shortcut: grants UPDATE on table billing\.invoices/,
    );
    assert.match(
      r.stdout,
      /MANDATORY owner-and-workflow-tags \(1 violation\)\n {2}- aws:vpc\/securityGroupIngressRule:SecurityGroupIngressRule debug-access: lacks tags dbwarden:owner, dbwarden:workflow\n/,
    );
    assert.match(r.stdout, /5 mandatory violations, 0 advisory violations, 0 not judged: FAILED \(a mandatory rule is violated\)\.\n$/);
    assert.equal(r.stderr, "");
  });

  it("--json prints the report as data, with the same exit code", () => {
    const r = run(project.root, "--stack", "prod", "--json");
    assert.equal(r.status, 4, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(report), [
      "apiVersion",
      "stack",
      "asOf",
      "pack",
      "deployed",
      "reason",
      "resources",
      "passed",
      "summary",
      "violations",
      "notJudged",
      "programNotes",
    ]);
    assert.equal(report.apiVersion, "policy-report.dbwarden.dev/v1");
    assert.deepEqual(report.summary, { mandatory: 5, advisory: 0, notJudged: 0 });
    const violation = report.violations[0];
    assert.deepEqual(Object.keys(violation), ["policy", "enforcementLevel", "severity", "resource", "message", "why", "fix"]);
    assert.deepEqual(violation.resource, {
      urn: "urn:pulumi:prod::dbwarden::postgresql:index/grant:Grant::analyst-shortcut",
      type: "postgresql:index/grant:Grant",
      name: "analyst-shortcut",
    });
    assert.equal(violation.enforcementLevel, "mandatory");
    assert.equal(violation.severity, "critical");
  });

  it("local: says the stack has no Pulumi deployment, exit 0", () => {
    const r = run(ROOT, "--stack", "local");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Policy check of stack "local": nothing to check\. Stack "local" runs on this machine/);
    const json = JSON.parse(run(ROOT, "--stack", "local", "--json").stdout);
    assert.equal(json.deployed, false);
  });

  it("an unknown stack is invalid input (exit 1), a wrong option a usage error (exit 2)", () => {
    const unknown = run(ROOT, "--stack", "staging");
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no environment for stack "staging" \(known stacks: dev, gcp-iam, gcp, local, mixed, prod, snowflake\)/);
    assert.equal(run(ROOT, "--bogus").status, 2);
  });
});
