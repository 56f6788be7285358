/**
 * classifyChanges: which changed paths are "the reviewer" (code that decides or reports access, issue
 * 17 case 4) and what each is, without git. A spec, a test, a benchmark or a document is not; the
 * program is named as package.json names it, in a project below the repository's top too.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyChanges } from "../../src/review/code.ts";

const what = (paths: string[], prefix = "", programs = ["stacks/index.ts"]) =>
  Object.fromEntries(classifyChanges(paths, prefix, programs).map((c) => [c.path, c.what]));

describe("classifyChanges", () => {
  it("names each kind of reviewer code", () => {
    assert.deepEqual(
      what([
        "stacks/index.ts",
        "src/review/diff.ts",
        "src/policy/check.ts",
        "src/plan/build.ts",
        "policies/config/prod.json",
        "components/aws/mcpService.ts",
        "mcp-server/src/sql/check.ts",
        "Pulumi.yaml",
        "stacks/Pulumi.prod.yaml",
        "package-lock.json",
        ".npmrc",
        ".github/workflows/pull-request.yml",
        "stacks/helpers.ts",
      ]),
      {
        ".github/workflows/pull-request.yml": "the CI that runs the review and the checks",
        ".npmrc": "the dependencies (dbwarden's version among them)",
        "Pulumi.yaml": "the Pulumi project and stack settings",
        "components/aws/mcpService.ts": "the components",
        "mcp-server/src/sql/check.ts": "the MCP server (the image built from it checks every query)",
        "package-lock.json": "the dependencies (dbwarden's version among them)",
        "policies/config/prod.json": "the policy pack and its thresholds",
        "src/plan/build.ts": "dbwarden's code (spec, plan, model, CLI)",
        "src/policy/check.ts": "the policy check (src/policy)",
        "src/review/diff.ts": "the review (src/review)",
        "stacks/Pulumi.prod.yaml": "the Pulumi project and stack settings",
        "stacks/helpers.ts": "code the deployment may run",
        "stacks/index.ts": "the Pulumi program",
      },
    );
  });

  it("CODEOWNERS wherever GitHub reads it, and the TypeScript settings, are the reviewer too", () => {
    assert.deepEqual(what(["CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS", "tsconfig.json", "mcp-server/tsconfig.build.json"]), {
      ".github/CODEOWNERS": "the code owners (who must approve)",
      CODEOWNERS: "the code owners (who must approve)",
      "docs/CODEOWNERS": "the code owners (who must approve)",
      "mcp-server/tsconfig.build.json": "the TypeScript settings the program and the image are built with",
      "tsconfig.json": "the TypeScript settings the program and the image are built with",
    });
  });

  it("specs, the catalog, tests, benchmarks and documents are not: the plan comparison judges the specs", () => {
    assert.deepEqual(
      what([
        "stacks/workflows/finance-weekly-revenue.yaml",
        "stacks/environments/prod.yaml",
        "stacks/catalog/prod.json",
        "test/review/diff.test.ts",
        "bench/review.ts",
        "docs/review.md",
        "README.md",
      ]),
      {},
    );
  });

  it("in a project below the repository's top, paths are judged from the project root; outside it, by name only", () => {
    assert.deepEqual(what(["infra/stacks/index.ts", "infra/src/review/diff.ts", "infra/stacks/prod.yaml", "web/src/review/page.ts"], "infra/"), {
      "infra/src/review/diff.ts": "the review (src/review)",
      "infra/stacks/index.ts": "the Pulumi program",
      "web/src/review/page.ts": "code the deployment may run",
    });
  });

  it("the program at the base counts as well as the head's (a change that moves the program is named)", () => {
    assert.deepEqual(what(["old/program.ts", "new/program.ts"], "", ["new/program.ts", "old/program.ts"]), {
      "new/program.ts": "the Pulumi program",
      "old/program.ts": "the Pulumi program",
    });
  });
});
