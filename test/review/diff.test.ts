/** diffPlans: directions, renames and their evidence, networks by containment, sensitive exposure. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diffPlans } from "../../src/review/diff.ts";
import { compareNetworks, coveredBy } from "../../src/review/networks.ts";
import type { AccessPlan, WorkflowPlan } from "../../src/plan/types.ts";
import { groupRoleName, loginRoleName, secretName } from "../../src/plan/names.ts";
import { CASES, planWith } from "./support/cases.ts";

const base = planWith([]);
const clone = (): AccessPlan => structuredClone(base);
const kinds = (plan: AccessPlan) => diffPlans(base, plan).changes.map((c) => `${c.direction} ${c.kind} ${c.subject}`);
const workflow = (plan: AccessPlan, name: string): WorkflowPlan => plan.workflows.find((w) => w.name === name)!;
const caseDiff = (name: string) => diffPlans(base, planWith(CASES.find((c) => c.name === name)!.edits));

/** Rename a workflow in a plan the way the planner names things. */
function renameWorkflow(plan: AccessPlan, from: string, to: string): void {
  const w = workflow(plan, from);
  w.name = to;
  w.roles = {
    group: groupRoleName(to),
    logins: w.roles.logins.map((l) => ({ ...l, role: loginRoleName(to, l.client), secretName: secretName(plan.environment, to, l.client) })),
  };
  w.clients = w.clients.map((c) => ({ ...c, loginRole: loginRoleName(to, c.name), secretName: secretName(plan.environment, to, c.name) }));
  plan.workflows.sort((a, b) => (a.name < b.name ? -1 : 1));
}

describe("networks by containment", () => {
  it("a CIDR is covered by a wider one, or by several that together span it", () => {
    assert.ok(coveredBy("10.0.12.0/24", ["10.0.0.0/16"]));
    assert.ok(coveredBy("10.0.0.0/24", ["10.0.0.128/25", "10.0.0.0/25"]));
    assert.ok(!coveredBy("10.0.0.0/24", ["10.0.0.0/25", "10.0.1.0/25"]));
    assert.ok(!coveredBy("10.0.0.0/16", ["10.0.12.0/24"]));
    assert.ok(coveredBy("10.0.12.7/24", ["10.0.12.0/24"]), "host bits are ignored");
    assert.ok(coveredBy("2001:db8:1::/48", ["2001:db8::/32"]));
    assert.ok(!coveredBy("2001:db9::/48", ["2001:db8::/32"]));
    assert.ok(!coveredBy("10.0.0.0/8", ["::/0"]), "families never cover each other");
    assert.ok(!coveredBy("not-a-cidr", ["0.0.0.0/0"]));
  });

  it("compares lists, an empty list meaning none or any", () => {
    assert.deepEqual(compareNetworks(["10.0.0.0/16"], ["10.0.0.0/17", "10.0.128.0/17"], "none"), { admitted: [], dropped: [] });
    assert.deepEqual(compareNetworks(["192.168.50.0/24"], ["192.168.0.0/16"], "none"), { admitted: ["192.168.0.0/16"], dropped: [] });
    assert.deepEqual(compareNetworks(["10.0.0.0/8"], [], "none"), { admitted: [], dropped: ["10.0.0.0/8"] });
    assert.deepEqual(compareNetworks(["10.0.0.0/8"], [], "any"), { admitted: ["0.0.0.0/0", "::/0"], dropped: [] });
  });
});

