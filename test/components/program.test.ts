/**
 * The Pulumi program (stacks/index.ts) for `pulumi up -s prod`, under mocks: it plans the stack by
 * name and deploys it with the component its MCP server host maps to (components/hosts.ts).
 * The local-host stack's refusal is in program-local.test.ts (one stack name per process).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { awsInvokes, awsOutputs } from "./support/aws.ts";
import { installMocks } from "./support/mocks.ts";
import { examplePlan } from "./support/plans.ts";

const mocks = await installMocks({ invokes: awsInvokes, outputs: awsOutputs, stack: "prod" });
const { hostComponentOf } = await import("../../components/hosts.ts");

describe("stacks/index.ts", { timeout: 60_000 }, () => {
  it("instantiates GovernedAccess for the stack named by pulumi.getStack() and exports its outputs", async () => {
    const program = await import("../../stacks/index.ts");
    await mocks.settle();
    mocks.one("dbwarden:aws:GovernedAccess", "dbwarden-prod");
    const top = mocks.resources.filter((r) => !r.parent);
    assert.deepEqual(
      top.map((r) => r.type),
      [hostComponentOf(examplePlan("prod")).type],
      "one top-level component: the one the plan's host maps to",
    );
    assert.deepEqual(Object.keys(program).sort(), ["apiKeysSecretId", "endpointHostname", "logGroups", "mcpUrl", "replicaAddresses", "roleNames", "secretIds"]);
    const url = await new Promise((resolve) => program.mcpUrl.apply(resolve));
    assert.equal(url, "https://mcp.data.example.com/mcp");
  });
});
