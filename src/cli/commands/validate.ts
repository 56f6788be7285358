import type { Command } from "commander";
import { formatProblem } from "../../spec/errors.ts";
import { ENVIRONMENTS_DIR, WORKFLOWS_DIR, validateFiles, yamlFilesIn } from "../../spec/load.ts";
import { join } from "node:path";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

export function register(program: Command, io: CliIO): void {
  program
    .command("validate")
    .description("Check spec files: every problem at once, with file:line:column and how to fix it.")
    .argument("[files...]", "YAML files to check (default: every file under stacks/environments and stacks/workflows)")
    .addHelpText(
      "after",
      "\nFiles are checked together, so cross-references (workflow -> target, enabled workflows) are resolved\namong them; when only environment files are given, the project's workflows are loaded too.\nExit codes: 0 valid, 1 problems found, 2 usage error.",
    )
    .action((files: string[]) => {
      const projectWorkflows = yamlFilesIn(join(io.cwd, WORKFLOWS_DIR));
      let targets = files;
      if (targets.length === 0) {
        targets = [...yamlFilesIn(join(io.cwd, ENVIRONMENTS_DIR)), ...projectWorkflows];
        if (targets.length === 0) throw new CliError(`no spec files found under ${ENVIRONMENTS_DIR} or ${WORKFLOWS_DIR}; pass files to check`, EXIT.usage);
      }
      const check = (list: string[]) => validateFiles(list, { root: io.cwd, now: io.now(), expired: "error" });
      let result = check(targets);
      // Environments name workflows: when only environments were given, resolve those names
      // against the project's workflows rather than report them all missing.
      const onlyEnvironments = result.docs.length > 0 && result.docs.every((d) => d.kind === "Environment");
      if (files.length > 0 && onlyEnvironments) result = check([...targets, ...projectWorkflows]);
      const { docs, problems } = result;
      if (problems.length > 0) {
        const sorted = [...problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column);
        throw new CliError(`${sorted.map(formatProblem).join("\n")}\n${sorted.length} problem${sorted.length === 1 ? "" : "s"} in ${new Set(sorted.map((p) => p.file)).size} file(s).`, EXIT.invalidInput);
      }
      const kinds = docs.reduce<Record<string, number>>((acc, d) => ({ ...acc, [d.kind]: (acc[d.kind] ?? 0) + 1 }), {});
      io.out(`ok: ${docs.length} document(s) valid in ${targets.length} file(s) (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(", ")})`);
    });
}
