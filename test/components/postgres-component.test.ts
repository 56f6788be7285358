/** `dbwarden:postgres:ReadOnlyAccess` under Pulumi mocks: every resource, its inputs and options. */
import { loginConnectionLimit } from "../../src/postgres/model.ts";
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccessPlan } from "../../src/plan/types.ts";
import { GRANT_LIKE_TYPES } from "../../components/postgres/children.ts";
import { installMocks, isSecretValue, type Mocks, type RecordedResource } from "../../src/testing/index.ts";
import { exampleCatalog, examplePlan } from "./support/plans.ts";

const mocks: Mocks = await installMocks();
const pulumi = await import("@pulumi/pulumi");
const { PostgresReadOnlyAccess } = await import("../../components/postgres/index.ts");

const plan = examplePlan("prod");
const catalog = exampleCatalog("prod");
const PASSWORD = "initial-password-that-must-not-leak";

describe("PostgresReadOnlyAccess", { timeout: 30_000 }, () => {
  let component: InstanceType<typeof PostgresReadOnlyAccess>;
  before(async () => {
    const logins = plan.workflows.flatMap((w) => w.roles.logins.map((l) => l.role));
    component = new PostgresReadOnlyAccess("app", {
      plan,
      target: "app",
      catalog,
      connection: { host: "app-prod.abc.us-east-1.rds.amazonaws.com", username: "admin", password: "admin-password", superuser: false },
      // prod: aws-rds with rotated passwords, so every login gets its alternate `_clone` login.
      passwords: Object.fromEntries(logins.map((l) => [l, { value: PASSWORD, version: "1" }])),
      extensions: ["pgaudit"],
    });
    await mocks.settle();
  });

  it("registers a component with the dbwarden type token, parenting every child", () => {
    const self = mocks.one("dbwarden:postgres:ReadOnlyAccess", "app");
    const children = mocks.resources.filter((r) => r !== self);
    assert.ok(children.length > 0);
    for (const child of children) assert.equal(child.parent, self.urn, `${child.type} ${child.name} parent`);
  });

  it("connects the provider to the primary's address as a non-superuser, password secret", () => {
    const provider = mocks.one("pulumi:providers:postgresql", "app-primary");
    assert.equal(provider.inputs.host, "app-prod.abc.us-east-1.rds.amazonaws.com");
    assert.equal(provider.inputs.superuser, "false"); // provider inputs are sent as strings
    assert.equal(provider.inputs.database, "app");
    assert.equal(provider.inputs.sslmode, "verify-full");
    assert.ok(isSecretValue(provider.inputs.password), "admin password is secret");
  });

  it("creates every role with the planned attributes through that provider", () => {
    const provider = mocks.one("pulumi:providers:postgresql", "app-primary");
    const roles = mocks.byType("postgresql:index/role:Role");
    assert.equal(
      roles.length,
      plan.workflows.reduce((n, w) => n + 1 + 2 * w.roles.logins.length, 0),
    );
    for (const workflow of plan.workflows) {
      const group = mocks.one("postgresql:index/role:Role", workflow.roles.group);
      assert.equal(group.provider, `${provider.urn}::${provider.name}-id`);
      assert.equal(group.inputs.login, false);
      assert.deepEqual(group.inputs.roles, []);
      assert.equal(group.inputs.superuser, false);
      assert.equal(group.inputs.passwordWo, undefined);
      for (const login of workflow.roles.logins) {
        for (const name of [login.role, `${login.role}_clone`]) {
          const role = mocks.one("postgresql:index/role:Role", name);
          assert.equal(role.provider, group.provider);
          assert.equal(role.inputs.login, true);
          assert.equal(role.inputs.inherit, true);
          assert.deepEqual(role.inputs.roles, [workflow.roles.group]);
          assert.ok(role.dependsOn.includes(group.urn), "login waits for its group");
          assert.equal(role.inputs.connectionLimit, loginConnectionLimit(plan, workflow));
          assert.equal(role.inputs.statementTimeout, workflow.limits.statementTimeoutMs);
          for (const flag of ["superuser", "createDatabase", "createRole", "replication", "bypassRowLevelSecurity"]) {
            assert.equal(role.inputs[flag], false, `${name}.${flag}`);
          }
        }
        const login_ = mocks.one("postgresql:index/role:Role", login.role);
        assert.ok(isSecretValue(login_.inputs.passwordWo), "passwordWo is secret");
        assert.equal(login_.inputs.passwordWoVersion, "1");
        assert.equal(login_.inputs.password, undefined, "never the stateful password field");
        assert.equal(mocks.one("postgresql:index/role:Role", `${login.role}_clone`).inputs.passwordWo, undefined);
      }
    }
  });

  it("creates exactly the planned grants, delete-before-replace, chained per role", () => {
    const grants = mocks.byType("postgresql:index/grant:Grant");
    assert.equal(grants.length, component.model.grants.length + component.model.publicGrants.length);
    for (const workflow of plan.workflows) {
      const mine = component.model.grants.filter((g) => g.role === workflow.roles.group);
      const group = mocks.one("postgresql:index/role:Role", workflow.roles.group);
      let previous: string | null = null;
      for (const expected of mine) {
        const grant = mocks.one("postgresql:index/grant:Grant", expected.resourceName);
        assert.equal(grant.deleteBeforeReplace, true, `${grant.name} deleteBeforeReplace`);
        assert.equal(grant.provider, group.provider);
        assert.equal(grant.inputs.role, workflow.roles.group);
        assert.equal(grant.inputs.objectType, expected.objectType);
        assert.deepEqual(grant.inputs.privileges, expected.privileges);
        assert.equal(grant.inputs.withGrantOption, false);
        assert.deepEqual(grant.inputs.objects, expected.objects.length ? expected.objects : undefined);
        assert.deepEqual(grant.inputs.columns, expected.columns ?? undefined);
        assert.ok(grant.dependsOn.includes(group.urn));
        if (previous) assert.ok(grant.dependsOn.includes(previous), `${grant.name} waits for ${previous}`);
        previous = grant.urn;
      }
    }
  });

  it("leaves PUBLIC alone on a shared primary (prod's spec does not say why it may be changed)", () => {
    assert.equal(component.model.public.mode, "leave");
    assert.deepEqual(component.model.publicGrants, []);
    const touchingPublic = mocks.resources.filter((r) => r.inputs.role === "public");
    assert.deepEqual(
      touchingPublic.map((r) => r.name),
      [],
      "no Grant or DefaultPrivileges of PUBLIC",
    );
    assert.deepEqual(mocks.byType("postgresql:index/defaultPrivileges:DefaultPrivileges"), []);
  });

  it("chains every grant-like resource on the database: each waits for exactly the previous one", () => {
    const chain = grantLikeChain(mocks.resources);
    assert.deepEqual(chain.map((r) => r.type)[0], "postgresql:index/extension:Extension", "the extension first");
    assert.equal(chain.length, 1 + component.model.grants.length);
  });

  it("creates pgaudit on the primary database", () => {
    const extension = mocks.one("postgresql:index/extension:Extension", "app-pgaudit");
    assert.equal(extension.inputs.name, "pgaudit");
    assert.equal(extension.inputs.database, "app");
  });

  it("never records a password in plain text", () => {
    // The values are recorded (so this check can fail), but only inside secret wrappers.
    assert.ok(JSON.stringify(mocks.resources).includes(PASSWORD));
    const text = JSON.stringify(mocks.resources.map((r) => ({ ...r, inputs: stripSecrets(r.inputs) })));
    assert.ok(!text.includes(PASSWORD));
    assert.ok(!text.includes("admin-password"));
  });

  it("exports role names", async () => {
    const names = await new Promise<Record<string, string>>((resolve) => pulumi.all(component.groupRoles).apply(resolve));
    assert.deepEqual(names, Object.fromEntries(plan.workflows.map((w) => [w.name, w.roles.group])));
  });
});

