/**
 * Workflows against the committed catalog snapshots, at validate time. A column named in a scope
 * that the table does not have (a typo in `exclude` meant to hide a column leaves that column
 * readable) is refused by the components at preview and by `up` against the live database; where
 * the environment's snapshot (`<spec folder>/catalog/<env>.json`) is committed, `validate` says it
 * first, at the file and line that names the column. The resolution is the one every renderer
 * uses (`resolveColumns` of the plan, against the snapshot's columns), so validate refuses exactly
 * what the components would.
 */
import { dirname, relative, resolve } from "node:path";
import { isPostgresPlatform, resolveColumns, tableName, workflowsOf, type TablePlan } from "@dbwarden/contract";
import { buildPlan } from "../plan/build.ts";
import { catalogCommand, catalogPath, committedCatalog, entryColumns, type CatalogSnapshot } from "../postgres/snapshot.ts";
import type { Problem } from "./errors.ts";
import { parseFiles, projectSpecFiles } from "./load.ts";
import { closest, pathText, type ParsedDoc } from "./parse.ts";
import { findSpecProject } from "./project.ts";
import type { Workflow } from "./schema.ts";

/** The project roots of these spec files (absolute paths, or relative to `cwd`), or `cwd`'s own project's. */
export function projectRootsOf(files: readonly string[], cwd: string): string[] {
  const roots = files.map((file) => findSpecProject(dirname(resolve(cwd, file)))?.root).filter((root): root is string => root !== undefined);
  const own = findSpecProject(cwd)?.root;
  return [...new Set(roots.length > 0 ? roots : own ? [own] : [])];
}

/**
 * Every column or table the workflows of a project name, in an environment with a committed
 * snapshot, that the snapshot does not have. File names relative to `cwd`. A project whose specs
 * do not load, or whose snapshot is malformed, gives that problem only (the loader reports the rest).
 */
export function snapshotProblems(root: string, options: { cwd: string; now: Date; docs?: readonly ParsedDoc[] }): Problem[] {
  const parseProblems: Problem[] = [];
  // The project's documents as validate already parsed them, else read here.
  const docs =
    options.docs ??
    parseFiles(
      projectSpecFiles(root).map((f) => relative(options.cwd, f)),
      options.cwd,
      parseProblems,
    );
  if (parseProblems.length > 0) return [];
  const workflows = docs.filter((d) => d.kind === "Workflow");
  const problems: Problem[] = [];
  for (const environment of docs.filter((d) => d.kind === "Environment")) {
    let committed: ReturnType<typeof committedCatalog>;
    try {
      committed = committedCatalog(environment.value.name, root);
    } catch (error) {
      const file = relative(options.cwd, catalogPath(environment.value.name, root));
      problems.push({ file, line: 0, column: 0, path: "", message: (error as Error).message });
      continue;
    }
    if (committed === null) continue;
    const source = relative(options.cwd, resolve(root, committed.source));
    problems.push(...environmentProblems(environment, workflows, { ...committed, source }, options.now));
  }
  return problems;
}

type Snapshot = { catalog: CatalogSnapshot; source: string };

/** The problems of one environment's workflows against its snapshot. */
function environmentProblems(environment: ParsedDoc & { kind: "Environment" }, workflows: readonly ParsedDoc[], snapshot: Snapshot, now: Date): Problem[] {
  let plan;
  try {
    plan = buildPlan(
      environment.value,
      workflows.map((w) => w.value as Workflow),
      now,
    );
  } catch {
    return []; // the loader reports why the stack does not plan
  }
  const problems: Problem[] = [];
  for (const target of plan.targets) {
    if (!isPostgresPlatform(target.platformSettings.platform)) continue;
    for (const workflow of workflowsOf(plan, target.name)) {
      const doc = workflows.find((w) => w.kind === "Workflow" && w.value.name === workflow.name);
      if (!doc) continue;
      for (const table of workflow.tables) problems.push(...tableProblems(table, { workflow: doc, environment, target: target.name, snapshot }));
    }
  }
  return problems;
}

interface TableContext {
  workflow: ParsedDoc;
  environment: ParsedDoc;
  target: string;
  snapshot: Snapshot;
}

const refresh = (environment: string) => `if the table changed, \`npx ${catalogCommand(environment)}\` writes the snapshot again`;

function tableProblems(table: TablePlan, context: TableContext): Problem[] {
  const { workflow, environment, snapshot } = context;
  const name = tableName(table);
  const env = environment.value.name;
  const entry = snapshot.catalog[name];
  if (entry === undefined) {
    const close = closest(name, Object.keys(snapshot.catalog));
    const at = ["scope", table.schema, table.table];
    return [
      {
        file: workflow.file,
        ...workflow.locate(at, { key: true }),
        path: pathText(at),
        message: `table ${name} is not in ${snapshot.source}, the catalog snapshot of environment "${env}"${close ? ` (did you mean "${close}"?)` : ""}`,
        hint: close ? `fix the name; ${refresh(env)}` : `write the snapshot from the database: \`npx ${catalogCommand(env)}\``,
      },
    ];
  }
  const columns = entryColumns(entry);
  return resolveColumns(table, columns).unknown.map((column) => {
    const close = closest(column, columns);
    const { doc, at } = whereNamed(table, column, context);
    return {
      file: doc.file,
      ...doc.locate(at, { key: at[at.length - 2] === "columns" }),
      path: pathText(at),
      message:
        `column ${column} of ${name} is not in ${snapshot.source}, the catalog ` +
        `snapshot of environment "${env}"${close ? ` (did you mean "${close}"?)` : ""}`,
      hint: `fix the name${at.includes("exclude") ? ": an excluded name that matches no column hides nothing" : ""}; ${refresh(env)}`,
    };
  });
}

/** Where the spec names `column` of `table`: the workflow's `exclude` or `columns`, else the environment's `sensitiveColumns`. */
function whereNamed(table: TablePlan, column: string, context: TableContext): { doc: ParsedDoc; at: PropertyKey[] } {
  const scope = (context.workflow.value as Workflow).scope[table.schema]?.[table.table];
  const base = ["scope", table.schema, table.table];
  const excluded = scope?.exclude?.indexOf(column) ?? -1;
  if (excluded >= 0) return { doc: context.workflow, at: [...base, "exclude", excluded] };
  if (scope?.columns && Object.hasOwn(scope.columns, column)) return { doc: context.workflow, at: [...base, "columns", column] };
  const sensitive = context.environment.kind === "Environment" ? (context.environment.value.targets[context.target]?.sensitiveColumns ?? []) : [];
  const index = sensitive.indexOf(`${table.schema}.${table.table}.${column}`);
  if (index >= 0) return { doc: context.environment, at: ["targets", context.target, "sensitiveColumns", index] };
  return { doc: context.workflow, at: base };
}
