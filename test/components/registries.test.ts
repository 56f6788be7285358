/**
 * The two registries that pick components: the top-level component per MCP server host
 * (components/hosts.ts) and the database access component per target engine
 * (components/targets.ts). Pure lookups: no mocks.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { HOST_PLATFORMS, TARGET_PLATFORMS, isPostgresPlatform, type AccessPlan, type TargetPlatform } from "../../src/plan/types.ts";
import { ACCESS_COMPONENTS, HOST_COMPONENTS, accessComponentOf, hostComponentOf } from "../../components/index.ts";
import { examplePlan } from "./support/plans.ts";

describe("HOST_COMPONENTS / hostComponentOf", () => {
  it("has an entry for every host platform of the capability table", () => {
    assert.deepEqual(Object.keys(HOST_COMPONENTS).sort(), Object.keys(HOST_PLATFORMS).sort());
  });

  it("deploys an aws-ecs host with dbwarden:aws:GovernedAccess", () => {
    for (const stack of ["prod", "dev"] as const) {
      const component = hostComponentOf(examplePlan(stack));
      assert.equal(component.type, "dbwarden:aws:GovernedAccess");
      assert.equal(typeof component.deploy, "function");
    }
  });

  it("refuses a local host with a RunError naming mcpServer.host.platform, the environment file and `npm start`", () => {
    assert.throws(
      () => hostComponentOf(examplePlan("local")),
      (error: Error) => {
        assert.ok(pulumi.RunError.isInstance(error));
        assert.equal(
          error.message,
          'stacks/environments/local.yaml: mcpServer.host.platform is "local", which no Pulumi component deploys: ' +
            "the local stack runs on this machine with `npm start` (`dbwarden up`), not with `pulumi up`. " +
            'To deploy stack "local" with `pulumi up`, set mcpServer.host.platform to aws-ecs or gcp-cloudrun.',
        );
        return true;
      },
    );
  });

  it("names the plan's own environment file", () => {
    const plan: AccessPlan = { ...examplePlan("prod"), mcpServer: { ...examplePlan("prod").mcpServer, host: { platform: "local" } } };
    assert.throws(() => hostComponentOf(plan), /^Error: stacks\/environments\/prod\.yaml: mcpServer\.host\.platform is "local"/);
  });
});

describe("ACCESS_COMPONENTS / accessComponentOf", () => {
  const platforms = Object.keys(TARGET_PLATFORMS) as TargetPlatform[];

  it("renders every postgres-family target with dbwarden:postgres:ReadOnlyAccess", () => {
    const postgresFamily = platforms.filter(isPostgresPlatform);
    assert.deepEqual(postgresFamily, ["postgres", "aws-rds", "gcp-cloudsql"]);
    for (const platform of postgresFamily) {
      const component = accessComponentOf({ name: "db", platform });
      assert.equal(component, ACCESS_COMPONENTS.postgres);
      assert.equal(component.type, "dbwarden:postgres:ReadOnlyAccess");
    }
  });

  it("renders every target platform: each engine has its access component", () => {
    assert.equal(accessComponentOf({ name: "warehouse", platform: "snowflake" }).type, "dbwarden:snowflake:ReadOnlyAccess");
    assert.equal(accessComponentOf({ name: "events", platform: "bigquery" }).type, "dbwarden:bigquery:ReadOnlyAccess");
  });
});
