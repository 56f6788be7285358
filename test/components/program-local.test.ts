/**
 * The Pulumi program (stacks/index.ts) for `pulumi up -s local`: the local stack's MCP server host
 * is `local`, which no Pulumi component deploys, so the program fails before creating anything,
 * naming the field, the environment file and what runs the local stack instead.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EXAMPLE_ACCOUNT } from "./support/aws.ts";
import { installMocks } from "../../src/testing/index.ts";

const mocks = await installMocks({ account: EXAMPLE_ACCOUNT, stack: "local" });
const pulumi = await import("@pulumi/pulumi");

describe("stacks/index.ts for a local-host stack", { timeout: 60_000 }, () => {
  it("fails with a clear message naming mcpServer.host.platform, the environment file and `npm start`, creating nothing", async () => {
    await assert.rejects(import("../../stacks/index.ts"), (error: Error) => {
      assert.ok(pulumi.RunError.isInstance(error), "a RunError: pulumi prints the message without a stack trace");
      assert.match(error.message, /^stacks\/environments\/local\.yaml: mcpServer\.host\.platform is "local", which no Pulumi component deploys/);
      assert.match(error.message, /runs on this machine with `npm start`/);
      assert.match(error.message, /set mcpServer\.host\.platform to aws-ecs or gcp-cloudrun\.$/);
      return true;
    });
    await mocks.settle();
    assert.deepEqual(mocks.resources, []);
    assert.deepEqual(mocks.invokes, []);
  });
});
