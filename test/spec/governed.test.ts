/**
 * Masks, row filters and reporting views in the spec: what validation accepts and refuses, in
 * the file, at the field, with what to do; against the environment (sensitive columns, the
 * target's platform) and, where the environment has a catalog snapshot, its tables, columns and
 * types. The SQL checker's own cases are in test/sql/check.test.ts.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Problem } from "../../src/spec/errors.ts";
import { loadStack, validateInProject } from "../../src/spec/load.ts";
import { replaceOnce, tempProject } from "./support/project.ts";

const now = new Date("2026-11-21T12:00:00Z");
const ASSISTANT = "stacks/workflows/account-assistant.yaml";
const LOCAL = "stacks/environments/local.yaml";
const shown = (problems: readonly Problem[]) => problems.map((p) => `${p.file}:${p.line} ${p.path}: ${p.message}`);
const check = (root: string, ...files: string[]) => validateInProject(files, { cwd: root, now, expired: "error" });

test("the example: a masked sensitive column needs no justification, and the rest validates", (t) => {
  const project = tempProject();
  t.after(project.remove);
  assert.deepEqual(shown(check(project.root, ASSISTANT).problems), []);
});

test("unmasked, the sensitive column needs a justification again", (t) => {
  const project = tempProject({ [ASSISTANT]: replaceOnce("          mask: email-domain\n", "") });
  t.after(project.remove);
  assert.deepEqual(shown(check(project.root, ASSISTANT).problems), [
    `${ASSISTANT}:30 scope.support.tickets.columns.requester_email: column "support.tickets.requester_email" ` +
      `is classified sensitive in environment "local" and needs a \`justification\` or a \`mask\``,
  ]);
});

test("a reporting view reading a sensitive column needs a justification", (t) => {
  const project = tempProject({ [ASSISTANT]: replaceOnce("count(DISTINCT e.account_id) AS accounts", "count(DISTINCT e.ip_address) AS accounts") });
  t.after(project.remove);
  assert.deepEqual(shown(check(project.root, ASSISTANT).problems), [
    `${ASSISTANT}:40 views.plan_weekly_usage: view "plan_weekly_usage" reads analytics.usage_events.ip_address, ` +
      `classified sensitive in environment "local", and has no \`justification\``,
  ]);
});

test("masks, row filters and reporting views are refused on a target that does not enforce them", (t) => {
  const project = tempProject({
    [LOCAL]: (text) =>
      replaceOnce(
        "    platform: postgres\n",
        "    platform: snowflake\n    account: myorg-myaccount\n    warehouse: agents\n",
      )(text).replace(/ {4}publicPrivileges:\n {6}revoke: .*\n/, ""),
  });
  t.after(project.remove);
  const problems = check(project.root, ASSISTANT).problems.filter((p) => p.message.includes("PostgreSQL targets only"));
  assert.deepEqual(
    problems.map((p) => p.path),
    [
      "scope.analytics.usage_events.columns.user_id.mask",
      "scope.analytics.usage_events.rowFilter",
      "scope.support.tickets.columns.requester_email.mask",
      "scope.support.tickets.rowFilter",
      "views.plan_weekly_usage",
    ],
  );
});

test("with a catalog snapshot: the columns a filter or view reads, and the type a mask applies to", (t) => {
  const project = tempProject({
    [ASSISTANT]: (text) =>
      text
        .replace("rowFilter: account_id = client.account_id\n  support:", "rowFilter: acount_id = client.account_id\n  support:")
        .replace("          mask: email-domain", "          mask: year")
        .replace("JOIN app.accounts a ON a.id = e.account_id", "JOIN app.accounts a ON a.id = e.account_id AND a.deleted IS NULL"),
  });
  t.after(project.remove);
  mkdirSync(join(project.root, "stacks", "catalog"), { recursive: true });
  writeFileSync(
    join(project.root, "stacks", "catalog", "local.json"),
    JSON.stringify({
      "analytics.usage_events": {
        id: "bigint",
        account_id: "bigint",
        user_id: "bigint",
        event_type: "text",
        occurred_at: "timestamp with time zone",
        quantity: "integer",
        ip_address: "inet",
      },
      "support.tickets": {
        id: "bigint",
        account_id: "bigint",
        requester_email: "text",
        subject: "text",
        priority: "text",
        status: "text",
        opened_at: "timestamp with time zone",
        closed_at: "timestamp with time zone",
      },
      "app.accounts": { id: "bigint", plan: "text" },
    }),
  );
  assert.deepEqual(shown(check(project.root, ASSISTANT).problems), [
    `${ASSISTANT}:42 views.plan_weekly_usage.sql: view "plan_weekly_usage" reads app.accounts.deleted, which stacks/catalog/local.json does not list`,
    `${ASSISTANT}:23 scope.analytics.usage_events.rowFilter: the row filter reads ` +
      `analytics.usage_events.acount_id, which stacks/catalog/local.json does not list`,
    `${ASSISTANT}:32 scope.support.tickets.columns.requester_email.mask: support.tickets.requester_email ` +
      `(stacks/catalog/local.json): mask year applies to date and timestamp columns; this one is text`,
  ]);
  // The stack's loader holds it to the same rules.
  assert.throws(() => loadStack("local", { root: project.root, now }), /mask year applies to date and timestamp columns; this one is text/);
});
