/**
 * The spec fields an AWS deployment adds, end to end through the loader and the planner: the MCP
 * image as a URI or `{ build: true }`, the host's egress, the primary's attestations and the
 * environment's owner, each with its default, and the errors a mistake in them gets (file, line,
 * what was expected).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { environmentOwner } from "../../src/plan/build.ts";
import { planStack } from "../../src/plan/index.ts";
import { validateInProject } from "../../src/spec/load.ts";
import { replaceOnce, tempProject } from "./support/project.ts";

const now = new Date("2026-01-15T12:00:00Z");
const PROD = "stacks/environments/prod.yaml";
const DEV = "stacks/environments/dev.yaml";
const problemsOf = (root: string) =>
  validateInProject([PROD, DEV], { cwd: root, now, expired: "error" }).problems.map((p) => `${p.file}:${p.line} ${p.path}: ${p.message}`);

test("the examples plan the image, egress, attestations and owner as their specs say", () => {
  const prod = planStack("prod", { now });
  assert.deepEqual(prod.mcpServer.image, { source: "build" });
  assert.equal(prod.owner, "data-platform");
  const host = prod.mcpServer.host;
  assert.equal(host.platform === "aws-ecs" && host.egress, "vpc-endpoints");
  assert.deepEqual(prod.targets[0]!.platformSettings, {
    platform: "aws-rds",
    region: "us-east-1",
    primaryIdentifier: "app-prod",
    adminSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds-admin-app-prod-AbCdEf",
    masterUserIamAuth: false,
    pgauditPreloaded: true,
  });
  const dev = planStack("dev", { now });
  assert.deepEqual(dev.mcpServer.image, { source: "registry", uri: "ghcr.io/dbwarden/mcp-server:0.2.0" });
  assert.equal(dev.mcpServer.host.platform === "aws-ecs" && dev.mcpServer.host.egress, "nat");
  assert.equal(dev.targets[0]!.platformSettings.platform === "aws-rds" && dev.targets[0]!.platformSettings.masterUserIamAuth, true);
  assert.equal(planStack("local", { now }).mcpServer.image, null);
});

test("defaults: egress through VPC endpoints, no attestation, the workflows' owners", (t) => {
  const project = tempProject({
    [PROD]: (text) =>
      replaceOnce("    egress: vpc-endpoints\n", "")(replaceOnce("owner: data-platform\n", "")(replaceOnce("      pgauditPreloaded: true\n", "")(text))),
  });
  t.after(project.remove);
  assert.deepEqual(problemsOf(project.root), []);
  const plan = planStack("prod", { root: project.root, now });
  assert.equal(plan.mcpServer.host.platform === "aws-ecs" && plan.mcpServer.host.egress, "vpc-endpoints");
  assert.equal(plan.targets[0]!.platformSettings.platform === "aws-rds" && plan.targets[0]!.platformSettings.pgauditPreloaded, false);
  assert.equal(plan.owner, [...new Set(plan.workflows.map((w) => w.owner))].sort().join("+"));
});

test("environmentOwner: the environment's, else the workflows' owners as fit a tag value, else the environment's name", () => {
  const env = { name: "prod", workflows: ["a", "b", "c"] };
  assert.equal(environmentOwner({ ...env, owner: "platform" }, []), "platform");
  assert.equal(
    environmentOwner(env, [
      { name: "a", owner: "finance" },
      { name: "b", owner: "cs" },
      { name: "c", owner: "finance" },
      { name: "off", owner: "other" },
    ]),
    "cs+finance",
  );
  const long = environmentOwner(env, [
    { name: "a", owner: "x".repeat(200) },
    { name: "b", owner: "y".repeat(100) },
  ]);
  assert.equal(long, "x".repeat(200), "whole names only, within 256 characters");
  assert.equal(environmentOwner({ name: "prod", workflows: [] }, []), "prod");
});

test("mistakes in the new fields are refused with the place and what was expected", (t) => {
  const project = tempProject({
    [DEV]: replaceOnce("  image: ghcr.io/dbwarden/mcp-server:0.2.0", "  image: 42"),
    [PROD]: (text) =>
      replaceOnce(
        "  image: { build: true }",
        "  image: { build: false }",
      )(
        replaceOnce(
          "    egress: vpc-endpoints",
          "    egress: internet",
        )(
          replaceOnce(
            "owner: data-platform",
            "owner: Data Platform (EMEA)",
          )(replaceOnce("      pgauditPreloaded: true", "      pgauditPreloaded: yes please")(text)),
        ),
      ),
  });
  t.after(project.remove);
  assert.deepEqual(problemsOf(project.root), [
    "stacks/environments/prod.yaml:7 owner: an owner is a team name of letters, digits, " +
      "spaces and _ . : / = + - @ (at most 256 characters): it becomes the `dbwarden:owner` tag",
    'stacks/environments/prod.yaml:18 targets.app.primary.pgauditPreloaded: expected boolean, got the text "yes please"',
    "stacks/environments/prod.yaml:43 mcpServer.image.build: boolean false is not allowed; expected true",
    'stacks/environments/prod.yaml:61 mcpServer.host.egress: the text "internet" is not allowed; expected one of "vpc-endpoints", "nat"',
    "stacks/environments/dev.yaml:38 mcpServer.image: unexpected number 42; an image is a URI such as " +
      '"123456789012.dkr.ecr.us-east-1.amazonaws.com/dbwarden-mcp:0.1.0", or `{ build: ' +
      "true }` to build mcp-server/ and push it to a registry the stack creates",
  ]);
});
