/** The committed JSON Schema matches the zod schema, and every example points editors at it. */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { Ajv } from "ajv";
import ajvFormats from "ajv-formats";
import YAML from "yaml";
import { SCHEMA_FILE, specJsonSchemaText } from "../../src/spec/json-schema.ts";
import { projectSpecFiles } from "../../src/spec/load.ts";

const root = new URL("../..", import.meta.url).pathname;

test("schema/dbwarden.schema.json is up to date (regenerate: npx dbwarden schema > schema/dbwarden.schema.json)", () => {
  assert.equal(readFileSync(join(root, SCHEMA_FILE), "utf8"), specJsonSchemaText());
});

test("every example spec references the committed schema with a yaml-language-server comment", () => {
  const files = projectSpecFiles(root);
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

/** The committed schema compiled the strictest way ajv offers (unknown keywords and formats are errors). */
function strictValidator() {
  const ajv = new Ajv({ strict: true, allErrors: true });
  ajvFormats.default(ajv); // the standard draft-07 formats (`uri`); ajv ships none
  return ajv.compile(JSON.parse(readFileSync(join(root, SCHEMA_FILE), "utf8")));
}

const documentsOf = (file: string) => YAML.parseAllDocuments(readFileSync(join(root, file), "utf8")).map((d) => d.toJS() as unknown);

test("the schema is draft-07 with an $id and descriptions, as yaml-language-server reads it", () => {
  const schema = JSON.parse(readFileSync(join(root, SCHEMA_FILE), "utf8"));
  assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
  assert.equal(schema.$id, "https://dbwarden.dev/schema/dbwarden.schema.json");
  const text = JSON.stringify(schema);
  assert.ok((text.match(/"description":/g) ?? []).length >= 40, "options carry their descriptions");
  assert.doesNotMatch(text, /"format":"(?!uri")/, "only standard formats");
});

test("the schema compiles under ajv strict mode and accepts every example spec", () => {
  const validate = strictValidator();
  const files = ["test/fixtures/valid-minimal.yaml", ...projectSpecFiles(root).map((f) => f.slice(root.length))];
  let documents = 0;
  for (const file of files) {
    for (const document of documentsOf(file)) {
      documents++;
      assert.ok(validate(document), `${file}: ${JSON.stringify(validate.errors)}`);
    }
  }
  assert.equal(documents, 16);
});

test("the strict-compiled schema rejects malformed documents", () => {
  const validate = strictValidator();
  for (const fixture of [
    "unknown-key-typo",
    "unknown-key-nested",
    "bad-cidr",
    "wrong-api-version",
    "unknown-platform",
    "missing-owner",
    "wrong-type-max-rows",
    "bad-duration",
  ]) {
    const rejected = documentsOf(`test/fixtures/invalid/${fixture}.yaml`).filter((d) => !validate(d));
    assert.equal(rejected.length, 1, `${fixture}: one document rejected`);
  }
  // The rules that were formats in zod's output are kept as patterns.
  const prod = documentsOf("stacks/environments/prod.yaml")[0] as {
    targets: { app: { primary: { adminSecretArn: string } } };
    mcpServer: { host: { certificateArn: string }; oidc: { issuer: string } };
  };
  const wrongSecret = structuredClone(prod);
  wrongSecret.targets.app.primary.adminSecretArn = "arn:aws:iam::123456789012:role/admin";
  assert.equal(validate(wrongSecret), false);
  assert.match(JSON.stringify(validate.errors), /adminSecretArn/);
  const wrongCertificate = structuredClone(prod);
  wrongCertificate.mcpServer.host.certificateArn = "not-an-arn";
  assert.equal(validate(wrongCertificate), false);
  const wrongIssuer = structuredClone(prod);
  wrongIssuer.mcpServer.oidc.issuer = "not a url";
  assert.equal(validate(wrongIssuer), false);
});
