/**
 * The GitHub Actions workflows (.github/workflows): each parses with GitHub's own parser
 * (@actions/workflow-parser) without errors, and holds what matters: least-privilege permissions,
 * actions pinned to commits, concurrency groups, one sticky review comment, previews and drift
 * for every stack Pulumi deploys, never `pulumi refresh` (it writes state), the image scanned
 * before it is pushed and deployed, prod behind its environment after dev.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { NoOperationTraceWriter, convertWorkflowTemplate, parseWorkflow } from "@actions/workflow-parser";
import { parse } from "yaml";
import { notDeployedReason } from "../../src/policy/check.ts";
import { listStacks } from "../../src/spec/load.ts";
import { planStack } from "../../src/plan/index.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const DIR = join(ROOT, ".github/workflows");
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith(".yml"))
  .sort();

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
  name?: string;
  id?: string;
}
interface Job {
  permissions?: Record<string, string> | string;
  environment?: string;
  needs?: string | string[];
  steps: Step[];
  strategy?: { matrix?: { stack?: string[] } };
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  concurrency: { group: string; "cancel-in-progress": boolean };
  jobs: Record<string, Job>;
}

const text = (file: string) => readFileSync(join(DIR, file), "utf8");
const workflow = (file: string) => parse(text(file)) as Workflow;
const steps = (file: string) => Object.values(workflow(file).jobs).flatMap((j) => j.steps);
/** Stacks that Pulumi deploys (not the local one). */
const deployed = listStacks(ROOT).filter((s) => notDeployedReason(planStack(s, { root: ROOT, now: new Date("2026-01-15T00:00:00Z") })) === null);

/** Write scopes each job may hold, by file and job. Everything else is read or none. */
const WRITE_ALLOWED: Record<string, Record<string, string[]>> = {
  "pull-request.yml": { preview: ["id-token"], review: ["pull-requests"] },
  "drift.yml": { drift: ["issues", "id-token"] },
  "deploy.yml": { image: ["id-token"], "deploy-dev": ["id-token"], "deploy-prod": ["id-token"] },
  "release.yml": { image: ["packages"], npm: ["id-token"], "github-release": ["contents"] },
};