describe("PostgresReadOnlyAccess where the spec lets dbwarden take PUBLIC's defaults away", { timeout: 30_000 }, () => {
  const hardened = withPublicRevoke(plan);
  let component: InstanceType<typeof PostgresReadOnlyAccess>;
  before(async () => {
    mocks.reset();
    component = new PostgresReadOnlyAccess("hardened", {
      plan: hardened,
      target: "app",
      catalog,
      connection: { host: "app-prod.abc.us-east-1.rds.amazonaws.com", username: "admin", password: "admin-password", superuser: false },
      extensions: ["pgaudit"],
    });
    await mocks.settle();
  });

  it("takes from PUBLIC what the plan does not give, chained and delete-before-replace", () => {
    const revokes = component.model.publicGrants.map((g) => mocks.one("postgresql:index/grant:Grant", g.resourceName));
    assert.deepEqual(
      revokes.map((r) => [r.inputs.role, r.inputs.objectType, r.inputs.schema, r.inputs.objects, r.inputs.privileges]),
      [
        ["public", "database", undefined, undefined, []],
        ["public", "schema", "analytics", undefined, []],
        ["public", "schema", "app", undefined, []],
        ["public", "schema", "billing", undefined, []],
        ["public", "schema", "support", undefined, []],
        ["public", "schema", "public", undefined, ["USAGE"]],
        ["public", "table", "analytics", ["usage_events"], []],
        ["public", "table", "app", ["accounts", "users"], []],
        ["public", "table", "billing", ["invoices"], []],
        ["public", "table", "support", ["tickets"], []],
        // EXECUTE on every routine of the planned schemas (objects: [] is "every routine in the schema").
        ["public", "routine", "analytics", undefined, []],
        ["public", "routine", "app", undefined, []],
        ["public", "routine", "billing", undefined, []],
        ["public", "routine", "support", undefined, []],
      ],
    );
    revokes.forEach((r, i) => {
      assert.equal(r.deleteBeforeReplace, true);
      if (i > 0) assert.ok(r.dependsOn.includes(revokes[i - 1]!.urn));
    });
  });

  it("takes EXECUTE on new functions from PUBLIC for the admin (the default owner), through the same provider", () => {
    const [defaults, ...more] = mocks.byType("postgresql:index/defaultPrivileges:DefaultPrivileges");
    assert.deepEqual(more, []);
    assert.deepEqual(defaults!.inputs, { role: "public", database: "app", owner: "admin", objectType: "function", privileges: [], withGrantOption: false });
    assert.equal(defaults!.provider, mocks.one("postgresql:index/grant:Grant", "app-public-database").provider);
  });

  it("keeps every PUBLIC resource on delete: destroy must not revoke from every role again", () => {
    const publicOnes = mocks.resources.filter((r) => r.inputs.role === "public");
    assert.equal(publicOnes.length, component.model.publicGrants.length + 1);
    for (const r of publicOnes) assert.equal(r.retainOnDelete, true, r.name);
    for (const r of mocks.byType("postgresql:index/grant:Grant").filter((g) => g.inputs.role !== "public")) assert.equal(r.retainOnDelete, false, r.name);
  });

  it("one chain: extension, group grants, PUBLIC's grants, then its default privileges", () => {
    const chain = grantLikeChain(mocks.resources);
    assert.deepEqual(
      chain.map((r) => r.name),
      [
        "hardened-pgaudit",
        ...component.model.grants.map((g) => g.resourceName),
        ...component.model.publicGrants.map((g) => g.resourceName),
        "app-public-new-functions-admin",
      ],
    );
  });

  it("takes function owners from functionOwners when given", async () => {
    mocks.reset();
    new PostgresReadOnlyAccess("owners", { ...baseArgs(hardened), functionOwners: ["app_owner", "etl"] });
    await mocks.settle();
    assert.deepEqual(
      mocks.byType("postgresql:index/defaultPrivileges:DefaultPrivileges").map((r) => [r.name, r.inputs.owner]),
      [
        ["app-public-new-functions-app_owner", "app_owner"],
        ["app-public-new-functions-etl", "etl"],
      ],
    );
  });
});

