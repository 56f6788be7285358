/**
 * Random mutations of valid specs (text-level and structure-level, thousands of cases) only ever
 * produce validation problems or a valid plan: never an exception, a stack trace or a problem
 * without a message.
 */
import { workflowPrivileges } from "../../src/postgres/model.ts";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import YAML from "yaml";
import { buildPlan } from "../../src/plan/build.ts";
import type { Problem } from "../../src/spec/errors.ts";
import { parseSpecText, type ParsedDoc } from "../../src/spec/parse.ts";
import { validateDocuments } from "../../src/spec/validate.ts";
import type { Environment, Workflow } from "../../src/spec/schema.ts";

const root = new URL("../..", import.meta.url).pathname;
const now = new Date("2026-11-21T12:00:00Z");
const seeds = [
  "test/fixtures/valid-minimal.yaml",
  "stacks/environments/prod.yaml",
  "stacks/workflows/eng-incident-investigation.yaml",
  "stacks/workflows/cs-usage-drop.yaml",
].map((f) => readFileSync(join(root, f), "utf8"));
const background = [
  "stacks/environments/prod.yaml",
  ...["cs-usage-drop", "finance-weekly-revenue", "eng-incident-investigation"].map((w) => `stacks/workflows/${w}.yaml`),
];

/** Parse + validate + (when valid) plan; returns problems. Any throw fails the property. */
function pipeline(text: string): Problem[] {
  const problems: Problem[] = [];
  const broken = new Set<string>();
  const docs: ParsedDoc[] = parseSpecText("mutant.yaml", text, problems, broken);
  // Validate the mutant together with the untouched example stack, as `validate` would.
  const others = background.flatMap((f) => parseSpecText(f, readFileSync(join(root, f), "utf8"), []));
  const names = new Set(docs.map((d) => `${d.kind}:${d.value.name}`));
  const all = [...docs, ...others.filter((d) => !names.has(`${d.kind}:${d.value.name}`))];
  problems.push(...validateDocuments(all, { now, expired: "allow" }, broken));
  for (const p of problems) {
    assert.equal(typeof p.message, "string");
    assert.ok(p.message.length > 0);
    assert.doesNotMatch(p.message, /\n\s+at |TypeError|ReferenceError|undefined is not/);
    assert.ok(Number.isInteger(p.line) && p.line >= 0 && Number.isInteger(p.column) && p.column >= 0);
  }
  if (problems.length === 0) {
    const workflows = all.filter((d) => d.kind === "Workflow").map((d) => d.value as Workflow);
    for (const env of all.filter((d) => d.kind === "Environment")) {
      const plan = buildPlan(env.value as Environment, workflows, now);
      JSON.parse(JSON.stringify(plan));
      for (const w of plan.workflows) {
        const tables = workflowPrivileges(w, "db")
          .filter((p) => p.privilege === "SELECT")
          .map((p) => `${"schema" in p ? p.schema : ""}.${"table" in p ? p.table : ""}`);
        assert.equal(new Set(tables).size, tables.length, "one SELECT privilege per table, never table + column");
      }
    }
  }
  return problems;
}

const nasty = fc.oneof(
  fc.constantFrom(
    "",
    "~",
    "null",
    "[]",
    "{}",
    "0",
    "-1",
    "1e309",
    "true",
    "*a",
    "&a x",
    "!!binary AA==",
    '"\\u0000"',
    "? x",
    "<<: *a",
    "'",
    '"',
    "|",
    ">",
    "- - -",
    "\t",
    "0.0.0.0/0",
    "dbwarden/v1",
    "Workflow",
    "Environment",
  ),
  fc.string({ maxLength: 12 }),
  fc.integer().map(String),
  fc.nat(60).map((n) => "[".repeat(n) + "]".repeat(n)),
);

