/**
 * AWS name limits for the longest names the spec allows (48-character environment, target,
 * workflow and client names): every resource `dbwarden:aws:GovernedAccess` creates is named within
 * AWS's limit for its type, as AWS will see the name (fixed, `namePrefix` + 26 characters, or
 * Pulumi's auto-name + 8), and the preflight computes exactly those names.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { awsTagProblems, label, EXAMPLE_ACCOUNT } from "./support/aws.ts";
import { installMocks, type Mocks } from "../../src/testing/index.ts";
import { longestNamesPlan } from "./support/longest.ts";
import { exampleCatalog, examplePlan } from "./support/plans.ts";

const mocks: Mocks = await installMocks({ account: EXAMPLE_ACCOUNT, stack: "prod" });
const { GovernedAccess } = await import("../../components/aws/index.ts");
const { AWS_NAMED_TYPES, physicalNameLength, plannedAwsNames } = await import("../../components/aws-ecs/plannedNames.ts");
const { nameProblems } = await import("../../components/aws-ecs/preflight.ts");

const plans = [longestNamesPlan("iam"), longestNamesPlan("password")];
const plan = plans[0]!;

describe("AWS names at the longest the spec allows", { timeout: 60_000 }, () => {
  before(async () => {
    assert.equal(plan.environment.length, 48);
    assert.equal(plan.targets[0]!.name.length, 48);
    assert.ok(plan.workflows.every((w) => w.name.length === 48 && w.clients.every((c) => c.name.length === 48)));
    assert.ok(
      plans[1]!.workflows.every((w) => w.roles.logins.every((l) => `${l.role}_clone`.length === 63)),
      "rotated logins as long as their clone allows",
    );
    for (const each of plans) new GovernedAccess(`dbwarden-${each.environment}`, { plan: each, catalog: exampleCatalog("prod") });
    await mocks.settle();
  });

  it("names every resource within AWS's limit for its type", () => {
    const checked = mocks.resources.filter((r) => AWS_NAMED_TYPES[r.type]);
    assert.ok(checked.length > 50, `${checked.length} named resources`);
    assert.ok(mocks.byType("aws:serverlessrepository/cloudFormationStack:CloudFormationStack").length > 0, "the rotation's stack is among them");
    for (const resource of checked) {
      const length = physicalNameLength(resource.type, resource.name, resource.inputs)!;
      assert.ok(length <= AWS_NAMED_TYPES[resource.type]!.limit, `${label(resource)}: ${length} > ${AWS_NAMED_TYPES[resource.type]!.limit}`);
    }
  });

  it("tags every taggable AWS resource with its owner and workflow, at the longest names too", () => {
    assert.deepEqual(awsTagProblems(mocks.resources), []);
  });

  it("the preflight's names are the names the components give, type by type, and all within limits", () => {
    const planned = plans.flatMap((each) => plannedAwsNames(each, `dbwarden-${each.environment}`));
    for (const resource of mocks.resources.filter((r) => AWS_NAMED_TYPES[r.type])) {
      const length = physicalNameLength(resource.type, resource.name, resource.inputs)!;
      assert.ok(
        planned.some((n) => n.type === resource.type && n.length === length),
        `${label(resource)} (${length} characters) is among the preflight's names of ${resource.type}: ${planned
          .filter((n) => n.type === resource.type)
          .map((n) => n.length)
          .join(", ")}`,
      );
    }
    for (const each of plans) assert.deepEqual(nameProblems(each, `dbwarden-${each.environment}`), []);
    assert.deepEqual(nameProblems(examplePlan("prod"), "dbwarden-prod"), []);
  });

  it("reports a name over its limit, naming the field to shorten", () => {
    const problems = nameProblems(plan, "x".repeat(250));
    assert.ok(problems.length > 0);
    assert.match(
      problems[0]!,
      /^name \(the environment "enviam-x+"\): the MCP execution policy would be named with 272 characters, over AWS.s 128; shorten name/,
    );
  });
});
