/** The Pulumi program (stacks/index.ts) for `pulumi up -s prod`, under mocks: it plans the stack by name and deploys it. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { awsInvokes } from "./support/aws.ts";
import { installMocks } from "./support/mocks.ts";

const mocks = await installMocks({ invokes: awsInvokes, stack: "prod" });

describe("stacks/index.ts", { timeout: 60_000 }, () => {
  it("instantiates GovernedAccess for the stack named by pulumi.getStack() and exports its outputs", async () => {
    const program = await import("../../stacks/index.ts");
    await mocks.settle();
    mocks.one("dbwarden:aws:GovernedAccess", "dbwarden-prod");
    assert.deepEqual(Object.keys(program).sort(), ["apiKeysSecretArn", "loadBalancerDnsName", "logGroups", "mcpUrl", "replicaAddresses", "roleNames", "secretArns"]);
    const url = await new Promise((resolve) => program.mcpUrl.apply(resolve));
    assert.equal(url, "https://mcp.data.example.com/");
  });
});
