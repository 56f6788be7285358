/**
 * The project's program as Pulumi's Node.js language host runs it (src/policy/program.ts): what
 * Pulumi.yaml says about TypeScript and loaders, ESM or CommonJS by package.json, and what the
 * module stands for (an exported function is called and awaited; an ESM default export is the
 * program, and a default next to named exports is refused as Pulumi refuses it).
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { moduleKindOf, pulumiRuntime, runExport } from "../../src/policy/program.ts";

describe("the program as Pulumi runs it", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbwarden-program-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (file: string, text: string) => {
    mkdirSync(join(dir, file, ".."), { recursive: true });
    writeFileSync(join(dir, file), text);
    return join(dir, file);
  };

  it("reads Pulumi.yaml: the loaders nodeargs names and whether TypeScript is on (Pulumi's default: on)", () => {
    write(
      "a/Pulumi.yaml",
      'name: a\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n    nodeargs: "--import tsx --require ./setup.cjs --loader=ts-node/esm"\n',
    );
    assert.deepEqual(pulumiRuntime(join(dir, "a", "stacks")), {
      dir: join(dir, "a"),
      typescript: false,
      preloads: [
        { flag: "import", module: "tsx" },
        { flag: "require", module: "./setup.cjs" },
        { flag: "loader", module: "ts-node/esm" },
      ],
    });
    write("b/Pulumi.yaml", "name: b\nruntime: nodejs\n");
    assert.deepEqual(pulumiRuntime(join(dir, "b")), { dir: join(dir, "b"), typescript: true, preloads: [] });
    const none = mkdtempSync(join(tmpdir(), "dbwarden-no-pulumi-"));
    try {
      assert.deepEqual(pulumiRuntime(none), { dir: none, typescript: true, preloads: [] }, "no Pulumi.yaml: Pulumi's defaults, in the program's folder");
    } finally {
      rmSync(none, { recursive: true, force: true });
    }
  });

  it("ESM or CommonJS by the nearest package.json's type, as Pulumi decides (.mjs/.cjs by their extension)", () => {
    write("esm/package.json", '{ "type": "module" }');
    write("esm/cjs/package.json", '{ "type": "commonjs" }');
    assert.equal(moduleKindOf(write("esm/index.ts", "")), "esm");
    assert.equal(moduleKindOf(write("esm/cjs/index.ts", "")), "cjs");
    assert.equal(moduleKindOf(write("esm/cjs/index.mjs", "")), "esm");
    assert.equal(moduleKindOf(write("esm/index.cts", "")), "cjs");
  });

  it("calls an exported function and awaits it; takes an ESM default export; refuses a default next to named exports", async () => {
    const calls: string[] = [];
    assert.equal(await runExport(async () => (calls.push("cjs"), "declared"), "cjs"), "declared");
    assert.equal(await runExport({ default: async () => (calls.push("esm default"), 42) }, "esm"), 42);
    assert.deepEqual(await runExport({ mcpUrl: "x" }, "esm"), { mcpUrl: "x" }, "named exports: the module is the program's outputs");
    assert.deepEqual(calls, ["cjs", "esm default"]);
    await assert.rejects(
      runExport({ default: async () => 1, mcpUrl: "x" }, "esm"),
      /expected entrypoint module to have either a default export or named exports but not both/,
    );
    await assert.rejects(
      runExport(async () => {
        throw new Error("the program failed");
      }, "cjs"),
      /the program failed/,
    );
  });
});
