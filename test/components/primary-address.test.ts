/**
 * Reaching a private primary through a tunnel: the stack setting `dbwarden:primaryAddress.<target>`
 * points Pulumi's Postgres provider at the tunnel's local address, with the certificate checked
 * against RDS's CAs (verify-ca: the host name is the tunnel's); the rotation's secrets keep the
 * primary's own address. A malformed or misspelled setting, and a tunnel with IAM login (a token is
 * signed for the instance's own address), fail before anything is created, naming the setting.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parsePrimaryAddresses } from "../../components/aws-rds/primaryAddress.ts";
import { installMocks } from "../../src/testing/index.ts";
import { EXAMPLE_ACCOUNT, instanceLookup } from "./support/aws.ts";
import { exampleCatalog, examplePlan } from "./support/plans.ts";

describe("dbwarden:primaryAddress, parsed", () => {
  it("host:port per target; an IPv6 address in brackets; nothing set is no override", () => {
    assert.deepEqual(parsePrimaryAddresses(undefined, ["app"]), {});
    assert.deepEqual(parsePrimaryAddresses({ app: "127.0.0.1:15432" }, ["app"]), { app: { host: "127.0.0.1", port: 15432 } });
    assert.deepEqual(parsePrimaryAddresses({ app: "[::1]:5432" }, ["app"]), { app: { host: "::1", port: 5432 } });
    assert.deepEqual(parsePrimaryAddresses({ app: "bastion-tunnel.internal:6543" }, ["app"]), { app: { host: "bastion-tunnel.internal", port: 6543 } });
  });

  it("refuses what is not host:port, a target the environment lacks and a value that is not an object, naming the setting", () => {
    assert.throws(
      () => parsePrimaryAddresses({ app: "127.0.0.1" }, ["app"]),
      /^Error: dbwarden:primaryAddress\.app: "127\.0\.0\.1" is not host:port; give where the tunnel to the primary listens, e\.g\. 127\.0\.0\.1:15432$/,
    );
    assert.throws(() => parsePrimaryAddresses({ app: "127.0.0.1:70000" }, ["app"]), /is not host:port/);
    assert.throws(
      () => parsePrimaryAddresses({ ap: "127.0.0.1:15432" }, ["app"]),
      /^Error: dbwarden:primaryAddress\.ap: the environment has no target "ap" \(targets: app\)$/,
    );
    assert.throws(() => parsePrimaryAddresses("127.0.0.1:15432", ["app"]), /dbwarden:primaryAddress must be an object of addresses by target/);
  });
});

describe("GovernedAccess with a tunnel to the primary", { timeout: 60_000 }, () => {
  it("the provider connects to the tunnel (verify-ca against RDS's CAs); the rotation's secrets name the primary", async () => {
    const mocks = await installMocks({ account: EXAMPLE_ACCOUNT, stack: "prod" });
    pulumi.runtime.setConfig("dbwarden:primaryAddress", JSON.stringify({ app: "127.0.0.1:15432" }));
    const { GovernedAccess } = await import("../../components/aws-ecs/governedAccess.ts");
    new GovernedAccess("dbwarden-prod", { plan: examplePlan("prod"), catalog: exampleCatalog("prod") });
    await mocks.settle();
    const [provider, ...others] = mocks.byType("pulumi:providers:postgresql");
    assert.equal(others.length, 0);
    assert.equal(provider!.inputs.host, "127.0.0.1");
    assert.equal(provider!.inputs.port, "15432");
    assert.equal(provider!.inputs.sslmode, "verify-ca");
    assert.match(String(provider!.inputs.sslrootcert), /certs\/rds-ca-bundle\.pem$/);
    const values = mocks.byType("aws:secretsmanager/secretVersion:SecretVersion").filter((v) => v.name.endsWith("-initial") && v.name.includes("__"));
    assert.ok(values.length > 0, "the logins' secrets");
    for (const value of values) {
      const secret = JSON.parse((value.inputs.secretStringWo as { value: string }).value) as { host: string; port: number };
      assert.deepEqual([secret.host, secret.port], [instanceLookup("app-prod").address, 5432], `${value.name}: the rotation reaches the primary itself`);
    }
  });

  it("with IAM login (no admin secret) a tunnel is refused before anything is created, saying why and what to do", async () => {
    await installMocks({ account: EXAMPLE_ACCOUNT, stack: "dev" });
    pulumi.runtime.setConfig("dbwarden:primaryAddress", JSON.stringify({ app: "127.0.0.1:15432" }));
    const { GovernedAccess } = await import("../../components/aws-ecs/governedAccess.ts");
    assert.throws(
      () => new GovernedAccess("dbwarden-dev", { plan: examplePlan("dev"), catalog: exampleCatalog("dev") }),
      /dbwarden:primaryAddress\.app is set \(a tunnel\), but targets\.app\.primary has no adminSecretArn: Pulumi would log in with an RDS IAM token, which is signed for the instance's own address and refused through a tunnel\. Give targets\.app\.primary\.adminSecretArn, or run `pulumi up` where the primary's address is reachable \(inside the VPC\) and remove the setting/,
    );
  });
});
