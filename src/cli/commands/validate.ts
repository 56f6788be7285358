import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import type { Command } from "commander";
import { formatProblem, type Problem } from "../../spec/errors.ts";
import { projectSpecFiles, validateInProject, type ProjectValidation } from "../../spec/load.ts";
import { projectRootsOf, snapshotProblems } from "../../spec/catalog.ts";
import type { ParsedDoc } from "../../spec/parse.ts";
import { placeholderProblems } from "../../spec/placeholders.ts";
import { projectRoot, specPaths } from "../../spec/project.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

const HELP = `
Named files are checked against the project they lie in (the nearest folder above them with a spec
folder: package.json "dbwarden": { "specs": ... }, dbwarden/ or stacks/; else the working
directory's project): its environments and workflows are loaded as
context and every cross-document rule runs (workflow -> target, enabled workflows, sensitive columns,
names defined twice). Shown: every problem in a named file, and problems in other files that are
about a named file (e.g. a workflow reading a column that a named environment classifies
sensitive). Problems in other files that are not about the named ones are counted in one line;
if one of those files does not load, the named files cannot be fully checked and the exit code is 1.
An example value \`dbwarden init\` wrote is refused while its \`# CHANGE\` comment is there: replace the
value, then delete the comment. Where an environment's catalog snapshot is committed
(<spec folder>/catalog/<env>.json), the tables and columns its workflows name are checked against it.
Exit codes: 0 valid, 1 problems found, 2 usage error.`;

export function register(program: Command, io: CliIO): void {
  program
    .command("validate")
    .description("Check spec files: every problem at once, with file:line:column and how to fix it.")
    .argument("[files...]", "YAML files to check (default: every file under the spec folder's environments/ and workflows/)")
    .addHelpText("after", HELP)
    .action((files: string[]) => {
      let named = files;
      if (named.length === 0) {
        const root = projectRoot(io.cwd);
        named = projectSpecFiles(root);
        if (named.length === 0) {
          const paths = specPaths(root);
          const folders = [paths.environmentsDir, paths.workflowsDir].map((dir) => relative(io.cwd, dir) || dir);
          throw new CliError(
            `no spec files found under ${folders.join(" or ")}; pass files to check, or create a spec folder with \`npx dbwarden init\``,
            EXIT.usage,
          );
        }
      }
      const result = validateInProject(named, { cwd: io.cwd, now: io.now(), expired: "error" });
      const notes = contextNotes(result);
      const problems = [...result.problems, ...placeholdersIn(named, io.cwd)];
      // Against the snapshots once the documents themselves are valid (the plan needs them).
      if (result.problems.length === 0 && result.unloadedContextFiles.length === 0)
        problems.push(...snapshotProblemsOf(named, io, files.length === 0 ? result.docs : undefined));
      if (problems.length > 0 || result.unloadedContextFiles.length > 0) {
        throw new CliError([...problemLines(problems), ...notes].join("\n"), EXIT.invalidInput);
      }
      const kinds = result.docs.reduce<Record<string, number>>((acc, d) => ({ ...acc, [d.kind]: (acc[d.kind] ?? 0) + 1 }), {});
      const against = result.contextFiles.length > 0 ? `; checked against ${result.contextFiles.length} other project file(s)` : "";
      io.out(
        `ok: ${result.docs.length} document(s) valid in ${named.length} file(s) (${Object.entries(kinds)
          .map(([k, n]) => `${n} ${k}`)
          .join(", ")})${against}`,
      );
      for (const note of notes) io.err(note);
    });
}

/** The snapshot problems located in the named files. `allDocs`: every document of the one project, when validate parsed them all. */
function snapshotProblemsOf(named: readonly string[], io: CliIO, allDocs: readonly ParsedDoc[] | undefined): Problem[] {
  const shown = new Set(named.map((f) => relative(io.cwd, resolve(io.cwd, f)) || f));
  return projectRootsOf(named, io.cwd)
    .flatMap((root) => snapshotProblems(root, { cwd: io.cwd, now: io.now(), ...(allDocs ? { docs: allDocs } : {}) }))
    .filter((p) => shown.has(p.file));
}

/** The `# CHANGE` placeholders left in the named files (those that can be read: the others are already reported). */
function placeholdersIn(files: readonly string[], cwd: string): Problem[] {
  return files.flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(resolve(cwd, file), "utf8");
    } catch {
      return [];
    }
    return placeholderProblems(relative(cwd, resolve(cwd, file)) || file, text);
  });
}

function problemLines(problems: readonly Problem[]): string[] {
  if (problems.length === 0) return [];
  const sorted = [...problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column);
  return [...sorted.map(formatProblem), `${sorted.length} problem${sorted.length === 1 ? "" : "s"} in ${new Set(sorted.map((p) => p.file)).size} file(s).`];
}

/** One line each about what the named files were not, or could not be, checked against. */
function contextNotes(result: ProjectValidation): string[] {
  const notes: string[] = [];
  const count = (problems: readonly Problem[]) => `${problems.length} problem${problems.length === 1 ? "" : "s"}`;
  const unloaded = new Set(result.unloadedContextFiles);
  if (unloaded.size > 0) {
    const list = [...unloaded].join(" ");
    notes.push(
      `not fully checked: ${unloaded.size} other project file(s) the named files are checked against do not load ` +
        `(${count(result.contextProblems.filter((p) => unloaded.has(p.file)))}): ${list}; \`dbwarden validate ${list}\` lists them`,
    );
  }
  const unrelated = result.contextProblems.filter((p) => !unloaded.has(p.file));
  if (unrelated.length > 0) {
    const list = [...new Set(unrelated.map((p) => p.file))].join(" ");
    notes.push(`note: ${count(unrelated)} in other project file(s), not about the named files: ${list}; \`dbwarden validate ${list}\` lists them`);
  }
  if (result.outsideProject.length > 0) {
    notes.push(
      `note: not in a project (no spec folder above it or the working directory: dbwarden/, stacks/ or package.json ` +
        `dbwarden.specs), checked against the other named files only: ${result.outsideProject.join(" ")}`,
    );
  }
  return notes;
}
