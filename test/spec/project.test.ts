/**
 * Files validated on their own are still checked against the project they belong to: the
 * environments and workflows under its stacks/ are loaded as context and every cross-document
 * rule runs. Shown: problems in the named files and problems elsewhere that are about them.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { findProjectRoot, validateFiles, validateInProject } from "../../src/spec/load.ts";
import type { Problem } from "../../src/spec/errors.ts";
import { insertAfter, replaceOnce, tempFolder, tempProject } from "./support/project.ts";

const now = new Date("2026-11-21T12:00:00Z");
const repo = new URL("../..", import.meta.url).pathname;
const check = (cwd: string, ...files: string[]) => validateInProject(files, { cwd, now, expired: "error" });
const where = (problems: readonly Problem[]) => problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.path}: ${p.message}`);

const CS = "stacks/workflows/cs-usage-drop.yaml";
const PROD = "stacks/environments/prod.yaml";
/** cs-usage-drop reads app.accounts.billing_email, which every example environment classifies sensitive. */
const grantBillingEmail = { [CS]: insertAfter("        name: Company name as entered at sign-up.", "        billing_email: Where invoices are sent.") };

test("a workflow validated alone is checked against the environments that enable it (sensitive column without justification)", (t) => {
  const project = tempProject(grantBillingEmail);
  t.after(project.remove);
  // What the old `validate <file>` did: the file on its own, no environment, no problem.
  assert.deepEqual(validateFiles([CS], { root: project.root, now }).problems, []);

  const result = check(project.root, CS);
  const message = (env: string) =>
    `${CS}:17:9 scope.app.accounts.columns.billing_email: column "app.accounts.billing_email" is ` +
    `classified sensitive in environment "${env}" and needs a \`justification\` or a \`mask\``;
  assert.deepEqual(where(result.problems), ["dev", "local", "prod"].map(message));
  assert.deepEqual(result.contextProblems, []);
  assert.deepEqual(result.contextFiles.sort(), [
    "stacks/environments/dev.yaml",
    "stacks/environments/local.yaml",
    PROD,
    "stacks/workflows/account-assistant.yaml",
    "stacks/workflows/eng-incident-investigation.yaml",
    "stacks/workflows/finance-weekly-revenue.yaml",
  ]);
  // The same from inside stacks/workflows: the project is found by walking up from the file.
  const inside = check(join(project.root, "stacks/workflows"), "cs-usage-drop.yaml");
  assert.deepEqual(
    inside.problems.map((p) => `${p.file}:${p.line}:${p.column}`),
    ["cs-usage-drop.yaml:17:9", "cs-usage-drop.yaml:17:9", "cs-usage-drop.yaml:17:9"],
  );
});

test("an environment validated alone reports the workflows it makes wrong, in their files", (t) => {
  // prod now classifies app.accounts.region sensitive; two workflows read it without a justification.
  const project = tempProject({ [PROD]: insertAfter("      - app.users.email", "      - app.accounts.region") });
  t.after(project.remove);
  const result = check(project.root, PROD);
  assert.deepEqual(
    result.problems.map((p) => `${p.file} ${p.path}: ${p.message}`),
    [
      `${CS} scope.app.accounts.columns.region: column "app.accounts.region" is classified ` +
        `sensitive in environment "prod" and needs a \`justification\` or a \`mask\``,
      `stacks/workflows/finance-weekly-revenue.yaml scope.app.accounts.columns.region: column "app.accounts.region" ` +
        `is classified sensitive in environment "prod" and needs a \`justification\` or a \`mask\``,
    ],
  );
  assert.ok(result.problems.every((p) => p.line > 0 && p.column > 0));
  assert.deepEqual(
    result.docs.map((d) => d.kind),
    ["Environment"],
  );
});

test("problems among other project files are counted, not shown; a file that does not load makes the check incomplete", (t) => {
  const project = tempProject({
    ...grantBillingEmail,
    "stacks/environments/dev.yaml": (text) => `${text}  bogus: [\n`,
  });
  t.after(project.remove);
  const result = check(project.root, "stacks/workflows/finance-weekly-revenue.yaml");
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.unloadedContextFiles, ["stacks/environments/dev.yaml"]);
  // cs-usage-drop's own problem (in local and prod) is not about finance-weekly-revenue.
  assert.deepEqual([...new Set(result.contextProblems.map((p) => p.file))].sort(), ["stacks/environments/dev.yaml", CS]);
  assert.equal(result.contextProblems.filter((p) => p.file === CS).length, 2);
});

