/**
 * The shape of the server's source, read with the TypeScript parser: only the PostgreSQL engine
 * talks to its driver and parser, only the registry knows the engine folders, the transports and
 * the MCP surface know no SQL dialect, and every function fits on a screen.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import ts from "typescript";

const srcDir = new URL("../src/", import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const files = sourceFiles(srcDir).map((path) => {
  const text = readFileSync(path, "utf8");
  return { name: relative(srcDir, path), text, source: ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true) };
});

/** Every module a file imports or re-exports, statically or with `import()`. */
function importsOf(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier))
      found.push(node.moduleSpecifier.text);
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0]))
      found.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

test("the source was found", () => {
  assert.ok(
    files.some((f) => f.name === "index.ts") && files.some((f) => f.name === join("engines", "postgres", "index.ts")),
    files.map((f) => f.name).join(", "),
  );
});

test("only the PostgreSQL engine imports pg and libpg-query; only the registry imports an engine folder", () => {
  const offenders: string[] = [];
  for (const file of files) {
    const inPostgres = file.name.startsWith(join("engines", "postgres") + "/");
    for (const spec of importsOf(file.source)) {
      // The Cloud SQL rotator (rotator.ts) is its own process, not the server: it changes a password as the admin.
      const rotator = file.name === "rotator.ts" && spec === "pg";
      if ((spec === "pg" || spec.startsWith("pg/") || spec === "libpg-query") && !inPostgres && !rotator) offenders.push(`${file.name} imports ${spec}`);
      if (/(^|\/)engines\/postgres\/|^\.\/postgres\//.test(spec) && !inPostgres && file.name !== join("engines", "registry.ts"))
        offenders.push(`${file.name} imports ${spec}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test("the transports, identity, limits, audit, tools and the public entry know no SQL dialect", () => {
  const dialectFree = ["http.ts", "auth.ts", "limits.ts", "audit.ts", "tools.ts", "index.ts", "identity.ts"];
  const words = [/postgres/i, /\bSELECT\b/, /search_path/, /\bpg_\w+/, /\$\d/, /libpg/i];
  const found: string[] = [];
  for (const file of files.filter((f) => dialectFree.includes(f.name))) {
    for (const word of words) if (word.test(file.text)) found.push(`${file.name}: ${word}`);
  }
  assert.equal(files.filter((f) => dialectFree.includes(f.name)).length, dialectFree.length);
  assert.deepEqual(found, []);
});

test("no function is longer than 150 lines", () => {
  const long: string[] = [];
  for (const file of files) {
    const visit = (node: ts.Node) => {
      if (ts.isFunctionLike(node) && "body" in node && node.body) {
        const first = file.source.getLineAndCharacterOfPosition(node.getStart()).line;
        const last = file.source.getLineAndCharacterOfPosition(node.getEnd()).line;
        if (last - first + 1 > 150) long.push(`${file.name}:${first + 1} (${last - first + 1} lines)`);
      }
      ts.forEachChild(node, visit);
    };
    visit(file.source);
  }
  assert.deepEqual(long, []);
});
