/**
 * Before/after pairs for the review: a copy of the prod example (test/review/fixtures/stacks,
 * frozen here so the goldens do not move when the examples do) and, per case, text edits to its
 * YAML. Both sides are planned by the real loader and planner on a fixed day.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { planStack } from "../../../src/plan/index.ts";
import type { AccessPlan } from "../../../src/plan/types.ts";

export const FIXTURE = new URL("../fixtures", import.meta.url).pathname;
export const GOLDEN = new URL("../golden", import.meta.url).pathname;
export const PREVIEWS = new URL("../previews", import.meta.url).pathname;
export const AS_OF = new Date("2026-06-15T12:00:00Z");

/** One edit: in `file` (under stacks/), replace `from` (which must occur exactly once) with `to`. */
export interface Edit {
  file: string;
  from: string;
  to: string;
}

export interface ReviewCase {
  name: string;
  /** What the case shows, for the test's title. */
  shows: string;
  edits: Edit[];
}

const FINANCE = "workflows/finance-weekly-revenue.yaml";
const INCIDENT = "workflows/eng-incident-investigation.yaml";
const CS = "workflows/cs-usage-drop.yaml";
const PROD = "environments/prod.yaml";

export const CASES: ReviewCase[] = [
  {
    name: "widening",
    shows: "a workflow reads more columns, all but one of a table, more rows, for longer",
    edits: [
      {
        file: FINANCE,
        from: "        paid_at: When it was paid (UTC); null if unpaid.\n",
        to: "        paid_at: When it was paid (UTC); null if unpaid.\n        due_at: When payment is due (UTC).\n",
      },
      {
        file: FINANCE,
        from:
          '      columns:\n        id: Account id.\n        plan: "Subscription plan: trial, starter, ' +
          'growth or enterprise."\n        region: Data region the account lives in (eu, us, apac).\n',
        to:
          '      exclude: [billing_email]\n      columns:\n        id: Account id.\n        plan: "Subscription plan: ' +
          'trial, starter, growth or enterprise."\n        region: Data region the account lives in (eu, us, apac).\n',
      },
      { file: FINANCE, from: "  maxRows: 5000", to: "  maxRows: 20000" },
      { file: INCIDENT, from: "expires: 2027-03-31", to: "expires: 2027-09-30" },
    ],
  },
  {
    name: "narrowing",
    shows: "a table, a client and networks taken away, shorter timeout, rotation and expiry",
    edits: [
      {
        file: INCIDENT,
        from:
          "  support:\n    tickets:\n      description: Support tickets; used to line up customer " +
          "reports with the incident timeline.\n      exclude: [requester_email, body]\n",
        to: "",
      },
      { file: INCIDENT, from: "  - name: claude-incident-bot\n    auth: api-key\n", to: "" },
      { file: INCIDENT, from: "  statementTimeout: 20s", to: "  statementTimeout: 10s" },
      { file: INCIDENT, from: "expires: 2027-03-31", to: "expires: 2026-12-31" },
      { file: PROD, from: "allowedCidrs: [10.0.0.0/16, 192.168.50.0/24]", to: "allowedCidrs: [10.0.0.0/16, 192.168.50.0/25]" },
      { file: PROD, from: "rotationDays: 30", to: "rotationDays: 14" },
      { file: CS, from: "  - name: claude-cs\n    auth: api-key\n", to: "  - name: claude-cs\n    auth: api-key\n    sourceCidrs: [10.0.12.0/24]\n" },
    ],
  },
  {
    name: "rename",
    shows: "a workflow renamed (access unchanged, description reworded) and a client renamed within a workflow",
    edits: [
      { file: CS, from: "name: cs-usage-drop", to: "name: cs-churn-signals" },
      { file: CS, from: "  Find accounts whose product usage dropped sharply", to: "  Spot accounts whose product usage dropped sharply" },
      { file: PROD, from: "  - cs-usage-drop\n", to: "  - cs-churn-signals\n" },
      { file: FINANCE, from: "  - name: n8n-finance-weekly\n", to: "  - name: n8n-finance-report\n" },
    ],
  },
  {
    name: "sensitive",
    shows: "a sensitive column exposed with its justification",
    edits: [
      {
        file: INCIDENT,
        from: "      exclude: [email, full_name, password_hash]\n      columns:\n        role: owner, admin or member within the account.\n",
        to:
          "      exclude: [full_name, password_hash]\n      columns:\n        role: owner, admin " +
          "or member within the account.\n        email:\n          description: Login email " +
          "of the user.\n          justification: >-\n            Responders must contact the " +
          "users whose sessions were hijacked; approved by security\n            (SEC-1107).\n",
      },
    ],
  },
  {
    name: "new-client",
    shows: "a new OIDC client on a workflow that reads a sensitive column",
    edits: [
      {
        file: INCIDENT,
        from: "  - name: claude-incident-bot\n",
        to: "  - name: sre-copilot\n    auth: oidc\n    subject: svc-sre-copilot@example.com\n    sourceCidrs: [10.0.30.0/24]\n  - name: claude-incident-bot\n",
      },
    ],
  },
  {
    name: "network",
    shows:
      "MCP server networks widened by containment, a new hostname, an internet-facing " +
      "load balancer, a target's networks rewritten, a client's networks narrowed",
    edits: [
      { file: PROD, from: "allowedCidrs: [10.0.0.0/16, 192.168.50.0/24]", to: "allowedCidrs: [10.0.0.0/16, 192.168.0.0/16]" },
      { file: PROD, from: "hostnames: [mcp.data.example.com]", to: "hostnames: [mcp.data.example.com, agents.example.com]" },
      { file: PROD, from: "      allowedCidrs: [10.0.0.0/16]\n", to: "      allowedCidrs: [10.0.0.0/17, 10.0.128.0/17]\n" },
      {
        file: PROD,
        from: "    subnetIds: [subnet-0aaa1111bbbb22223, subnet-0ccc3333dddd44445]\n    cpu: 512",
        to: "    subnetIds: [subnet-0aaa1111bbbb22223, subnet-0ccc3333dddd44445]\n    publicSubnetIds: [subnet-0eee5555ffff66667]\n    cpu: 512",
      },
      { file: CS, from: "    sourceCidrs: [10.0.12.0/24]", to: "    sourceCidrs: [10.0.12.0/25]" },
    ],
  },
];

/** A copy of the fixture project with `edits` applied; throws if an edit's text is not found exactly once. */
export function projectWith(edits: readonly Edit[]): { root: string; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-review-case-"));
  cpSync(join(FIXTURE, "stacks"), join(root, "stacks"), { recursive: true });
  for (const edit of edits) {
    const path = join(root, "stacks", edit.file);
    const text = readFileSync(path, "utf8");
    const at = text.indexOf(edit.from);
    if (at < 0 || text.indexOf(edit.from, at + 1) >= 0)
      throw new Error(`edit of ${edit.file}: ${at < 0 ? "text not found" : "text found twice"}: ${JSON.stringify(edit.from.slice(0, 60))}`);
    writeFileSync(path, text.slice(0, at) + edit.to + text.slice(at + edit.from.length));
  }
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** The prod plan of the fixture with `edits` applied. */
export function planWith(edits: readonly Edit[]): AccessPlan {
  const project = projectWith(edits);
  try {
    return planStack("prod", { root: project.root, now: AS_OF });
  } finally {
    project.remove();
  }
}
