/**
 * An upgrade note for every change of the spec's shape and of the plan format: docs/upgrading.md
 * records, in its newest note, the sha256 of the committed JSON Schema's shape (descriptions
 * removed: rewording a description changes nothing for a team's files) and the plan's apiVersion.
 * A schema change without a note fails here, saying what to write.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PLAN_API_VERSION } from "../../src/plan/types.ts";
import { SCHEMA_FILE } from "../../src/spec/json-schema.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const NOTES = "docs/upgrading.md";

/** The schema without `description` keys. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== "description")
        .map(([key, v]) => [key, shape(v)]),
    );
  return value;
}

/** sha256 of the spec's shape: the committed schema, descriptions removed, as compact JSON. */
export function specShapeHash(schemaText: string): string {
  return createHash("sha256")
    .update(JSON.stringify(shape(JSON.parse(schemaText))))
    .digest("hex");
}

/** The notes of docs/upgrading.md, newest first: version, and the formats each covers. */
function notes(text: string): { version: string; schema: string | undefined; plan: string | undefined }[] {
  return text
    .split(/^## /m)
    .slice(1)
    .map((section) => ({
      version: section.split("\n")[0]!.trim(),
      schema: /^Spec schema: sha256:([0-9a-f]{64})$/m.exec(section)?.[1],
      plan: /^Plan: (\S+)$/m.exec(section)?.[1],
    }));
}

const schemaText = readFileSync(join(ROOT, SCHEMA_FILE), "utf8");
const upgrading = readFileSync(join(ROOT, NOTES), "utf8");
const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

describe("upgrade notes (docs/upgrading.md)", () => {
  it("the newest note covers the committed spec schema and the plan format", () => {
    const newest = notes(upgrading)[0];
    assert.ok(newest, `${NOTES} has at least one note (## <version>)`);
    const hash = specShapeHash(schemaText);
    assert.equal(
      newest.schema,
      hash,
      `${SCHEMA_FILE} changed shape (sha256 ${hash}) and no upgrade note covers it. Add a note at the top of ${NOTES}: ` +
        `"## <the next version>", then for each changed field what a team changes in its spec files (the field, before -> after in YAML, ` +
        `what \`dbwarden validate\` says about the old form), and end it with the line "Spec schema: sha256:${hash}" and the line ` +
        `"Plan: ${PLAN_API_VERSION}". Mention the change in CHANGELOG.md under [Unreleased] too.`,
    );
    assert.equal(
      newest.plan,
      PLAN_API_VERSION,
      `the plan's apiVersion is ${PLAN_API_VERSION} and the newest note of ${NOTES} ` +
        `says ${newest.plan ?? "nothing"}: add a note saying what changed in the plan ` +
        `(tools reading \`dbwarden plan --json\`, the MCP server image to deploy with it), ending with "Plan: ${PLAN_API_VERSION}".`,
    );
  });

  it("every note names a version with a CHANGELOG.md section; the newest is package.json's", () => {
    const changelog = readFileSync(join(ROOT, "CHANGELOG.md"), "utf8");
    for (const note of notes(upgrading)) {
      assert.match(note.version, /^\d+\.\d+\.\d+$/, `${NOTES}: "## ${note.version}" is a version`);
      assert.ok(note.schema && note.plan, `${NOTES} ${note.version}: ends with the "Spec schema:" and "Plan:" lines`);
      assert.ok(changelog.includes(`## [${note.version}]`), `CHANGELOG.md has a section for ${note.version}`);
    }
    assert.equal(notes(upgrading)[0]!.version, version, "the newest note is this version's (bump package.json with `npm version` when adding one)");
  });

  it("the hash is of the shape only: a reworded description keeps it, a changed field does not", () => {
    const schema = JSON.parse(schemaText) as Record<string, unknown>;
    const reworded = JSON.stringify({ ...schema, description: "another wording" });
    assert.equal(specShapeHash(reworded), specShapeHash(schemaText));
    const changed = JSON.stringify({ ...schema, additionalProperties: true });
    assert.notEqual(specShapeHash(changed), specShapeHash(schemaText));
  });
});
