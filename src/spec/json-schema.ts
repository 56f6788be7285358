/**
 * The JSON Schema of dbwarden/v1 documents, generated from the zod schema (the one definition).
 * Committed as schema/dbwarden.schema.json; example files reference it with a
 * `# yaml-language-server: $schema=...` comment so editors validate as you type. A test keeps the
 * committed file equal to this output. Cross-document rules cannot be expressed here; `dbwarden
 * validate` checks those.
 *
 * Draft-07, so yaml-language-server (and every editor plugin built on it) reads it, and no keyword
 * a strict validator refuses: it compiles with ajv's `strict: true` (given ajv-formats for the
 * standard `uri` format), which a test checks.
 */
import { z } from "zod";
import { EnvironmentSchema, WorkflowSchema } from "./schema.ts";

export const SCHEMA_FILE = "schema/dbwarden.schema.json";

/** The `format` values JSON Schema draft-07 defines (section 7.3). */
const DRAFT_07_FORMATS: ReadonlySet<string> = new Set([
  "date-time",
  "date",
  "time",
  "email",
  "idn-email",
  "hostname",
  "idn-hostname",
  "ipv4",
  "ipv6",
  "uri",
  "uri-reference",
  "iri",
  "iri-reference",
  "uri-template",
  "json-pointer",
  "relative-json-pointer",
  "regex",
]);

/**
 * zod writes some of its own check names as `format` (e.g. "starts_with" for `.startsWith()`),
 * always beside a `pattern` that says the same; strict validators refuse an unknown format. Keep
 * the pattern, drop the format; a format with no pattern would lose the rule, so it stops here.
 */
function keepStandardFormats({ jsonSchema, path }: { jsonSchema: { format?: string; pattern?: string }; path: (string | number)[] }): void {
  const { format } = jsonSchema;
  if (format === undefined || DRAFT_07_FORMATS.has(format)) return;
  if (jsonSchema.pattern === undefined)
    throw new Error(`JSON Schema: format "${format}" at ${path.join(".")} is not a draft-07 format and has no pattern to keep its rule`);
  delete jsonSchema.format;
}

export function specJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(z.union([EnvironmentSchema, WorkflowSchema]), {
    io: "input",
    target: "draft-7",
    unrepresentable: "any",
    override: keepStandardFormats,
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: "https://dbwarden.dev/schema/dbwarden.schema.json",
    title: "dbwarden/v1 spec document (Environment or Workflow)",
    ...rest,
  };
}

export function specJsonSchemaText(): string {
  return `${JSON.stringify(specJsonSchema(), null, 2)}\n`;
}
