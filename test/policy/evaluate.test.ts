/**
 * The in-process runner keeps the policy runtime's semantics (enforcement levels from config,
 * values unknown at preview, not-applicable validations), and the stand-ins are marked unknown
 * down to the values inside JSON documents.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { Grant } from "@pulumi/postgresql/grant.js";
import { Role } from "@pulumi/postgresql/role.js";
import { evaluatePolicies } from "../../src/policy/evaluate.ts";
import { STAND_IN, STAND_IN_CIDR, STAND_IN_INVOKES, UNKNOWN, markStandIns, standInInvoke } from "../../src/policy/standins.ts";
import { inputResource } from "./support/run.ts";

const grantOf = (role: string) =>
  inputResource({ type: Grant, name: `grant-${role}`, props: { role, database: "app", objectType: "table", privileges: ["SELECT"] } });
const role = inputResource({ type: Role, name: "role", props: { name: UNKNOWN } }, 1);

const noReaders: ResourceValidationPolicy = {
  name: "no-readers",
  description: "d",
  enforcementLevel: "mandatory",
  validateResource: validateResourceOfType(Grant, (grant, _args, report) => {
    if (grant.role === "reader") report("reader reads");
  }),
};
const namesKnown: ResourceValidationPolicy = {
  name: "names-known",
  description: "d",
  enforcementLevel: "mandatory",
  validateResource: [
    validateResourceOfType(Role, (r, _args, report) => {
      if (r.name!.length > 63) report("too long");
    }),
    validateResourceOfType(Grant, () => {}),
  ],
};
const countGrants: StackValidationPolicy = {
  name: "count-grants",
  description: "d",
  enforcementLevel: "advisory",
  validateStack: (args, report) => report(`${args.resources.filter((r) => r.isType(Grant)).length} grants`, args.resources[0]!.urn),
};

describe("evaluatePolicies", () => {
  it("reports violations with the policy's level, per resource, and stack violations on the named resource", async () => {
    const outcomes = await evaluatePolicies([grantOf("reader"), grantOf("writer"), role], [noReaders, countGrants]);
    assert.deepEqual(
      outcomes.map((o) => [o.policy, o.kind, o.enforcementLevel, o.resource?.name ?? null, o.message]),
      [
        ["no-readers", "violation", "mandatory", "grant-reader", "reader reads"],
        ["count-grants", "violation", "advisory", "grant-reader", "2 grants"],
      ],
    );
  });

  it("takes the enforcement level from config: the policy's entry, then `all`; disabled skips", async () => {
    const levels = async (config: object) => (await evaluatePolicies([grantOf("reader")], [noReaders], config as never)).map((o) => o.enforcementLevel);
    assert.deepEqual(await levels({ "no-readers": { enforcementLevel: "advisory" } }), ["advisory"]);
    assert.deepEqual(await levels({ "no-readers": "advisory" }), ["advisory"]);
    assert.deepEqual(await levels({ all: "advisory" }), ["advisory"]);
    assert.deepEqual(await levels({ all: "advisory", "no-readers": "remediate" }), ["mandatory"]);
    assert.deepEqual(await levels({ "no-readers": "disabled" }), []);
  });

  it("turns a value unknown at preview into an advisory 'not judged' outcome, and skips validations of other types", async () => {
    const outcomes = await evaluatePolicies([grantOf("reader"), role], [namesKnown]);
    assert.deepEqual(
      outcomes.map((o) => [o.kind, o.enforcementLevel, o.resource?.name, o.message]),
      [["unknown", "advisory", "role", "string value at .name can't be known during preview"]],
    );
  });

  it("gives each stack policy the whole stack, in order, whatever an earlier one did to its list", async () => {
    const emptying: StackValidationPolicy = {
      name: "emptying",
      description: "d",
      enforcementLevel: "advisory",
      validateStack: (args) => {
        args.resources.reverse();
        args.resources.length = 1;
      },
    };
    const naming: StackValidationPolicy = {
      name: "naming",
      description: "d",
      enforcementLevel: "advisory",
      validateStack: (args, report) => report(args.resources.map((r) => `${r.name}<-${r.dependencies.map((d) => d.name).join(",")}`).join(" ")),
    };
    const dependent = { ...grantOf("writer"), dependencies: [role.urn] };
    const outcomes = await evaluatePolicies([grantOf("reader"), role, dependent], [emptying, naming, emptying, naming]);
    assert.deepEqual(
      outcomes.map((o) => [o.policy, o.message]),
      [
        ["naming", "grant-reader<- role<- grant-writer<-role"],
        ["naming", "grant-reader<- role<- grant-writer<-role"],
      ],
    );
  });
});

describe("stand-ins", () => {
  it("answer the program's lookups with values that carry the marker, and refuse any other lookup", () => {
    const instance = standInInvoke("aws:rds/getInstance:getInstance", { dbInstanceIdentifier: "app-prod" });
    assert.match(String(instance.address), new RegExp(`^app-prod\\.${STAND_IN}\\.invalid$`));
    for (const token of Object.keys(STAND_IN_INVOKES)) {
      const answer = JSON.stringify(standInInvoke(token, { dbInstanceIdentifier: "x", secretId: "arn:aws:secretsmanager:x", id: "subnet-1" }));
      assert.ok(answer.includes(STAND_IN) || answer.includes(STAND_IN_CIDR), token);
    }
    assert.throws(() => standInInvoke("aws:iam/getPolicy:getPolicy", {}), /looks up aws:iam\/getPolicy:getPolicy, which dbwarden check has no stand-in for/);
  });

  it("become the unknown value, also inside JSON documents held in strings", () => {
    const runtime = JSON.stringify({ databases: { app: { host: `app.${STAND_IN}.invalid`, port: 5432 } }, listen: { trustedProxies: [STAND_IN_CIDR] } });
    const containers = JSON.stringify([{ name: "mcp", user: "10001:10001", environment: [{ name: "DBWARDEN_RUNTIME", value: runtime }] }]);
    const marked = markStandIns({ host: `app.${STAND_IN}.invalid`, port: 5432, containerDefinitions: containers, plain: "kept" }) as Record<string, string>;
    assert.equal(marked.host, UNKNOWN);
    assert.equal(marked.plain, "kept");
    const container = JSON.parse(marked.containerDefinitions!)[0];
    assert.equal(container.user, "10001:10001", "a value without a stand-in stays known");
    assert.deepEqual(JSON.parse(container.environment[0].value), { databases: { app: { host: UNKNOWN, port: 5432 } }, listen: { trustedProxies: [UNKNOWN] } });
  });

  it("leave lists and plain objects that hold none as they are, and copy those that do", () => {
    const known = { name: "app", tags: { team: "data" }, ports: [5432], nested: [{ cidr: "10.0.0.0/8" }] };
    assert.equal(markStandIns(known), known);
    const some = { kept: known.tags, hosts: ["a", `b.${STAND_IN}.invalid`] };
    const marked = markStandIns(some) as typeof some;
    assert.notEqual(marked, some);
    assert.equal(marked.kept, known.tags);
    assert.deepEqual(marked.hosts, ["a", UNKNOWN]);
    assert.deepEqual(some.hosts, ["a", `b.${STAND_IN}.invalid`], "the input is not changed");
    class Block {
      constructor(readonly size = 1) {}
    }
    const copied = markStandIns({ block: new Block() }) as { block: object };
    assert.deepEqual(Object.getPrototypeOf(copied.block), Object.prototype, "an object of a class is copied as plain data, as before");
  });
});
