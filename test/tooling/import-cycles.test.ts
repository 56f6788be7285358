/**
 * No import circles (issue 25): modules that import each other load half-initialized (a value
 * imported from a module still loading is `undefined`) and cannot be read top to bottom; a circle
 * of type imports only loads fine but still cannot be read top to bottom, so it is refused too. The
 * sources' relative imports are walked as text; a cycle is reported as its files, in order.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { ROOT, sourceFiles } from "../support/sources.ts";

const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^"';]*?\sfrom\s+)?["'](\.[^"']+)["']/gm;

/** Each file's relative imports (resolved to files), with whether all it takes is types. */
export function importGraph(files: ReadonlyMap<string, string>): Map<string, Array<{ to: string; typeOnly: boolean }>> {
  const graph = new Map<string, Array<{ to: string; typeOnly: boolean }>>();
  for (const [file, text] of files) {
    const edges = [];
    for (const match of text.matchAll(IMPORT)) {
      const target = resolve(dirname(file), match[3]!);
      const to = [target, target.replace(/\.js$/, ".ts"), `${target}.ts`, join(target, "index.ts")].find((candidate) => files.has(candidate));
      if (to) edges.push({ to, typeOnly: match[2] !== undefined });
    }
    graph.set(file, edges);
  }
  return graph;
}

/** The circles of a graph (Tarjan's strongly connected components of two or more files, or a file importing itself). */
export function cycles(graph: ReadonlyMap<string, ReadonlyArray<{ to: string; typeOnly: boolean }>>, withTypes: boolean): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next++);
    stack.push(file);
    for (const { to, typeOnly } of graph.get(file) ?? []) {
      if (typeOnly && !withTypes) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file)!, low.get(to)!));
      } else if (stack.includes(to)) low.set(file, Math.min(low.get(file)!, index.get(to)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do component.push((member = stack.pop()!));
    while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).some((e) => e.to === file)) found.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

const files = new Map(sourceFiles().map((path) => [path, readFileSync(path, "utf8")]));
const graph = importGraph(files);
const named = (found: string[][]) => found.map((cycle) => cycle.map((file) => relative(ROOT, file)).join(" <-> "));

describe("import circles", () => {
  it("no module imports a value from a module that imports it back (however far round)", () => {
    assert.deepEqual(named(cycles(graph, false)), []);
  });

  it("no circle even through type imports: a type shared by a registry and its entries lives in a file below both", () => {
    // e.g. components/environment.ts (what every host's component takes), components/accessComponent.ts,
    // components/aws-ecs/targetTypes.ts and components/gcp-cloudrun/targetTypes.ts (what a host and its targets give each other).
    assert.deepEqual(named(cycles(graph, true)), []);
  });

  it("the walk finds a circle where there is one, type imports counted only when asked", () => {
    const a = join(ROOT, "x/a.ts");
    const b = join(ROOT, "x/b.ts");
    const c = join(ROOT, "x/c.ts");
    const sample = new Map([
      [a, 'import { b } from "./b.js";\n'],
      [b, 'import {\n  c,\n} from "./c.ts";\n'],
      [c, 'import type { A } from "./a.ts";\nexport const c = 1;\n'],
    ]);
    assert.deepEqual(named(cycles(importGraph(sample), true)), ["x/a.ts <-> x/b.ts <-> x/c.ts"]);
    assert.deepEqual(named(cycles(importGraph(sample), false)), []);
  });
});
