/**
 * The policy rules on masks, row filters and reporting views, through their real handlers, on the
 * governed views resource the Postgres component creates: a compliant resource passes; the same
 * with one field changed is reported, naming what is wrong. Also: the resources the component
 * creates for the local plan pass both, with the facts `dbwarden check` computes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { WorkflowFacts } from "../../policies/lib/config.ts";
import { DYNAMIC_RESOURCE_TYPE } from "../../policies/lib/governed.ts";
import { filteredClientsHaveAttributes } from "../../policies/rules/filteredClientsHaveAttributes.ts";
import { sensitiveColumnsMaskedOrJustified } from "../../policies/rules/sensitiveColumnsMaskedOrJustified.ts";
import { postgresAccessModel } from "../../components/postgres/access.ts";
import { GOVERNED_VIEWS_KIND, type GovernedViewsInputs } from "../../components/postgres/governedViews.ts";
import { planFacts } from "../../src/policy/facts.ts";
import { localPlan } from "../postgres/helpers.ts";
import { resourceViolations } from "./support/run.ts";

const assistant: WorkflowFacts = {
  name: "assistant",
  owner: "product",
  expires: null,
  database: "app",
  group: "dbw_assistant",
  logins: [
    { role: "dbw_assistant__acme", client: "acme" },
    { role: "dbw_assistant__globex", client: "globex" },
  ],
  justifiedColumns: ["support.tickets.body"],
};
const config = { workflows: [assistant], sensitiveColumns: { app: ["support.tickets.requester_email", "support.tickets.body", "app.accounts.billing_email"] } };

/** The governed views resource, with `edit` applied to a copy of its inputs. */
type Props = Omit<GovernedViewsInputs, "connection">;

function governed(edit: (props: Props) => void = () => {}) {
  const props: Props = {
    kind: GOVERNED_VIEWS_KIND,
    database: "app",
    views: [
      {
        workflow: "assistant",
        group: "dbw_assistant",
        schema: "dbw_assistant",
        name: "tickets",
        kind: "table",
        source: { schema: "support", table: "tickets" },
        columns: [
          { name: "id", mask: null },
          { name: "requester_email", mask: "email-domain" },
          { name: "body", mask: null },
        ],
        rowFilter: { predicate: "account_id = client.account_id", attributes: ["account_id"] },
        reads: [{ schema: "support", table: "tickets", columns: ["body", "id", "requester_email"] }],
      },
      {
        workflow: "assistant",
        group: "dbw_assistant",
        schema: "dbw_assistant",
        name: "plans",
        kind: "report",
        source: null,
        columns: [{ name: "plan", mask: null }],
        rowFilter: null,
        reads: [{ schema: "app", table: "accounts", columns: ["plan"] }],
      },
    ],
    attributes: [
      { login: "dbw_assistant__acme", workflow: "assistant", attributes: { account_id: 1 } },
      { login: "dbw_assistant__globex", workflow: "assistant", attributes: { account_id: 2 } },
    ],
    statements: [],
    teardown: [],
    destroy: [],
  };
  edit(props);
  return { type: DYNAMIC_RESOURCE_TYPE, props: props as unknown as Record<string, unknown> };
}

describe("sensitive-columns-masked-or-justified", () => {
  const judge = (resource: ReturnType<typeof governed>) => resourceViolations(sensitiveColumnsMaskedOrJustified, resource, config);

  it("passes masked sensitive columns, justified ones, and reporting views reading none", async () => {
    assert.deepEqual(await judge(governed()), []);
    assert.deepEqual(await judge({ type: DYNAMIC_RESOURCE_TYPE, props: { kind: "something-else" } }), [], "another dynamic resource");
  });

  it("reports a sensitive column unmasked without a justification, in a table's view or a reporting view", async () => {
    assert.deepEqual(await judge(governed((p) => (p.views[0]!.columns[1]!.mask = null))), [
      "view dbw_assistant.tickets of workflow assistant gives its agents sensitive column " +
        "support.tickets.requester_email of database app unmasked, without a justification",
    ]);
    assert.deepEqual(await judge(governed((p) => p.views[1]!.reads[0]!.columns.push("billing_email"))), [
      "reporting view dbw_assistant.plans of workflow assistant gives its agents sensitive " +
        "column app.accounts.billing_email of database app unmasked, without a justification",
    ]);
  });
});

describe("filtered-clients-have-attributes", () => {
  const judge = (resource: ReturnType<typeof governed>) => resourceViolations(filteredClientsHaveAttributes, resource, config);

  it("passes when every login carries every attribute its filters read", async () => {
    assert.deepEqual(await judge(governed()), []);
  });

  it("reports a login without an attribute, and a login the facts know that has no row at all", async () => {
    assert.deepEqual(await judge(governed((p) => (p.attributes[1]!.attributes = {}))), [
      "login dbw_assistant__globex of workflow assistant lacks attribute account_id that its row filters read: it reads no row of the filtered tables",
    ]);
    assert.deepEqual(await judge(governed((p) => p.attributes.pop())), [
      "login dbw_assistant__globex of workflow assistant lacks attribute account_id that its row filters read: it reads no row of the filtered tables",
    ]);
  });
});

const CATALOG = {
  "analytics.usage_events": ["id", "account_id", "user_id", "event_type", "occurred_at", "quantity", "ip_address"],
  "app.accounts": ["id", "name", "plan", "region", "billing_email", "created_at", "churned_at"],
  "app.users": ["id", "account_id", "email", "full_name", "password_hash", "role", "created_at", "last_login_at"],
  "billing.invoices": ["id", "account_id", "amount_cents", "currency", "status", "issued_at", "paid_at", "card_last4"],
  "support.tickets": ["id", "account_id", "user_id", "requester_email", "subject", "body", "priority", "status", "opened_at", "closed_at"],
};

describe("the component's governed views for the local plan", () => {
  it("pass both rules with the facts of the plan", async () => {
    const plan = localPlan();
    const model = postgresAccessModel(plan, "app", CATALOG);
    const facts = planFacts(plan);
    const resource = { type: DYNAMIC_RESOURCE_TYPE, props: model.governed! as unknown as Record<string, unknown> };
    assert.deepEqual(await resourceViolations(sensitiveColumnsMaskedOrJustified, resource, facts), []);
    assert.deepEqual(await resourceViolations(filteredClientsHaveAttributes, resource, facts), []);
    const lonely = structuredClone(plan);
    lonely.workflows.find((w) => w.name === "account-assistant")!.clients[0]!.attributes = {};
    const without = postgresAccessModel(lonely, "app", CATALOG);
    assert.deepEqual(
      await resourceViolations(
        filteredClientsHaveAttributes,
        { type: DYNAMIC_RESOURCE_TYPE, props: without.governed! as unknown as Record<string, unknown> },
        planFacts(lonely),
      ),
      [
        "login dbw_account_assistant__initech_assistant of workflow account-assistant lacks " +
          "attribute account_id that its row filters read: it reads no row of the filtered tables",
      ],
    );
  });
});
