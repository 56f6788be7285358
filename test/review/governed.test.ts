/**
 * The review of masks, row filters, client attributes and reporting views (docs/masks.md): each
 * change in words, widening or narrowing, a sensitive column unmasked listed as exposed, a new
 * reporting view drawn in the diagram, and a rename not recognised when any of them differs.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diffPlans } from "../../src/review/diff.ts";
import { renderDiagram } from "../../src/review/mermaid.ts";
import type { AccessPlan, WorkflowPlan } from "../../src/plan/types.ts";
import { localPlan } from "../postgres/helpers.ts";

const base = localPlan();
const edited = (edit: (w: WorkflowPlan) => void): AccessPlan => {
  const plan = structuredClone(base);
  edit(plan.workflows.find((w) => w.name === "account-assistant")!);
  return plan;
};
const tickets = (w: WorkflowPlan) => w.tables.find((t) => t.table === "tickets")!;
const lines = (after: AccessPlan, before = base) => diffPlans(before, after).changes.map((c) => `${c.direction} ${c.kind}: ${c.summary}`);

describe("review: masks, row filters and reporting views", () => {
  it("a mask removed is widening and exposes the sensitive column; added or made `redact`, narrowing; changed otherwise, widening", () => {
    const unmasked = edited((w) => (tickets(w).columns.find((c) => c.name === "requester_email")!.mask = null));
    assert.deepEqual(lines(unmasked), [
      "widening mask-removed: account-assistant reads support.tickets.requester_email in the clear (was masked (email-domain))",
    ]);
    assert.deepEqual(
      diffPlans(base, unmasked).sensitiveExposed.map((e) => [e.table, e.column]),
      [["support.tickets", "requester_email"]],
    );
    assert.deepEqual(lines(base, unmasked), [
      "narrowing mask-added: account-assistant reads support.tickets.requester_email masked (email-domain) (was in the clear)",
    ]);
    const redacted = edited((w) => (tickets(w).columns.find((c) => c.name === "requester_email")!.mask = { kind: "redact" }));
    assert.deepEqual(lines(redacted), [
      "narrowing mask-changed: account-assistant reads support.tickets.requester_email masked (redact) (was masked (email-domain))",
    ]);
    assert.deepEqual(lines(base, redacted), [
      "widening mask-changed: account-assistant reads support.tickets.requester_email masked (email-domain) (was masked (redact))",
    ]);
  });

  it("a row filter removed or rewritten is widening, added narrowing; a client's attributes changed is widening", () => {
    const rewritten = edited((w) => {
      tickets(w).rowFilter = { predicate: "account_id = client.account_id OR status = 'open'", columns: ["account_id", "status"], attributes: ["account_id"] };
      w.tables.find((t) => t.table === "usage_events")!.rowFilter = null;
      w.clients.find((c) => c.name === "initech-assistant")!.attributes = { account_id: 3 };
    });
    assert.deepEqual(lines(rewritten), [
      "widening filter-removed: account-assistant reads every row of analytics.usage_events (was the rows where account_id = client.account_id)",
      "widening filter-changed: account-assistant reads the rows where account_id = client.account_id " +
        "OR status = 'open' of support.tickets (was the rows where account_id = client.account_id)",
      "widening attributes-changed: account-assistant's client initech-assistant has attributes " +
        '{"account_id":3} (was {"account_id":2}): the rows its row filters give it change',
    ]);
    assert.ok(
      lines(base, rewritten).includes(
        "narrowing filter-added: account-assistant reads the rows where account_id = client.account_id of analytics.usage_events (was every row)",
      ),
    );
  });

  it("a reporting view added is a new access, drawn in the diagram; removed, narrowing; rewritten, widening", () => {
    const withView = edited((w) =>
      w.reportingViews.push({
        name: "paid_by_week",
        description: null,
        sql: "SELECT date_trunc('week', paid_at) AS week, sum(amount_cents) AS paid FROM billing.invoices GROUP BY week",
        columns: [
          { name: "week", description: null },
          { name: "paid", description: null },
        ],
        reads: [{ schema: "billing", table: "invoices", columns: ["amount_cents", "paid_at"] }],
        justification: null,
      }),
    );
    const diff = diffPlans(base, withView);
    assert.deepEqual(lines(withView), [
      "widening view-added: account-assistant gains reporting view paid_by_week (week, paid) over billing.invoices: " +
        "SELECT date_trunc('week', paid_at) AS week, sum(amount_cents) AS paid FROM billing.invoices GROUP BY week",
    ]);
    const diagram = renderDiagram(base, withView, diff)!.mermaid;
    assert.match(diagram, /\[\["<b>view dbw_account_assistant\.paid_by_week<\/b><br\/>over billing\.invoices"\]\]/);
    assert.match(diagram, /class w0t\w+ widening|class w0v\d+ widening/);
    assert.deepEqual(lines(base, withView), ["narrowing view-removed: account-assistant loses reporting view paid_by_week"]);
    const rewritten = edited((w) => (w.reportingViews[0]!.sql = w.reportingViews[0]!.sql.replace("count(*)", "sum(e.quantity)")));
    assert.match(
      lines(rewritten)[0]!,
      /^widening view-changed: account-assistant's reporting view plan_weekly_usage reads analytics\.usage_events, app\.accounts with a new SELECT/,
    );
  });

  it("a new workflow's masks, filters and views are in its changes; a rename is not recognised when a mask differs", () => {
    const without = structuredClone(base);
    without.workflows = without.workflows.filter((w) => w.name !== "account-assistant");
    const added = lines(base, without);
    assert.ok(
      added.some(
        (l) =>
          l.startsWith("widening table-added: account-assistant gains support.tickets: ") &&
          l.endsWith("; requester_email masked (email-domain); rows where account_id = client.account_id"),
      ),
    );
    assert.ok(added.some((l) => l.startsWith("widening view-added: account-assistant gains reporting view plan_weekly_usage")));
    assert.deepEqual(diffPlans(without, base).sensitiveExposed, [], "a masked sensitive column is not exposed");
  });
});
