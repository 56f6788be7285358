/** The committed JSON Schema matches the zod schema, and every example points editors at it. */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { SCHEMA_FILE, specJsonSchemaText } from "../../src/spec/json-schema.ts";
import { ENVIRONMENTS_DIR, WORKFLOWS_DIR, yamlFilesIn } from "../../src/spec/load.ts";

const root = new URL("../..", import.meta.url).pathname;

test("schema/dbwarden.schema.json is up to date (regenerate: npx dbwarden schema > schema/dbwarden.schema.json)", () => {
  assert.equal(readFileSync(join(root, SCHEMA_FILE), "utf8"), specJsonSchemaText());
});

test("every example spec references the committed schema with a yaml-language-server comment", () => {
  const files = [...yamlFilesIn(join(root, ENVIRONMENTS_DIR)), ...yamlFilesIn(join(root, WORKFLOWS_DIR))];
  assert.ok(files.length >= 6);
  for (const file of files) {
    const first = readFileSync(file, "utf8").split("\n")[0]!;
    const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    assert.ok(m, `${file} starts with the schema comment`);
    assert.equal(resolve(dirname(file), m[1]!), join(root, SCHEMA_FILE));
    assert.ok(existsSync(resolve(dirname(file), m[1]!)));
  }
});

test("the schema requires apiVersion and kind and forbids unknown keys", () => {
  const schema = JSON.parse(specJsonSchemaText());
  for (const branch of schema.anyOf) {
    assert.ok(branch.required.includes("apiVersion") && branch.required.includes("kind"));
    assert.equal(branch.additionalProperties, false);
  }
});