describe("GitHub workflows", () => {
  it("are the four expected files", () => assert.deepEqual(FILES, ["deploy.yml", "drift.yml", "pull-request.yml", "release.yml"]));

  for (const file of FILES) {
    it(`${file} parses with GitHub's workflow parser, no errors`, async () => {
      const parsed = parseWorkflow({ name: file, content: text(file) }, new NoOperationTraceWriter());
      assert.deepEqual(
        parsed.context.errors.getErrors().map((e) => e.message),
        [],
      );
      const template = await convertWorkflowTemplate(parsed.context, parsed.value!);
      assert.deepEqual(
        (template.errors ?? []).map((e) => e.Message),
        [],
      );
      assert.deepEqual(template.jobs.map((j) => j.id.value).sort(), Object.keys(workflow(file).jobs).sort());
    });

    it(`${file}: least privilege (read by default, each write scope where it is needed)`, () => {
      const wf = workflow(file);
      assert.deepEqual(wf.permissions, { contents: "read" });
      for (const [name, job] of Object.entries(wf.jobs)) {
        const perms = job.permissions ?? {};
        assert.equal(typeof perms, "object", `${name}: no write-all / read-all shorthand`);
        const writes = Object.entries(perms)
          .filter(([, level]) => level === "write")
          .map(([scope]) => scope)
          .sort();
        assert.deepEqual(writes, [...(WRITE_ALLOWED[file]?.[name] ?? [])].sort(), `${file} ${name}`);
      }
    });

    it(`${file}: every action pinned to a full commit, its version in a comment`, () => {
      const uses = text(file)
        .split("\n")
        .filter((l) => /^\s*(-\s+)?uses:/.test(l));
      assert.ok(uses.length > 0);
      for (const line of uses) assert.match(line, /uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*$/, line.trim());
    });

    it(`${file}: has a concurrency group, no pull_request_target, no untrusted event text in scripts`, () => {
      const wf = workflow(file);
      assert.match(wf.concurrency.group, /\S/);
      assert.ok(!("pull_request_target" in wf.on));
      for (const step of steps(file)) if (step.run) assert.doesNotMatch(step.run, /\$\{\{\s*github\.(event|head_ref)/, `${file}: ${step.run.slice(0, 60)}`);
    });
  }

  it("pull requests: validate, test, check every stack, preview each deployed stack with the policy pack, one sticky comment", () => {
    const wf = workflow("pull-request.yml");
    assert.equal(wf.concurrency["cancel-in-progress"], true);
    const runs = wf.jobs.test!.steps.map((s) => s.run ?? "").join("\n");
    for (const command of ["npx dbwarden validate", "npm test", "npx dbwarden check --stack"]) assert.ok(runs.includes(command), command);
    assert.deepEqual(wf.jobs.preview!.strategy!.matrix!.stack, deployed);
    const preview = wf.jobs.preview!.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    assert.equal(preview.with!.command, "preview");
    assert.equal(preview.with!.policyPacks, "policies");
    assert.equal(preview.with!["comment-on-pr"], false, "pulumi's own comment would be a second one");
    assert.ok(wf.jobs.preview!.steps.some((s) => s.run?.includes("pulumi preview --json")));
    const review = wf.jobs.review!;
    assert.deepEqual(review.needs, ["test", "preview"]);
    assert.ok(review.steps.some((s) => s.with?.["fetch-depth"] === 0));
    const commenters = steps("pull-request.yml").filter((s) => s.run?.includes(".github/scripts/github.ts comment"));
    assert.equal(commenters.length, 1);
    assert.ok(!steps("pull-request.yml").some((s) => s.with?.["comment-on-pr"] === true));
  });

  it("pull requests: the review is computed by the base branch's dbwarden, installed from the base, never by the change's code", () => {
    const review = workflow("pull-request.yml").jobs.review!.steps as Array<Step & { "working-directory"?: string }>;
    const at = (found: (s: Step & { "working-directory"?: string }) => boolean, what: string) => {
      const index = review.findIndex(found);
      assert.ok(index >= 0, what);
      return index;
    };
    const checkout = at((s) => s.uses?.startsWith("actions/checkout@") === true && s.with?.path === "head", "the change is checked out into head/");
    const base = at(
      (s) => /git -C head worktree add --detach \.\.\/base "\$\(git -C head rev-parse HEAD\^1\)"/.test(s.run ?? ""),
      "the base commit into base/",
    );
    const install = at((s) => s["working-directory"] === "base" && s.run === "npm ci", "installed from the base's lockfile");
    const run = at(
      (s) => s["working-directory"] === "head" && /node \.\.\/base\/bin\/dbwarden\.js review --base HEAD\^1 --no-check /.test(s.run ?? ""),
      "the base's bin",
    );
    const comment = at(
      (s) => s["working-directory"] === "base" && /^node --import tsx \.github\/scripts\/github\.ts comment /.test(s.run ?? ""),
      "the base's script",
    );
    assert.ok(checkout < base && base < install && install < run && run < comment);
    // Nothing of the change runs in this job: no install in head/, no npx (it would run head's bin).
    for (const step of review) {
      assert.doesNotMatch(step.run ?? "", /\bnpx /, `${step.name ?? step.run}`);
      if (/npm (ci|install)/.test(step.run ?? "")) assert.equal(step["working-directory"], "base");
    }
    assert.match(review[run]!.run!, /--check-json "\$file"/, "the head's policy reports come in as data");
    const test = workflow("pull-request.yml").jobs.test!.steps;
    assert.ok(test.some((s) => s.run?.includes('npx dbwarden check --stack "$stack" --json > "checks/check-$stack.json"')));
    assert.ok(test.some((s) => s.uses?.startsWith("actions/upload-artifact@") && s.with?.name === "checks"));
  });

  it("drift: scheduled per deployed stack, issue per environment, never `pulumi refresh`", () => {
    const wf = workflow("drift.yml");
    assert.ok("schedule" in wf.on);
    assert.equal(wf.concurrency["cancel-in-progress"], false);
    assert.deepEqual(wf.jobs.drift!.strategy!.matrix!.stack, deployed);
    const all = steps("drift.yml");
    assert.ok(all.some((s) => s.run?.includes('npx dbwarden drift --stack "$STACK"')));
    assert.ok(all.some((s) => s.run?.includes(".github/scripts/github.ts drift-issue")));
    const pulumi = all.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    assert.equal(pulumi.with, undefined, "the action only installs the CLI here");
    for (const file of FILES) {
      assert.doesNotMatch(text(file), /pulumi refresh/);
      assert.ok(!steps(file).some((s) => s.with?.command === "refresh"), file);
    }
  });

  it("deploy: the image is built, scanned, then pushed; dev, then prod behind its environment", () => {
    const wf = workflow("deploy.yml");
    assert.equal(wf.concurrency["cancel-in-progress"], false);
    const image = wf.jobs.image!.steps;
    const scan = image.findIndex((s) => s.uses?.startsWith("aquasecurity/trivy-action@"));
    const push = image.findIndex((s) => s.uses?.startsWith("docker/build-push-action@") && s.with?.push === true);
    const build = image.findIndex((s) => s.uses?.startsWith("docker/build-push-action@") && s.with?.push === false);
    assert.ok(build >= 0 && build < scan && scan < push, "build, scan, push in that order");
    assert.equal(image[scan]!.with!["exit-code"], "1");
    assert.equal(image.find((s) => s.uses?.startsWith("docker/login-action@"))!.with!.registry, "${{ vars.MCP_IMAGE_REGISTRY }}");
    assert.equal(wf.jobs["deploy-dev"]!.environment, "dev");
    assert.equal(wf.jobs["deploy-prod"]!.environment, "prod");
    assert.deepEqual(wf.jobs["deploy-prod"]!.needs, ["image", "deploy-dev"]);
    for (const job of ["deploy-dev", "deploy-prod"]) {
      const up = wf.jobs[job]!.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
      assert.equal(up.with!.command, "up");
      assert.equal(up.with!.policyPacks, "policies");
    }
  });
});
