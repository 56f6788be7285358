/**
 * The layers read top to bottom (issue 25): the core of src/ (spec, plan, the Postgres model, SQL
 * checks, names, tags) <- components/ (the Pulumi components, built on that core) <- the top of
 * src/ (`TOP_LAYER`: the package's entry points and what runs or describes programs: the CLI's
 * commands, the policy check, drift, the review, the local stack, init's templates). A module imports its
 * own layer or one below, never one above; relative imports are read as text (import-cycles.test.ts).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { ROOT, sourceFiles } from "../support/sources.ts";
import { importGraph } from "./import-cycles.test.ts";

/** The top of src/: the modules that may import components/ (paths from the root; a folder ends with "/"). */
export const TOP_LAYER = [
  "src/index.ts", // the package's entry points: they export the components
  "src/aws.ts",
  "src/postgres.ts",
  "src/program.ts", // the Pulumi program: deploys a stack with its host's component
  "src/cli/", // the commands
  "src/policy/", // `dbwarden check`: runs programs, reads the access components' children as Pulumi would register them
  "src/snowflake/", // Snowflake drift and catalog: compare the account with the components' children
  "src/bigquery/", // BigQuery drift and catalog: compare the project with what the access component deploys (components/bigquery/plan.ts)
  "src/init/", // the templates of the programs `dbwarden init` writes, checked against the components' outputs
  "src/drift/", // `dbwarden drift`: records the program as the policy check does
  "src/review/", // `dbwarden review`: runs the policy check on both sides
  "src/provider/", // the component provider: serves the components to other languages
  "src/local/", // `dbwarden up`: the local stack, its fixes through drift's report
  "src/keys/", // `dbwarden keys`: API keys in the host's secret store or the local stack's
];

type Layer = "core" | "components" | "top";

/** A source file's layer (null: outside the three, e.g. the server or the contract). */
export function layerOf(path: string): Layer | null {
  if (path.startsWith("components/")) return "components";
  if (!path.startsWith("src/")) return null;
  return TOP_LAYER.some((top) => (top.endsWith("/") ? path.startsWith(top) : path === top)) ? "top" : "core";
}

const RANK: Record<Layer, number> = { core: 0, components: 1, top: 2 };

/** The imports that go up a layer, as `from -> to`. */
export function upwardImports(graph: ReadonlyMap<string, ReadonlyArray<{ to: string }>>): string[] {
  const found: string[] = [];
  for (const [file, edges] of graph) {
    const from = layerOf(relative(ROOT, file));
    if (from === null) continue;
    for (const { to } of edges) {
      const layer = layerOf(relative(ROOT, to));
      if (layer !== null && RANK[layer] > RANK[from]) found.push(`${relative(ROOT, file)} -> ${relative(ROOT, to)}`);
    }
  }
  return found.sort();
}

describe("layers", () => {
  it("no module imports a layer above its own: the core not components/ nor the top, components/ not the top", () => {
    const files = new Map(sourceFiles().map((path) => [path, readFileSync(path, "utf8")]));
    assert.deepEqual(upwardImports(importGraph(files)), []);
  });

  it("finds an import going up, and sorts files into their layers", () => {
    const file = (path: string, text: string) => [join(ROOT, path), text] as const;
    const sample = new Map([
      file("src/plan/a.ts", 'import { b } from "../../components/b.ts";\n'),
      file("components/b.ts", 'import { c } from "../src/cli/c.ts";\nimport { d } from "../src/plan/d.ts";\n'),
      file("src/cli/c.ts", 'import { b } from "../../components/b.ts";\n'),
      file("src/plan/d.ts", ""),
    ]);
    assert.deepEqual(upwardImports(importGraph(sample)), ["components/b.ts -> src/cli/c.ts", "src/plan/a.ts -> components/b.ts"]);
    assert.deepEqual(["src/index.ts", "src/cli/x.ts", "src/plan/x.ts", "mcp-server/src/x.ts"].map(layerOf), ["top", "top", "core", null]);
  });
});