describe("PostgresReadOnlyAccess argument checks", { timeout: 30_000 }, () => {
  const base = { plan, target: "app", catalog, connection: { host: "db", username: "admin", password: "x", superuser: false } };
  it("requires superuser to be said", () => {
    assert.throws(
      () => new PostgresReadOnlyAccess("a1", { ...base, connection: { host: "db", username: "admin", password: "x" } as never }),
      /a1: connection\.superuser must be set/,
    );
  });
  it("refuses an endpoint as host", () => {
    assert.throws(() => new PostgresReadOnlyAccess("a2", { ...base, connection: { ...base.connection, host: "db:5432" } }), /a2: connection\.host/);
  });
  it("refuses a rule naming a column the catalog snapshot's table lacks (quantty), registering nothing", async () => {
    const typo = structuredClone(plan);
    typo.workflows.find((w) => w.name === "cs-usage-drop")!.tables.find((t) => t.table === "usage_events")!.rule = {
      access: "all-except",
      except: ["ip_address", "quantty"],
    };
    mocks.reset();
    assert.throws(
      () => new PostgresReadOnlyAccess("a4", { ...base, plan: typo, catalogSource: "stacks/catalog/prod.json" }),
      /workflow cs-usage-drop excludes analytics\.usage_events\.quantty, which does not exist in stacks\/catalog\/prod\.json \(did you mean "quantity"\?\)/,
    );
    await mocks.settle();
    assert.deepEqual(
      mocks.resources.filter((r) => r.custom).map((r) => r.type),
      [],
      "no provider, role or grant",
    );
  });
  it("passes a CA bundle to the provider, and refuses one that does not exist, naming the field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dbwarden-ca-"));
    const bundle = join(dir, "ca.pem");
    writeFileSync(bundle, "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
    try {
      mocks.reset();
      new PostgresReadOnlyAccess("tls", { ...base, connection: { ...base.connection, sslrootcert: bundle } });
      await mocks.settle();
      assert.equal(mocks.one("pulumi:providers:postgresql", "tls-primary").inputs.sslrootcert, bundle);
      assert.throws(
        () => new PostgresReadOnlyAccess("a5", { ...base, connection: { ...base.connection, sslrootcert: join(dir, "missing.pem") } }),
        /a5: connection\.sslrootcert: .*missing\.pem does not exist/,
      );
      assert.throws(() => new PostgresReadOnlyAccess("a6", { ...base, connection: { ...base.connection, sslrootcert: dir } }), /a6: connection\.sslrootcert: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it("refuses passwords for unplanned logins", () => {
    assert.throws(
      () => new PostgresReadOnlyAccess("a3", { ...base, passwords: { intruder: { value: "x", version: "1" } } }),
      /passwords\.intruder is not a planned login/,
    );
  });
});

/** The prod plan, its target's spec saying why PUBLIC's defaults may be taken away. */
function withPublicRevoke(source: AccessPlan): AccessPlan {
  const copy = structuredClone(source);
  copy.targets[0]!.publicPrivileges = { revoke: "a database of its own, for this test: nothing else uses it" };
  return copy;
}

function baseArgs(p: AccessPlan) {
  return { plan: p, target: "app", catalog, connection: { host: "db", username: "admin", password: "x", superuser: false } };
}

/**
 * The grant-like resources of one database (Extension, Grant, DefaultPrivileges), asserting that
 * they form ONE chain: the first depends on none of them, each other on exactly the one before it.
 */
function grantLikeChain(resources: readonly RecordedResource[]): RecordedResource[] {
  const grantLike = resources.filter((r) => GRANT_LIKE_TYPES.has(r.type));
  const urns = new Set(grantLike.map((r) => r.urn));
  const chain: RecordedResource[] = [];
  let previous: string | null = null;
  for (const r of grantLike) {
    const waitsFor = r.dependsOn.filter((d) => urns.has(d));
    assert.deepEqual(waitsFor, previous ? [previous] : [], `${r.name} waits for exactly ${previous ?? "nothing"}`);
    chain.push(r);
    previous = r.urn;
  }
  return chain;
}

function stripSecrets(value: unknown): unknown {
  if (isSecretValue(value)) return "[secret]";
  if (Array.isArray(value)) return value.map(stripSecrets);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stripSecrets(v)]));
  return value;
}
