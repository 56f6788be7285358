/**
 * Validate-time help for two mistakes that otherwise surface late or in the wrong words:
 * - a top-level key indented under another (`limits:` under `scope:`) is one problem at the key
 *   saying it belongs at the top level, instead of problems about a schema named "limits";
 * - a workflow naming a table or column (a typo in `exclude`, a described column) that the
 *   environment's committed catalog snapshot lacks is refused by `validate`, at the file and line
 *   naming it, with the closest real name: what the components and `up` would refuse later.
 * And the `# CHANGE` markers `init` leaves: only comments starting with the word count.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { Problem } from "../../src/spec/errors.ts";
import { parseSpecText } from "../../src/spec/parse.ts";
import { placeholderProblems } from "../../src/spec/placeholders.ts";
import { runCli } from "../support/cli.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const now = new Date("2026-11-21T12:00:00Z");

const WORKFLOW_HEAD = `apiVersion: dbwarden/v1
kind: Workflow
name: weekly
owner: analytics
description: Weekly numbers.
target: app
`;

function problemsOf(text: string): Problem[] {
  const problems: Problem[] = [];
  parseSpecText("w.yaml", text, problems);
  return problems;
}

const lines = (problems: readonly Problem[]) => problems.map((p) => `${p.line}:${p.column} ${p.path}: ${p.message} (${p.hint ?? ""})`);

describe("a top-level key indented under another", () => {
  it("`limits:` under `scope:`: one problem at the key, saying where it belongs", () => {
    const problems = problemsOf(`${WORKFLOW_HEAD}scope:
  public:
    orders:
      columns:
        id: Order id.
  limits:
    statementTimeout: 30s
    maxRows: 5000
clients:
  - name: agent
    auth: api-key
`);
    assert.deepEqual(lines(problems), [
      "12:3 scope.limits: `limits` belongs at the top level of the Workflow, not under `scope` (there it reads as " +
        'a schema named "limits") (move `limits:` left, to the indentation of `scope:`; YAML nests by indentation)',
    ]);
  });

  it("under a table, and `clients:` (required at the top level): the top level's missing key is not reported on top", () => {
    const problems = problemsOf(`${WORKFLOW_HEAD}scope:
  public:
    orders:
      columns:
        id: Order id.
      limits: { maxRows: 10 }
  clients:
    - name: agent
      auth: api-key
`);
    assert.deepEqual(lines(problems), [
      "12:7 scope.public.orders.limits: `limits` belongs at the top level of the Workflow, not under `scope.public.orders` " +
        "(there it reads as an unknown key) (move `limits:` left, to the indentation of `scope:`; YAML nests by indentation)",
      "13:3 scope.clients: `clients` belongs at the top level of the Workflow, not under `scope` (there it reads as " +
        'a schema named "clients") (move `clients:` left, to the indentation of `scope:`; YAML nests by indentation)',
    ]);
  });

  it("an Environment: `workflows:` under `mcpServer:`", () => {
    const problems = problemsOf(`apiVersion: dbwarden/v1
kind: Environment
name: local
targets:
  app:
    platform: postgres
    database: app
    credentials: { mode: password, rotationDays: 30 }
    logging: { statements: log-statement, retentionDays: 7 }
mcpServer:
  port: 7300
  workflows: [weekly]
`);
    assert.deepEqual(lines(problems), [
      "12:3 mcpServer.workflows: `workflows` belongs at the top level of the Environment, not under `mcpServer` (there it " +
        "reads as an unknown key) (move `workflows:` left, to the indentation of `mcpServer:`; YAML nests by indentation)",
    ]);
  });

  it("a key of the same name where it is known keeps its own problem; a schema named like a top-level key that is valid is no problem", () => {
    const described = problemsOf(`${WORKFLOW_HEAD}scope:
  public:
    orders:
      description: 5
      columns:
        id: Order id.
clients:
  - name: agent
    auth: api-key
`);
    assert.deepEqual(lines(described), ["10:20 scope.public.orders.description: expected string, got number 5 ()"]);
    const schemaNamedLimits = problemsOf(`${WORKFLOW_HEAD}scope:
  limits:
    quotas:
      columns:
        id: Quota id.
clients:
  - name: agent
    auth: api-key
`);
    assert.deepEqual(schemaNamedLimits, []);
  });
});

describe("the # CHANGE markers init leaves", () => {
  it("only comments whose text starts with the word: not prose, not a quoted value; column and line exact", () => {
    const text = [
      "region: us-east-1 # CHANGE: the AWS region",
      "# CHANGE: the secret of the master user",
      "# (continued)",
      'name: "# CHANGE is not a comment here" # CHANGED later',
      "# Lines marked CHANGE hold example values",
      "subnets: [a, b] #CHANGE",
      "",
    ].join("\n");
    assert.deepEqual(
      placeholderProblems("f.yaml", text).map((p) => `${p.line}:${p.column} ${p.message} (${p.hint})`),
      [
        "1:19 an example value from `dbwarden init` is still marked CHANGE: the AWS " +
          "region (put your own value on this line, then delete the `# CHANGE` comment)",
        "2:1 an example value from `dbwarden init` is still marked CHANGE: the secret of the " +
          "master user (put your own value on the line below, then delete the `# CHANGE` comment)",
        "6:17 an example value from `dbwarden init` is still marked CHANGE: replace it (put your own value on this line, then delete the `# CHANGE` comment)",
      ],
    );
  });
});

describe("workflows against the committed catalog snapshot (validate)", () => {
  const temp = mkdtempSync(join(tmpdir(), "dbwarden-snapshot-check-"));
  after(() => rmSync(temp, { recursive: true, force: true }));
  /** This repository's specs in a temp project, with edits to the cs-usage-drop workflow. */
  function project(edit: (text: string) => string): string {
    const dir = mkdtempSync(join(temp, "p"));
    for (const part of ["environments", "workflows", "catalog"]) cpSync(join(ROOT, "stacks", part), join(dir, "stacks", part), { recursive: true });
    const file = join(dir, "stacks", "workflows", "cs-usage-drop.yaml");
    writeFileSync(file, edit(readFileSync(file, "utf8")));
    return dir;
  }

  it(
    "a typo in `exclude`, a described column and a table the snapshot lacks: each " +
      "at its line, with the closest name, for each environment with a snapshot",
    async () => {
      const dir = project((text) =>
        text
          .replace("exclude: [ip_address]", "exclude: [ip_address, quantty]")
          .replace("        event_type: ", "        event_typ: ")
          .replace("    tickets:\n", "    ticket:\n"),
      );
      const r = await runCli(dir, now, "validate");
      assert.equal(r.code, 1, r.stdout);
      const shown = r.stderr.trim().split("\n");
      const file = "stacks/workflows/cs-usage-drop.yaml";
      const hint = "if the table changed, `npx dbwarden catalog --stack prod --url <admin url>` writes the snapshot again";
      // Every environment enabling the workflow has a committed snapshot but local (its live database is checked by up).
      const withSnapshot = ["dev", "gcp-iam", "gcp", "prod"];
      for (const env of withSnapshot) {
        const h = hint.replace("prod", env);
        assert.ok(
          shown.includes(
            `${file}:24:29: error at scope.analytics.usage_events.exclude[1]: column ` +
              `quantty of analytics.usage_events is not in stacks/catalog/${env}.json, the ` +
              `catalog snapshot of environment "${env}" (did you mean "quantity"?) (fix the name: an excluded name that matches no column hides nothing; ${h})`,
          ),
          r.stderr,
        );
        assert.ok(
          shown.includes(
            `${file}:26:9: error at scope.analytics.usage_events.columns.event_typ: column event_typ of analytics.usage_events is not in ` +
              `stacks/catalog/${env}.json, the catalog snapshot of environment "${env}" (did you mean "event_type"?) (fix the name; ${h})`,
          ),
          r.stderr,
        );
        assert.ok(
          shown.includes(
            `${file}:30:5: error at scope.support.ticket: table support.ticket is not in stacks/catalog/${env}.json, ` +
              `the catalog snapshot of environment "${env}" (did you mean "support.tickets"?) (fix the name; ${h})`,
          ),
          r.stderr,
        );
      }
      const problems = `${withSnapshot.length * 3} problems in 1 file(s).`;
      assert.equal(shown.at(-1), problems, "the local stack has no snapshot: its live database is checked by up");
      const named = await runCli(dir, now, "validate", file);
      assert.equal(named.code, 1);
      assert.equal(named.stderr.trim().split("\n").at(-1), problems, "a named workflow is checked against the snapshots too");
    },
  );

  it("the example project as committed passes", async () => {
    const r = await runCli(
      project((t) => t),
      now,
      "validate",
    );
    assert.equal(r.code, 0, r.stderr);
  });
});