const textMutation = fc.oneof(
  // replace a line
  fc.tuple(fc.nat(), nasty).map(
    ([i, s]) =>
      (lines: string[]) =>
        lines.map((l, j) => (j === i % lines.length ? s : l)),
  ),
  // delete a line
  fc.nat().map((i) => (lines: string[]) => lines.filter((_, j) => j !== i % lines.length)),
  // duplicate a line
  fc.nat().map((i) => (lines: string[]) => lines.flatMap((l, j) => (j === i % lines.length ? [l, l] : [l]))),
  // change a line's indentation
  fc.tuple(fc.nat(), fc.integer({ min: -4, max: 4 })).map(
    ([i, d]) =>
      (lines: string[]) =>
        lines.map((l, j) => (j === i % lines.length ? (d >= 0 ? " ".repeat(d) + l : l.slice(-d)) : l)),
  ),
  // splice random characters into a line
  fc.tuple(fc.nat(), fc.nat(), nasty).map(
    ([i, at, s]) =>
      (lines: string[]) =>
        lines.map((l, j) => (j === i % lines.length ? l.slice(0, at % (l.length + 1)) + s + l.slice(at % (l.length + 1)) : l)),
  ),
  // truncate
  fc.nat().map((n) => (lines: string[]) => lines.slice(0, n % (lines.length + 1))),
);

test("text mutations of valid specs never crash the loader", () => {
  fc.assert(
    fc.property(fc.nat(seeds.length - 1), fc.array(textMutation, { minLength: 1, maxLength: 4 }), (seed, mutations) => {
      let lines = seeds[seed]!.split("\n");
      for (const m of mutations) lines = m(lines);
      pipeline(lines.join("\n"));
    }),
    { numRuns: 2500, seed: 20261121, includeErrorInReport: true },
  );
});

/** All paths to values in a JS tree. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((v, i) => paths(v, [...prefix, i]))];
  if (value && typeof value === "object") return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
  return [prefix];
}

const replacement = fc.oneof(
  fc.constantFrom<unknown>(null, true, 0, -1, 1.5, "", "x", [], {}, ["a"], { a: 1 }, "2020-01-01", "0.0.0.0/0", "9999999999999999999999"),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.jsonValue({ maxDepth: 3 }),
);

test("structure mutations (delete, retype, rename keys) never crash the loader", () => {
  const trees = seeds.map((s) => YAML.parseAllDocuments(s).map((d) => d.toJS()));
  fc.assert(
    fc.property(
      fc.nat(seeds.length - 1),
      fc.nat(),
      fc.constantFrom("delete", "replace", "rename", "add"),
      replacement,
      fc.string({ maxLength: 10 }),
      (seed, pick, op, value, newKey) => {
        const docs = structuredClone(trees[seed]!) as unknown[];
        const all = docs.flatMap((d, i) => paths(d, [i])).filter((p) => p.length > 1);
        const path = all[pick % all.length]!;
        type Node = Record<PropertyKey, unknown>;
        const parent = path.slice(0, -1).reduce<Node>((node, k) => node[k] as Node, docs as unknown as Node);
        const key = path[path.length - 1]!;
        if (op === "delete") {
          if (Array.isArray(parent)) (parent as unknown[]).splice(key as number, 1);
          else delete parent[key];
        } else if (op === "replace") parent[key] = value;
        else if (op === "rename" && !Array.isArray(parent)) {
          parent[newKey] = parent[key];
          delete parent[key];
        } else if (op === "add" && !Array.isArray(parent)) parent[newKey || "extra"] = value;
        pipeline(docs.map((d) => YAML.stringify(d)).join("---\n"));
      },
    ),
    { numRuns: 2500, seed: 4242, includeErrorInReport: true },
  );
});

test("hostile YAML (alias bombs, huge input, deep nesting) gives problems, not crashes", () => {
  const bomb = [
    "a: &a [x,x,x,x,x,x,x,x,x,x]",
    ...Array.from(
      { length: 9 },
      (_, i) =>
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(",")}]`,
    ),
  ].join("\n");
  assert.ok(pipeline(bomb).length > 0);
  assert.ok(pipeline("x".repeat(3 * 1024 * 1024)).length > 0);
  assert.ok(pipeline("[".repeat(5000) + "]".repeat(5000)).length > 0);
  assert.ok(pipeline("a:\n" + Array.from({ length: 2000 }, (_, i) => " ".repeat(i + 1) + "b:").join("\n")).length > 0);
});
