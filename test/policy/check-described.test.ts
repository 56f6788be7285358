/**
 * `dbwarden check` takes the access components' children from the list they describe
 * (components/postgres/children.ts) instead of registering them through the Pulumi SDK. That list
 * must give exactly what the SDK records: type, name, URN, inputs as policies see them, options,
 * parent, provider, dependencies and property dependencies, for the example programs (the whole
 * program: the rest is still recorded by the SDK) and for the component alone with what the
 * examples do not exercise (PUBLIC taken away, default privileges, outputs as inputs). And the
 * report is the same either way.
 */
import { planStack } from "../../src/plan/index.ts";
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { GRANT_LIKE_TYPES } from "../../components/postgres/children.ts";
import type { PolicyInputResource } from "../../src/policy/args.ts";
import { checkStack, PROJECT } from "../../src/policy/check.ts";
import { recordProgram } from "../../src/policy/record.ts";
import { evaluatePolicies } from "../../src/policy/evaluate.ts";
import { packConfig, planFacts } from "../../src/policy/facts.ts";
import { policies } from "../../policies/policies.ts";
import { AS_OF, ROOT, exampleCatalog, examplePlan } from "../components/support/plans.ts";

let runs = 0;

/** The recording, in a comparable form: by URN, dependencies as sets (their order is the SDK's walk, read by nobody). */
function comparable(resources: readonly PolicyInputResource[]) {
  return [...resources].map((r) => ({ ...r, dependencies: [...r.dependencies].sort() })).sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
}

async function recordStack(stack: "prod" | "dev" | "gcp", describeAccessComponents: boolean) {
  const program = `${pathToFileURL(join(ROOT, "stacks", "index.ts")).href}?check-described=${++runs}`;
  const region = { prod: "us-east-1", dev: "eu-west-1", gcp: "europe-west1" }[stack];
  // The stand-in lookups answer as an account matching the stack's plan would (the program's preflight checks them).
  return recordProgram(() => import(program), {
    project: PROJECT,
    stack,
    region,
    plan: planStack(stack, { root: ROOT, now: AS_OF }),
    describeAccessComponents,
  });
}

describe("check: the described children are exactly what the SDK records", { timeout: 120_000 }, () => {
  for (const stack of ["prod", "dev"] as const) {
    it(`the whole ${stack} program: the same resources, inputs, options and dependencies`, async () => {
      const viaSdk = await recordStack(stack, false);
      const described = await recordStack(stack, true);
      assert.ok(viaSdk.resources.some((r) => r.type === "postgresql:index/grant:Grant"));
      assert.deepEqual(comparable(described.resources), comparable(viaSdk.resources));
      assert.deepEqual(described.logs, viaSdk.logs);
      // The described children follow their provider, in the order the component creates them.
      const provider = described.resources.findIndex((r) => r.type === "pulumi:providers:postgresql");
      const children = described.resources.filter((r) => r.type.startsWith("postgresql:index/")).map((r) => r.name);
      assert.deepEqual(
        described.resources.slice(provider + 1, provider + 1 + children.length).map((r) => r.name),
        children,
      );
    });
  }

  it("the whole gcp program: BigQuery's described children (all but each workflow's service account) are what the SDK records", async () => {
    const viaSdk = await recordStack("gcp", false);
    const described = await recordStack("gcp", true);
    for (const type of ["gcp:bigquery/dataset:Dataset", "gcp:bigquery/table:Table", "gcp:bigquery/datasetAccess:DatasetAccess", "postgresql:index/grant:Grant"])
      assert.ok(
        viaSdk.resources.some((r) => r.type === type),
        type,
      );
    assert.deepEqual(comparable(described.resources), comparable(viaSdk.resources));
    assert.deepEqual(described.logs, viaSdk.logs);
    // (The SDK's order of these is its own, by when each input resolves: compared by URN, as policies read them.)
    // The MCP service waits for every one of them (a dependency on the component is one on all its children).
    const service = (resources: readonly PolicyInputResource[]) =>
      resources.find((r) => r.type === "gcp:cloudrunv2/service:Service" && r.name === "dbwarden-gcp-mcp")!;
    const views = described.resources.find((r) => r.type === "gcp:bigquery/table:Table")!.urn;
    assert.ok(service(described.resources).dependencies.includes(views));
  });

  it("the component alone with PUBLIC taken away, passwords and the admin's name as outputs", async () => {
    const plan = examplePlan("prod");
    plan.targets[0]!.publicPrivileges = { revoke: "a database of its own, for this test: nothing else uses it" };
    const logins = plan.workflows.flatMap((w) => w.roles.logins.map((l) => l.role));
    const program = async () => {
      const { PostgresReadOnlyAccess } = await import("../../components/postgres/readOnlyAccess.ts");
      new PostgresReadOnlyAccess("alone", {
        plan,
        target: "app",
        catalog: exampleCatalog("prod"),
        connection: { host: pulumi.output("db.example.com"), username: pulumi.secret("admin"), password: pulumi.secret("x"), superuser: false },
        passwords: Object.fromEntries(logins.map((l) => [l, { value: pulumi.secret(`pw-${l}`), version: "1" }])),
        extensions: ["pgaudit"],
        functionOwners: ["app_owner"],
      });
    };
    const options = { project: PROJECT, stack: "prod", region: "us-east-1" };
    const viaSdk = await recordProgram(program, options);
    const described = await recordProgram(program, { ...options, describeAccessComponents: true });
    assert.ok(viaSdk.resources.some((r) => r.type === "postgresql:index/defaultPrivileges:DefaultPrivileges"));
    assert.ok(viaSdk.resources.some((r) => r.type === "postgresql:index/role:Role" && typeof r.props.passwordWo === "string"));
    assert.deepEqual(comparable(described.resources), comparable(viaSdk.resources));
    // And the pack finds nothing wrong in taking PUBLIC's defaults away (empty privileges on routines,
    // default privileges); alone, without the AWS side, the logins' passwords have no rotated secret.
    const outcomes = await evaluatePolicies(described.resources, policies, packConfig(planFacts(plan, { asOf: AS_OF }), {}, policies));
    assert.deepEqual(
      outcomes.filter((o) => o.policy !== "password-rotation").map((o) => [o.policy, o.message]),
      [],
    );
    assert.equal(outcomes.length, logins.length);
  });

  it("prod's recorded grant-like resources form one chain on the database", async () => {
    const { resources } = await recordStack("prod", true);
    const grantLike = resources.filter((r) => GRANT_LIKE_TYPES.has(r.type));
    const urns = new Set(grantLike.map((r) => r.urn));
    grantLike.forEach((r, i) =>
      assert.deepEqual(
        r.dependencies.filter((d) => urns.has(d)),
        i === 0 ? [] : [grantLike[i - 1]!.urn],
        r.name,
      ),
    );
    assert.equal(grantLike[0]!.type, "postgresql:index/extension:Extension");
  });

  it("the report of checkStack is the same either way", async () => {
    for (const stack of ["prod", "dev", "gcp"] as const) {
      const described = await checkStack(stack, { root: ROOT, now: AS_OF });
      const viaSdk = await checkStack(stack, { root: ROOT, now: AS_OF, describeAccessComponents: false });
      assert.deepEqual(described, viaSdk);
    }
  });
});