describe("diffPlans", () => {
  it("finds nothing between a plan and itself, and does not change its inputs", () => {
    const after = clone();
    const diff = diffPlans(base, after);
    assert.deepEqual(diff.changes, []);
    assert.deepEqual(diff.summary, { widening: 0, narrowing: 0, neutral: 0 });
    assert.deepEqual(after, base);
  });

  it("marks every change of the widening case widening, of the narrowing case narrowing", () => {
    assert.deepEqual(new Set(caseDiff("widening").changes.map((c) => c.direction)), new Set(["widening"]));
    assert.deepEqual(new Set(caseDiff("narrowing").changes.map((c) => c.direction)), new Set(["narrowing"]));
  });

  it("reports a sensitive column newly read with its justification", () => {
    assert.deepEqual(caseDiff("sensitive").sensitiveExposed, [
      {
        workflow: "eng-incident-investigation",
        target: "app",
        table: "app.users",
        column: "email",
        justification: "Responders must contact the users whose sessions were hijacked; approved by security (SEC-1107).",
        via: "workflow",
      },
    ]);
  });

  it("a new client newly reads the sensitive columns its workflow already reads", () => {
    const diff = caseDiff("new-client");
    assert.deepEqual(
      diff.sensitiveExposed.map((e) => [e.table, e.column, e.via]),
      [["analytics.usage_events", "ip_address", "sre-copilot"]],
    );
  });

  it("recognises a workflow rename and a client rename, with their evidence", () => {
    const diff = caseDiff("rename");
    assert.deepEqual(
      diff.renames.workflows.map((r) => [r.from, r.to]),
      [["cs-usage-drop", "cs-churn-signals"]],
    );
    assert.deepEqual(
      diff.renames.clients.map((r) => [r.workflow, r.from, r.to]),
      [["finance-weekly-revenue", "n8n-finance-weekly", "n8n-finance-report"]],
    );
    assert.ok(diff.changes.every((c) => c.direction === "neutral"));
    assert.ok(
      !diff.changes.some((c) => c.kind === "workflow-added" || c.kind === "workflow-removed" || c.kind === "client-added" || c.kind === "client-removed"),
    );
  });

  it("a renamed workflow whose access also changed is a removal and an addition, not a rename", () => {
    const after = clone();
    renameWorkflow(after, "cs-usage-drop", "cs-churn-signals");
    workflow(after, "cs-churn-signals").limits.maxRows = 9999;
    const diff = diffPlans(base, after);
    assert.deepEqual(diff.renames.workflows, []);
    assert.ok(kinds(after).includes("widening workflow-added workflow cs-churn-signals"));
    assert.ok(kinds(after).includes("narrowing workflow-removed workflow cs-usage-drop"));
  });

  it("two identical workflows renamed at once are ambiguous: no rename is claimed", () => {
    const before = clone();
    const twin = structuredClone(workflow(before, "cs-usage-drop"));
    before.workflows.push({ ...twin, name: "cs-usage-drop-eu" });
    const after = structuredClone(before);
    renameWorkflow(after, "cs-usage-drop", "cs-a");
    renameWorkflow(after, "cs-usage-drop-eu", "cs-b");
    const diff = diffPlans(before, after);
    assert.deepEqual(diff.renames.workflows, []);
    assert.equal(diff.changes.filter((c) => c.kind === "workflow-added").length, 2);
  });

  it("a client renamed with another identity is a removal and an addition", () => {
    const after = clone();
    const client = workflow(after, "finance-weekly-revenue").clients.find((c) => c.name === "chatgpt-finance")!;
    client.name = "chatgpt-finance-2";
    client.group = "finance-all";
    const found = kinds(after);
    assert.ok(found.includes("widening client-added client chatgpt-finance-2"));
    assert.ok(found.includes("narrowing client-removed client chatgpt-finance"));
  });

  it("judges column rules column by column: allowlist to all-but and back", () => {
    const widened = clone();
    const accounts = workflow(widened, "finance-weekly-revenue").tables.find((t) => t.table === "accounts")!;
    accounts.rule = { access: "all" };
    const diff = diffPlans(base, widened);
    const gained = diff.changes.find((c) => c.kind === "columns-gained")!;
    assert.match(gained.summary, /can now read more of app\.accounts: billing_email and every column the plan does not name/);
    assert.deepEqual(
      diff.sensitiveExposed.map((e) => e.column),
      ["billing_email"],
    );
    const back = diffPlans(widened, base).changes.find((c) => c.kind === "columns-lost")!;
    assert.equal(back.direction, "narrowing");
    assert.match(back.summary, /can no longer read some of app\.accounts: billing_email and every column the plan does not name/);
  });

  it("credentials: IAM to passwords is widening, a shorter rotation narrowing", () => {
    const iam = clone();
    iam.targets[0]!.credentials = { mode: "iam", rotationDays: null };
    assert.deepEqual(kinds(iam), ["narrowing credential-mode-changed target app credentials"]);
    assert.deepEqual(
      diffPlans(iam, base).changes.map((c) => c.direction),
      ["widening"],
    );
  });

  it("limits and expiry: higher and later are widening, removing the expiry too", () => {
    const after = clone();
    workflow(after, "eng-incident-investigation").expires = null;
    workflow(after, "cs-usage-drop").limits.concurrentCalls = 1;
    assert.deepEqual(kinds(after), ["narrowing limit-changed cs-usage-drop concurrent calls", "widening expiry-changed workflow eng-incident-investigation"]);
  });

  it("a stack added or removed is compared with nothing", () => {
    const added = diffPlans(null, base);
    assert.equal(added.changes[0]!.kind, "stack-added");
    assert.equal(added.changes.filter((c) => c.kind === "workflow-added").length, base.workflows.length);
    assert.ok(added.sensitiveExposed.some((e) => e.column === "ip_address"));
    const removed = diffPlans(base, null);
    assert.deepEqual(
      removed.changes.filter((c) => c.direction === "widening"),
      [],
    );
    assert.equal(removed.changes.filter((c) => c.kind === "workflow-removed").length, base.workflows.length);
  });

  it("never carries a secret: plans name credentials only by their secret-store name", () => {
    const text = JSON.stringify(diffPlans(null, base));
    assert.ok(!/password\s*[:=]\s*\S/i.test(text));
  });
});

describe("diffPlans: the MCP server's host, by its platform's ingress", () => {
  it("a server moving to a host where the internet reaches it is widening, whatever the platforms (and back, narrowing)", () => {
    const local = clone();
    local.mcpServer.host = { platform: "local" };
    const exposed = clone();
    assert.equal(exposed.mcpServer.host.platform, "aws-ecs");
    if (exposed.mcpServer.host.platform === "aws-ecs") exposed.mcpServer.host.publicSubnetIds = ["subnet-public-a", "subnet-public-b"];
    const summary = (before: AccessPlan, after: AccessPlan) => diffPlans(before, after).changes.map((c) => `${c.direction} ${c.kind}: ${c.summary}`);
    assert.deepEqual(summary(local, exposed), [
      "widening host-internet-facing: the MCP server's load balancer becomes internet-facing (public " +
        "subnets subnet-public-a, subnet-public-b); mcpServer.allowedCidrs still decides who gets through",
      "neutral host-changed: where the MCP server runs changes: platform local -> aws-ecs",
    ]);
    assert.deepEqual(summary(exposed, local), [
      "narrowing host-internal: the MCP server's listener becomes internal (loopback only)",
      "neutral host-changed: where the MCP server runs changes: platform aws-ecs -> local",
    ]);
  });
});
