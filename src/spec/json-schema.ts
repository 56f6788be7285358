/**
 * The JSON Schema of dbwarden/v1 documents, generated from the zod schema (the one definition).
 * Committed as schema/dbwarden.schema.json; example files reference it with a
 * `# yaml-language-server: $schema=...` comment so editors validate as you type. A test keeps the
 * committed file equal to this output. Cross-document rules cannot be expressed here; `dbwarden
 * validate` checks those.
 */
import { z } from "zod";
import { EnvironmentSchema, WorkflowSchema } from "./schema.ts";

export const SCHEMA_FILE = "schema/dbwarden.schema.json";

export function specJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(z.union([EnvironmentSchema, WorkflowSchema]), {
    io: "input",
    target: "draft-7",
    unrepresentable: "any",
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
