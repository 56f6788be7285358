/**
 * The per-platform tables: each has a row for every platform of the contract's capability table
 * (the type checker asks for them; this says so at run time too, and that the rows agree with the
 * capability table), and the tag keys each host platform's resources carry are keys its cloud takes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HOST_PLATFORMS, TARGET_PLATFORMS, hostServes, isDeployedHost, type HostPlatform, type TargetPlatform } from "../../src/plan/types.ts";
import { AWS_TAG_KEYS, GCP_LABEL_KEYS, HOST_TAG_KEYS, type TagKeys } from "../../src/tags.ts";
import { KEY_BACKENDS } from "../../src/keys/index.ts";
import { HOST_STAND_INS, TARGET_STAND_INS, STAND_IN_INVOKES } from "../../src/policy/standins.ts";
import { HOST_INGRESS } from "../../src/review/ingress.ts";
import { HOST_COMPONENTS } from "../../components/hosts.ts";
import { ACCESS_COMPONENTS } from "../../components/targets.ts";
import { ECS_TARGETS } from "../../components/aws-ecs/targets.ts";

const hosts = Object.keys(HOST_PLATFORMS).sort() as HostPlatform[];
const targets = Object.keys(TARGET_PLATFORMS).sort() as TargetPlatform[];
const keysOf = (table: object) => Object.keys(table).sort();

describe("tables keyed by platform", () => {
  it("have a row for every host platform", () => {
    for (const [name, table] of Object.entries({ HOST_TAG_KEYS, KEY_BACKENDS, HOST_STAND_INS, HOST_COMPONENTS, HOST_INGRESS }))
      assert.deepEqual(keysOf(table), hosts, name);
  });

  it("have a row for every target platform, and every engine an access component entry (null: not rendered yet)", () => {
    assert.deepEqual(keysOf(TARGET_STAND_INS), targets);
    assert.deepEqual(keysOf(ACCESS_COMPONENTS), [...new Set(targets.map((t) => TARGET_PLATFORMS[t].engine))].sort());
  });

  it("the ECS host has a row for exactly the target platforms it reads", () => {
    assert.deepEqual(keysOf(ECS_TARGETS), [...HOST_PLATFORMS["aws-ecs"].targets].sort());
  });

  it("agree with the capability table: a host Pulumi deploys has a component and tag keys; a target dbwarden up serves is applied by the reconciler", () => {
    for (const host of hosts) {
      assert.equal(HOST_COMPONENTS[host].type !== null, isDeployedHost(host), host);
      assert.equal(HOST_TAG_KEYS[host] !== null, isDeployedHost(host), host);
    }
    for (const target of targets) assert.equal(TARGET_PLATFORMS[target].appliedBy === "reconciler", hostServes("local", target), target);
  });

  it("stand-ins: no lookup is answered by two platforms", () => {
    const tokens = [...Object.values(HOST_STAND_INS), ...Object.values(TARGET_STAND_INS)].flatMap((table) => Object.keys(table));
    assert.equal(new Set(tokens).size, tokens.length);
    assert.deepEqual(Object.keys(STAND_IN_INVOKES).sort(), [...tokens].sort());
  });
});

describe("tag keys", () => {
  const roles: (keyof TagKeys)[] = ["client", "environment", "expires", "login", "owner", "target", "workflow"];

  it("AWS: dbwarden:<what>, keys AWS takes (1-128 characters, not the reserved aws: prefix)", () => {
    assert.deepEqual(keysOf(AWS_TAG_KEYS), roles);
    for (const key of Object.values(AWS_TAG_KEYS)) assert.match(key, /^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u, key);
    assert.equal(AWS_TAG_KEYS.owner, "dbwarden:owner");
  });

  it("GCP: dbwarden-<what>, label keys GCP takes (a lowercase letter first, then lowercase letters, digits, _ and -, at most 63; no ':')", () => {
    assert.deepEqual(keysOf(GCP_LABEL_KEYS), roles);
    for (const key of Object.values(GCP_LABEL_KEYS)) assert.match(key, /^[a-z][a-z0-9_-]{0,62}$/, key);
    assert.doesNotMatch(AWS_TAG_KEYS.owner, /^[a-z][a-z0-9_-]{0,62}$/, "the AWS key is not a valid GCP label key: a table per cloud");
    assert.equal(GCP_LABEL_KEYS.owner, "dbwarden-owner");
  });
});
