/**
 * `dbwarden check` runs a project's own Pulumi program the way Pulumi runs it (issue 17, case 7),
 * through the real bin: a CommonJS program exporting an async function, an ESM program with a
 * default export, a CommonJS TypeScript program (ts-node registered as Pulumi registers it) are
 * called and judged; a program that declares nothing is an error (exit 1), not "0 resources,
 * passed", and the review shows the check as failed. The project is a copy of this one whose
 * package.json names the program; components/, src/, packages/ and node_modules/ are links.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT } from "../policy/support/project.ts";

const bin = join(ROOT, "bin/dbwarden.js");
const PASSED =
  /^Policy check of stack "prod" as of \d{4}-\d{2}-\d{2}: dbwarden policy pack 0\.1\.0, 29 policies, 121 resources\.\n\n0 mandatory violations, 0 advisory violations, 0 not judged: passed\.\n$/;

/** The programs, each written to its path under the project (`deploy` imports the sources as a published program imports dbwarden). */
const PROGRAMS: Record<string, Record<string, string>> = {
  "cjs-function": {
    "programs/cjs/package.json": '{ "type": "commonjs" }\n',
    "programs/cjs/index.js": [
      "// The README's CommonJS form: an exported async function, which Pulumi calls.",
      'const { join } = require("node:path");',
      "module.exports = async () => {",
      '  const { deployStack } = await import("../../src/program.ts");',
      '  return deployStack({ cwd: join(__dirname, "..", "..") });',
      "};",
      "",
    ].join("\n"),
  },
  "esm-default": {
    "programs/esm/index.js": [
      'import { fileURLToPath } from "node:url";',
      'import { deployStack } from "../../src/program.ts";',
      'export default async () => deployStack({ cwd: fileURLToPath(new URL("../..", import.meta.url)) });',
      "",
    ].join("\n"),
  },
  "cjs-typescript": {
    "programs/cts/package.json": '{ "type": "commonjs" }\n',
    "programs/cts/index.ts": [
      'import { join } from "node:path";',
      "const program = async (): Promise<unknown> => {",
      '  const { deployStack } = await import("../../src/program.ts");',
      '  return deployStack({ cwd: join(__dirname, "..", "..") });',
      "};",
      "module.exports = program;",
      "",
    ].join("\n"),
  },
  empty: { "programs/empty/index.js": "export default async () => {};\n" },
  "default-and-named": {
    "programs/both/index.js": 'export const mcpUrl = "https://mcp.example.com";\nexport default async () => {};\n',
  },
};
const ENTRY: Record<string, string> = {
  "cjs-function": "programs/cjs/index.js",
  "esm-default": "programs/esm/index.js",
  "cjs-typescript": "programs/cts/index.ts",
  empty: "programs/empty/index.js",
  "default-and-named": "programs/both/index.js",
};

describe("dbwarden check runs the program as Pulumi runs it", { timeout: 300_000 }, () => {
  let root: string;
  const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dbwarden: Record<string, string> };
  /** Point package.json at a program (and, optionally, write a Pulumi.yaml). */
  const use = (program: string, pulumiYaml?: string) => {
    writeFileSync(join(root, "package.json"), JSON.stringify({ ...manifest, dbwarden: { ...manifest.dbwarden, program: ENTRY[program] } }, null, 2));
    rmSync(join(root, "Pulumi.yaml"), { force: true });
    if (pulumiYaml) writeFileSync(join(root, "Pulumi.yaml"), pulumiYaml);
  };
  const check = (env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [bin, "check", "--stack", "prod"], { cwd: root, encoding: "utf8", timeout: 180_000, env: { ...process.env, ...env } });

  before(() => {
    root = mkdtempSync(join(tmpdir(), "dbwarden-check-programs-"));
    cpSync(join(ROOT, "stacks"), join(root, "stacks"), { recursive: true });
    cpSync(join(ROOT, "policies", "config"), join(root, "policies", "config"), { recursive: true });
    cpSync(join(ROOT, "policies", "package.json"), join(root, "policies", "package.json"));
    for (const linked of ["components", "src", "packages", "node_modules"]) symlinkSync(join(ROOT, linked), join(root, linked), "dir");
    for (const files of Object.values(PROGRAMS)) {
      for (const [file, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, file)), { recursive: true });
        writeFileSync(join(root, file), text);
      }
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("CommonJS `module.exports = async () => {...}`: called, its resources judged", () => {
    use("cjs-function");
    const r = check();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, PASSED);
  });

  it("ESM `export default async () => ...`: called, its resources judged", () => {
    use("esm-default");
    const r = check();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, PASSED);
  });

  it("a CommonJS TypeScript program runs through ts-node, registered as Pulumi registers it", () => {
    use("cjs-typescript");
    // Pulumi's own switch for ts-node's transpile-only mode: the program imports dbwarden's .ts sources.
    const r = check({ PULUMI_NODEJS_TRANSPILE_ONLY: "true" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, PASSED);
    use("cjs-typescript", "name: dbwarden\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n");
    const off = check();
    assert.equal(off.status, 1);
    assert.match(
      off.stderr,
      /cannot check stack prod: programs\/cts\/index\.ts is TypeScript, and Pulumi\.yaml turns Pulumi's TypeScript support off \(runtime\.options\.typescript: false\) without a loader in runtime\.options\.nodeargs: Pulumi could not run it either/,
    );
  });

  it("a program that declares nothing is an error (exit 1), not a pass over nothing", () => {
    use("empty");
    const r = check();
    assert.equal(r.status, 1, r.stdout);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /cannot check stack prod: the Pulumi program programs\/empty\/index\.js declared no resource for stack "prod": nothing was judged/);
    use("default-and-named");
    const both = check();
    assert.equal(both.status, 1);
    assert.match(both.stderr, /expected entrypoint module to have either a default export or named exports but not both/);
  });

  it("the review shows that check as failed, saying why", () => {
    use("empty");
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: root, encoding: "utf8" });
    git("init", "-q", "-b", "main");
    git("add", "stacks", "package.json");
    git("commit", "-qm", "base");
    const r = spawnSync(process.execPath, [bin, "review", "--base", "main", "--stack", "prod"], { cwd: root, encoding: "utf8", timeout: 180_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\| `prod` \| no access change \| ⚠️ check failed \| — \|/);
    assert.match(r.stdout, /\*\*Policy check \(head\)\*\*: could not run: the Pulumi program programs\/empty\/index\.js declared no resource for stack "prod"/);
    assert.match(r.stdout, /> - `programs\/empty\/index\.js`: the Pulumi program\n/, "the new program is code the reviewer names");
  });
});
