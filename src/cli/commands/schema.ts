import type { Command } from "commander";
import { specJsonSchemaText } from "../../spec/json-schema.ts";
import type { CliIO } from "../io.ts";

export function register(program: Command, io: CliIO): void {
  program
    .command("schema")
    .description("Print the JSON Schema of dbwarden/v1 documents (the committed copy is schema/dbwarden.schema.json).")
    .action(() => {
      io.out(specJsonSchemaText());
    });
}
