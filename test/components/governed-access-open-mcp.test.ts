/**
 * `dbwarden:aws:GovernedAccess` never opens the MCP load balancer to the whole internet: the spec
 * refuses an open `mcpServer.allowedCidrs` outright, and a target's `publicInternetJustification`
 * (which is about the database's network) must not lift that.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EXAMPLE_ACCOUNT } from "./support/aws.ts";
import { installMocks, type Mocks } from "../../src/testing/index.ts";
import { exampleCatalog, examplePlan } from "./support/plans.ts";

const mocks: Mocks = await installMocks({ account: EXAMPLE_ACCOUNT, stack: "prod" });
const { GovernedAccess, listenerCidrs } = await import("../../components/aws/index.ts");

describe("GovernedAccess: an MCP endpoint open to the internet", { timeout: 60_000 }, () => {
  for (const open of ["0.0.0.0/0", "::/0"]) {
    it(`refuses mcpServer.allowedCidrs ${open} even when a target carries a publicInternetJustification, before creating anything`, async () => {
      mocks.reset();
      const plan = structuredClone(examplePlan("prod"));
      plan.mcpServer.allowedCidrs = [open];
      plan.targets[0]!.network.publicInternetJustification = "partners query the database from their own offices";
      assert.throws(
        () => new GovernedAccess("open-mcp", { plan, catalog: exampleCatalog("prod") }),
        /mcpServer\.allowedCidrs.*opens the MCP service to the whole internet/,
      );
      await mocks.settle();
      assert.deepEqual(
        mocks.resources.map((r) => r.type),
        ["dbwarden:aws:GovernedAccess"],
      );
      assert.deepEqual(mocks.invokes, []);
    });
  }

  it("listenerCidrs refuses any /0 and names mcpServer.allowedCidrs", () => {
    for (const open of ["0.0.0.0/0", "::/0", "10.0.0.0/0"]) {
      assert.throws(
        () => listenerCidrs(["10.0.0.0/16", open], "mcpServer.allowedCidrs"),
        /^Error: mcpServer\.allowedCidrs: ".*" opens the MCP service to the whole internet/,
      );
    }
    assert.deepEqual(listenerCidrs(["10.0.0.0/16", "fd00::/8"], "mcpServer.allowedCidrs"), { ipv4: ["10.0.0.0/16"], ipv6: ["fd00::/8"] });
  });
});
