/**
 * The Pulumi program (stacks/index.ts) runs the host's preflight before it creates anything: with
 * a primary AWS would refuse to replicate (unencrypted, no backups), `pulumi up -s prod` fails at
 * preview with every problem, naming the spec fields, and no resource is registered.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EXAMPLE_ACCOUNT } from "./support/aws.ts";
import { installMocks } from "../../src/testing/index.ts";

// The examples' account, with primaries AWS would refuse to replicate: one fact changed each.
const mocks = await installMocks({ account: { ...EXAMPLE_ACCOUNT, rds: { storageEncrypted: false, backupRetentionPeriod: 0 } }, stack: "prod" });
const pulumi = await import("@pulumi/pulumi");

describe("stacks/index.ts preflight", { timeout: 60_000 }, () => {
  it("fails before creating anything, listing every problem with the environment file", async () => {
    await assert.rejects(import("../../stacks/index.ts"), (error: Error) => {
      assert.ok(pulumi.RunError.isInstance(error), "a RunError: pulumi prints it without a stack trace");
      assert.match(error.message, /^stacks\/environments\/prod\.yaml: the preflight found 2 problems before creating anything:\n/);
      assert.match(error.message, /targets\.app\.primary\.identifier: "app-prod" stores its data unencrypted/);
      assert.match(error.message, /targets\.app\.primary\.identifier: "app-prod" keeps no automated backups/);
      return true;
    });
    await mocks.settle();
    assert.deepEqual(mocks.resources, [], "nothing registered, not even the top-level component");
    assert.deepEqual([...new Set(mocks.invokes.map((i) => i.token))].sort(), [
      "aws:ec2/getSubnet:getSubnet",
      "aws:ec2/getVpc:getVpc",
      "aws:rds/getInstance:getInstance",
      "aws:secretsmanager/getSecretVersion:getSecretVersion",
    ]);
  });
});
