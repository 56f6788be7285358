/** What a reload says it changed: plan differences in words, and one line per database. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { databaseChangeLine, describePlanChanges, formatReloadReport } from "../../src/local/changes.ts";
import type { AccessPlan, WorkflowPlan } from "../../src/plan/types.ts";
import { localPlan } from "../postgres/helpers.ts";

function withWorkflow(plan: AccessPlan, name: string, edit: (w: WorkflowPlan) => WorkflowPlan): AccessPlan {
  return { ...plan, workflows: plan.workflows.map((w) => (w.name === name ? edit(structuredClone(w)) : w)) };
}

test("describePlanChanges: clients, tables, columns, limits and workflows, in words", () => {
  const before = localPlan();
  assert.deepEqual(describePlanChanges(before, before), []);

  const after = withWorkflow(before, "cs-usage-drop", (w) => {
    w.clients = w.clients.filter((c) => c.name !== "n8n-cs-digest");
    w.clients.push({ ...w.clients[0]!, name: "claude-cs-2" });
    const accounts = w.tables.find((t) => t.table === "accounts")!;
    if (accounts.rule.access !== "only") throw new Error("expected an allowlist");
    accounts.rule = { access: "only", columns: [...accounts.rule.columns.filter((c) => c !== "region"), "billing_email"] };
    w.tables = w.tables.filter((t) => t.table !== "tickets");
    w.limits.maxRows = 500;
    return w;
  });
  const removed = { ...after, workflows: after.workflows.filter((w) => w.name !== "finance-weekly-revenue") };
  assert.deepEqual(describePlanChanges(before, removed), [
    "client claude-cs-2 added to workflow cs-usage-drop",
    "client n8n-cs-digest removed from workflow cs-usage-drop: its login role is dropped and its API key no longer works",
    "workflow cs-usage-drop can now read app.accounts column billing_email",
    "workflow cs-usage-drop can no longer read app.accounts column region",
    "workflow cs-usage-drop can no longer read support.tickets",
    "workflow cs-usage-drop limits: rows per result 1000 -> 500",
    "workflow finance-weekly-revenue removed: its roles are dropped and its clients' API keys no longer work",
  ]);
  assert.equal(
    describePlanChanges(removed, before).at(-1),
    "workflow finance-weekly-revenue added (clients n8n-finance-weekly; reads app.accounts, billing.invoices)",
  );

  const described = withWorkflow(before, "cs-usage-drop", (w) => ({ ...w, description: "Another description." }));
  assert.deepEqual(describePlanChanges(before, described), ["workflow cs-usage-drop: descriptions changed"]);
});

test("databaseChangeLine and the report's text", () => {
  assert.equal(databaseChangeLine("db", 0, []), null);
  assert.equal(
    databaseChangeLine("db", 5, [
      { kind: "missing-role", role: "dbw_a__new" },
      { kind: "privilege", role: "dbw_a" },
      { kind: "privilege", role: "dbw_a__new" },
      { kind: "stale-role", role: "dbw_old" },
    ]),
    "database db: 5 statements in one transaction (roles created: dbw_a__new; roles dropped: dbw_old; grants, memberships or settings changed for: dbw_a)",
  );
  assert.equal(formatReloadReport({ ok: true, changes: [] }, "local"), "The running local stack already matches the spec: nothing changed.\n");
  assert.equal(formatReloadReport({ ok: true, changes: ["x"] }, "local"), "Applied the changed spec to the running local stack:\n  - x\n");
  assert.equal(formatReloadReport({ ok: false, changes: [], error: "bad" }, "local"), "bad\nThe running local stack was left as it was.\n");
});

test("describePlanChanges: masks, row filters and reporting views, in words", () => {
  const before = localPlan();
  const after = withWorkflow(before, "account-assistant", (w) => {
    const tickets = w.tables.find((t) => t.table === "tickets")!;
    tickets.columns.find((c) => c.name === "requester_email")!.mask = null;
    tickets.columns.find((c) => c.name === "subject")!.mask = { kind: "last", characters: 4 };
    tickets.rowFilter = null;
    w.reportingViews = [];
    return w;
  });
  assert.deepEqual(describePlanChanges(before, after), [
    "workflow account-assistant reads support.tickets.requester_email in the clear (was masked (email-domain))",
    "workflow account-assistant reads support.tickets.subject masked (last:4) (was in the clear)",
    "workflow account-assistant reads every row of support.tickets (was the rows where account_id = client.account_id)",
    "workflow account-assistant can no longer read reporting view plan_weekly_usage",
  ]);
});