test("a workflow renamed away from the name environments enable: their dangling references are shown", (t) => {
  const project = tempProject({ [CS]: replaceOnce("name: cs-usage-drop\n", "name: cs-usage\n") });
  t.after(project.remove);
  const result = check(project.root, CS);
  assert.deepEqual(
    result.problems.map((p) => `${p.file} ${p.path}: ${p.message}${p.hint ? ` (${p.hint})` : ""}`),
    ["dev", "local", "prod"].map(
      (env) =>
        `stacks/environments/${env}.yaml workflows[0]: workflow "cs-usage-drop" is enabled but no workflow document has that name (did you mean "cs-usage"?)`,
    ),
  );
});

test("a name already taken in the project is reported on the named copy", (t) => {
  const project = tempProject();
  t.after(project.remove);
  copyFileSync(join(project.root, CS), join(project.root, "stacks/workflows/copy.yaml"));
  const result = check(project.root, "stacks/workflows/copy.yaml");
  assert.deepEqual(where(result.problems), [`stacks/workflows/copy.yaml:4:7 name: workflow "cs-usage-drop" is defined twice (also in ${CS}:4)`]);
  assert.deepEqual(result.contextProblems, [], "the first copy is not reported a second time");
});

test("a file that is fine: no problems, checked against the other six files", (t) => {
  const project = tempProject();
  t.after(project.remove);
  for (const file of [CS, PROD]) {
    const result = check(project.root, file);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.contextProblems, []);
    assert.equal(result.contextFiles.length, 6);
    assert.deepEqual(result.outsideProject, []);
  }
});

test("a spec folder reached through a symbolic link is refused, naming the file and where it resolves", (t) => {
  const project = tempProject();
  const links = tempFolder();
  t.after(project.remove);
  t.after(links.remove);
  symlinkSync(join(project.root, "stacks"), join(links.root, "stacks"));
  // The link's folder holds stacks/, so it is the file's project; git would hold the link, not the
  // files, so the review could not read them at a base: refused, once (the file is not also context).
  const result = check(project.root, join(links.root, CS));
  assert.equal(result.problems.length, 1, JSON.stringify(result.problems));
  assert.match(result.problems[0]!.message, /^resolves outside the spec folder \(to .*\/stacks\/workflows\/cs-usage-drop\.yaml\) through a linked folder/);
  const direct = check(project.root, CS, join(links.root, CS));
  assert.equal(direct.docs.length, 1, "one file named twice is read once");
  assert.deepEqual(direct.problems, [], "through its own folder it is fine");
});

test("a file outside any project is checked against the other named files only", (t) => {
  const lone = tempFolder();
  t.after(lone.remove);
  assert.equal(findProjectRoot(lone.root), undefined, `${lone.root} must not lie under a folder holding stacks/`);
  copyFileSync(join(repo, CS), join(lone.root, "workflow.yaml"));
  const alone = check(lone.root, "workflow.yaml");
  assert.deepEqual(alone.problems, []);
  assert.deepEqual(alone.contextFiles, []);
  assert.deepEqual(alone.outsideProject, ["workflow.yaml"]);
  // With an environment beside it, the cross-document rules run between the two.
  writeFileSync(join(lone.root, "env.yaml"), environmentEnabling("cs-usage-drop"));
  const pair = check(lone.root, "env.yaml", "workflow.yaml");
  assert.deepEqual(where(pair.problems), ['workflow.yaml:9:9 target: target "app" does not exist in environment "lone" (env.yaml)']);
});

test("a file in no project falls back to the project of the working directory", (t) => {
  const lone = tempFolder();
  const project = tempProject();
  t.after(lone.remove);
  t.after(project.remove);
  mkdirSync(join(project.root, "docs"));
  const file = join(lone.root, "copy.yaml");
  copyFileSync(join(repo, CS), file);
  const result = check(join(project.root, "docs"), file);
  assert.equal(result.contextFiles.length, 7);
  assert.deepEqual(result.outsideProject, []);
  assert.match(result.problems.map((p) => p.message).join("\n"), /workflow "cs-usage-drop" is defined twice/);
});

/** A valid environment whose only target is "reporting", enabling `workflow`. */
function environmentEnabling(workflow: string): string {
  return [
    "apiVersion: dbwarden/v1",
    "kind: Environment",
    "name: lone",
    "targets:",
    "  reporting:",
    "    platform: postgres",
    "    database: demo",
    "    credentials: { mode: password, rotationDays: 30 }",
    "    logging: { statements: log-statement }",
    `workflows: [${workflow}]`,
    "",
  ].join("\n");
}
