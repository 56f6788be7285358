/**
 * The spec folder (src/spec/project.ts): found walking up from a folder; package.json
 * `"dbwarden": { "specs" }` first, then `dbwarden/`, then `stacks/`, each only when it holds specs;
 * a wrong setting is refused naming package.json and the setting; and every loader reads it
 * (plan, validate, the catalog, the CLI from a subfolder, loadPlan).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { planStack } from "../../src/plan/index.ts";
import { loadPlan } from "../../src/program.ts";
import { SpecError } from "../../src/spec/errors.ts";
import { listStacks, projectSpecFiles } from "../../src/spec/load.ts";
import { catalogFile, environmentFile, findSpecDir, findSpecProject, projectRoot, specDirOf, specProjectAt } from "../../src/spec/project.ts";
import { runCli } from "../support/cli.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const now = new Date("2026-11-21T12:00:00Z");
const temp = mkdtempSync(join(tmpdir(), "dbwarden-spec-folder-"));
after(() => rmSync(temp, { recursive: true, force: true }));

let n = 0;
/** A fresh folder under the temp folder with `files` (path -> text; a path ending in / is a folder). */
function folder(files: Record<string, string> = {}): string {
  const dir = join(temp, `p${++n}`);
  mkdirSync(dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    if (path.endsWith("/")) mkdirSync(join(dir, path), { recursive: true });
    else {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
  }
  return dir;
}

/** This repository's specs copied into `dir/<specs>`. */
function withSpecs(dir: string, specs: string): string {
  for (const part of ["environments", "workflows", "catalog"]) cpSync(join(ROOT, "stacks", part), join(dir, specs, part), { recursive: true });
  return dir;
}

const cli = (cwd: string, ...args: string[]) => runCli(cwd, now, ...args);

describe("the spec folder", () => {
  it("this repository: package.json names stacks/", () => {
    assert.deepEqual(findSpecProject(join(ROOT, "src", "spec")), {
      root: ROOT.replace(/\/$/, ""),
      specDir: join(ROOT, "stacks"),
      config: { specs: "stacks", program: "stacks/index.ts" },
    });
    assert.equal(environmentFile("prod", ROOT), "stacks/environments/prod.yaml");
    assert.equal(catalogFile("prod", ROOT), join(ROOT, "stacks", "catalog", "prod.json"));
  });

  it("package.json's setting first, then dbwarden/, then stacks/; a bare folder is no spec folder", () => {
    const both = folder({ "dbwarden/environments/": "", "stacks/workflows/": "" });
    assert.equal(findSpecDir(both), join(both, "dbwarden"));
    const onlyStacks = folder({ "dbwarden/README.md": "a clone of this repository, say", "stacks/environments/": "" });
    assert.equal(findSpecDir(onlyStacks), join(onlyStacks, "stacks"), "a dbwarden/ folder without environments/ or workflows/ is not one");
    const configured = folder({ "package.json": JSON.stringify({ dbwarden: { specs: "infra/specs" } }), "infra/specs/": "", "dbwarden/environments/": "" });
    assert.equal(findSpecDir(join(configured, "infra")), join(configured, "infra", "specs"), "the setting wins, and is found from below");
    const bare = folder({ "stacks/": "", "dbwarden/": "" });
    assert.equal(specProjectAt(bare), undefined, "empty dbwarden/ and stacks/ folders are not spec folders");
  });

  it("the nearest project wins, walking up; none found: the working directory, dbwarden/ named in hints", () => {
    const outer = folder({ "dbwarden/workflows/": "", "app/stacks/environments/": "", "app/src/x/": "" });
    assert.equal(findSpecDir(join(outer, "app", "src", "x")), join(outer, "app", "stacks"));
    assert.equal(findSpecDir(join(outer, "dbwarden", "workflows")), join(outer, "dbwarden"));
    const none = folder();
    assert.equal(projectRoot(none), none);
    assert.equal(specDirOf(none), join(none, "dbwarden"));
  });

  it("a wrong setting is refused, naming package.json, the setting and the fix", () => {
    const missing = folder({ "package.json": JSON.stringify({ dbwarden: { specs: "infra/dbwarden" } }) });
    assert.throws(
      () => findSpecDir(missing),
      (error: SpecError) => {
        assert.ok(error instanceof SpecError);
        assert.match(
          error.message,
          /package\.json: error at dbwarden\.specs: the spec folder "infra\/dbwarden" does not exist \(create it with `npx dbwarden init --dir infra\/dbwarden`, or fix the path\)/,
        );
        return true;
      },
    );
    const typo = folder({ "package.json": JSON.stringify({ dbwarden: { spec: "x" } }) });
    assert.throws(() => findSpecDir(typo), /error at dbwarden\.spec: unknown setting "spec" \(settings: specs, program\)/);
    const notObject = folder({ "package.json": JSON.stringify({ dbwarden: "infra" }) });
    assert.throws(() => findSpecDir(notObject), /"dbwarden" must be an object of settings/);
  });

  it("every loader reads the configured folder: stacks, files, plan, catalog, loadPlan, and the CLI from a subfolder", async () => {
    const project = withSpecs(folder({ "package.json": JSON.stringify({ dbwarden: { specs: "config/access" } }), "src/app/": "" }), "config/access");
    assert.deepEqual(listStacks(project), ["dev", "local", "mixed", "prod", "snowflake"]);
    assert.equal(projectSpecFiles(project).length, 10);
    assert.deepEqual(planStack("prod", { root: project, now }), planStack("prod", { root: ROOT, now }));
    const loaded = loadPlan({ stack: "prod", cwd: join(project, "src", "app"), now, logNotes: false });
    assert.equal(loaded.catalogSource, "config/access/catalog/prod.json");
    assert.deepEqual(loaded.plan, planStack("prod", { root: ROOT, now }));
    const plan = await cli(join(project, "src", "app"), "plan", "--stack", "prod", "--json");
    assert.equal(plan.code, 0, plan.stderr);
    assert.equal(JSON.parse(plan.stdout).environment, "prod");
    const unknown = await cli(project, "plan", "--stack", "qa");
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /^config\/access\/environments\/qa\.yaml: error: no environment for stack "qa" \(known stacks: dev, local, mixed, prod, snowflake\)/,
    );
  });

  it("loadPlan takes a spec folder apart from the program, and names a missing catalog snapshot", () => {
    const specs = withSpecs(folder(), "elsewhere");
    const program = folder();
    const loaded = loadPlan({ stack: "dev", cwd: program, specDir: join(specs, "elsewhere"), now, logNotes: false });
    assert.equal(loaded.plan.environment, "dev");
    rmSync(join(specs, "elsewhere", "catalog", "dev.json"));
    assert.throws(
      () => loadPlan({ stack: "dev", cwd: program, specDir: join(specs, "elsewhere"), now, logNotes: false }),
      /elsewhere\/catalog\/dev\.json: no catalog snapshot for environment "dev"/,
    );
  });

  it("review reads the base's specs from the configured folder too", async () => {
    const project = withSpecs(folder({ "package.json": JSON.stringify({ private: true, dbwarden: { specs: "config/access" } }) }), "config/access");
    const git = (...args: string[]) => execFileSync("git", args, { cwd: project, stdio: "pipe" });
    git("init", "-q", "-b", "main");
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A");
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base");
    const workflow = join(project, "config/access/workflows/finance-weekly-revenue.yaml");
    writeFileSync(workflow, readFileSync(workflow, "utf8").replace("maxRows: 5000", "maxRows: 9000"));
    const review = await cli(project, "review", "--base", "main", "--stack", "prod", "--format", "json", "--no-check");
    assert.equal(review.code, 0, review.stderr);
    const prod = JSON.parse(review.stdout).stacks[0];
    assert.equal(prod.comparison, "compared", "the base was found in config/access at main");
    assert.deepEqual(
      prod.diff.changes.map((c: { summary: string }) => c.summary),
      ["finance-weekly-revenue: rows per result 5000 -> 9000"],
    );
  });
});
