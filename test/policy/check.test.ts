/**
 * `checkStack`: the pack over the resources stacks/index.ts declares, offline. The example stacks
 * pass with no mandatory violation; resources written by hand next to the components are judged
 * like theirs; the config is the spec's facts plus the environment's thresholds.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { policies } from "../../policies/policies.ts";
import { checkStack } from "../../src/policy/check.ts";
import { loadThresholds, packConfigFor } from "../../src/policy/facts.ts";
import { STAND_IN, UNKNOWN } from "../../src/policy/standins.ts";
import type { PolicyReport } from "../../src/policy/report.ts";
import type { PolicyFacts } from "../../policies/lib/config.ts";
import { AS_OF } from "../components/support/plans.ts";
import { ROOT, projectCopy, projectWithHandWrittenResources } from "./support/project.ts";

/** One rule's entry of the pack config: the facts it declares, and its enforcement level. */
type RuleConfig = Partial<PolicyFacts> & { enforcementLevel?: string };

const mandatory = (report: PolicyReport) => report.violations.filter((v) => v.enforcementLevel === "mandatory");

describe("packConfigFor", () => {
  it("gives each rule the prod spec's facts it declares and prod's thresholds, with an explicit level", () => {
    const config = packConfigFor("prod", { root: ROOT, now: AS_OF, policies }) as Record<string, RuleConfig>;
    const grants = config["agent-grants-read-only"]!;
    assert.equal(grants.enforcementLevel, "mandatory");
    const incident = grants.workflows!.find((w) => w.name === "eng-incident-investigation")!;
    assert.equal(incident.expires, "2027-03-31");
    assert.deepEqual(
      incident.logins.map((l) => l.role).sort(),
      [
        "dbw_eng_incident_investigation__claude_incident_bot",
        "dbw_eng_incident_investigation__claude_incident_bot_clone",
        "dbw_eng_incident_investigation__cursor_oncall",
        "dbw_eng_incident_investigation__cursor_oncall_clone",
      ],
      "prod rotates passwords with alternating users: clones are agent roles too",
    );
    assert.deepEqual(grants.platformRoles, [], "password credentials: no IAM login role");
    assert.equal(grants.sensitiveColumns, undefined, "only what the rule declares");
    assert.deepEqual(config["sensitive-columns-justified"]!.sensitiveColumns!.app!.slice(0, 2), [
      "analytics.usage_events.ip_address",
      "app.accounts.billing_email",
    ]);
    assert.deepEqual(incident.justifiedColumns, ["analytics.usage_events.ip_address"]);
    assert.equal(config["log-retention"]!.minRetentionDays, 365);
    assert.equal(config["no-access-for-expired-workflows"]!.asOf, "2026-01-15");
    assert.deepEqual(config["no-open-ingress"]!.protectedPorts, [443, 5432, 8080]);
    // prod builds its image into the stack's own registry: that repository is allowed too, never the spec's own URI.
    assert.deepEqual(config["mcp-image-allowed"]!.allowedImages, ["ghcr.io/dbwarden/mcp-server", "*.dkr.ecr.us-east-1.amazonaws.com/dbwarden/prod/mcp-server"]);
    const dev = packConfigFor("dev", { root: ROOT, policies }) as Record<string, RuleConfig>;
    assert.equal(dev["agents-through-replica"]!.enforcementLevel, "advisory");
    assert.deepEqual(dev["agents-through-replica"]!.replicaIdentifiers, ["app-dev-replica"]);
    assert.deepEqual(dev["agent-role-memberships"]!.platformRoles, ["rds_iam"]);
    assert.deepEqual(dev["mcp-image-allowed"]!.allowedImages, ["ghcr.io/dbwarden/mcp-server"], "dev runs the released image: nothing else");
  });

  it("refuses a thresholds file naming a rule or a setting the pack does not have", () => {
    const root = mkdtempSync(join(tmpdir(), "dbwarden-thresholds-"));
    try {
      mkdirSync(join(root, "policies", "config"), { recursive: true });
      writeFileSync(join(root, "policies", "config", "prod.json"), JSON.stringify({ "password-rotaton": { maxRotationDays: 30 } }));
      assert.throws(() => loadThresholds("prod", root, policies), /policies\/config\/prod\.json: "password-rotaton" is not a policy of the pack/);
      writeFileSync(join(root, "policies", "config", "prod.json"), JSON.stringify({ "password-rotation": { maxRotationDay: 30 } }));
      assert.throws(
        () => loadThresholds("prod", root, policies),
        /password-rotation\.maxRotationDay is not a setting of password-rotation \(settings: enforcementLevel, agentRolePattern, workflows, platformRoles, maxRotationDays\)/,
      );
      assert.deepEqual(loadThresholds("dev", root, policies), {}, "no file: no thresholds");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("checkStack on the example stacks", { timeout: 120_000 }, () => {
  let prod: PolicyReport;
  let dev: PolicyReport;
  before(async () => {
    prod = await checkStack("prod", { root: ROOT, now: AS_OF });
    dev = await checkStack("dev", { root: ROOT, now: AS_OF });
  });

  it("prod: every resource of the program judged, no mandatory violation, nothing left unjudged", () => {
    assert.equal(prod.deployed, true);
    // 121: prod's shared primary leaves PUBLIC alone (no PUBLIC revokes); the AWS deploy adds endpoints, ECR, secret versions, tags.
    assert.equal(prod.resources, 121);
    assert.deepEqual(mandatory(prod), []);
    assert.equal(prod.passed, true);
    assert.deepEqual(prod.notJudged, []);
    assert.equal(prod.asOf, "2026-01-15");
    assert.deepEqual(prod.pack, { name: "dbwarden", version: "0.1.0", policies: policies.length });
  });

  it("prod and dev: no finding at all, advisory ones included (every AWS resource carries its owner and workflow tags)", () => {
    assert.deepEqual(prod.violations, []);
    assert.deepEqual(prod.summary, { mandatory: 0, advisory: 0, notJudged: 0 });
    assert.deepEqual(dev.violations, []);
    assert.equal(policies.find((p) => p.name === "owner-and-workflow-tags")!.enforcementLevel, "mandatory");
  });

  it("dev: no mandatory violation; the existing replica's address is a stand-in, so agents-through-replica is not judged", () => {
    assert.deepEqual(mandatory(dev), []);
    assert.deepEqual(
      dev.notJudged.map((n) => [n.policy, n.reason]),
      [["agents-through-replica", "string value at .databases.app.host can't be known during preview"]],
    );
    assert.ok(
      dev.programNotes.some((n) => /replica app-dev-replica exists outside this stack/.test(n)),
      "the program's warnings are kept",
    );
  });

  it("reports hold no stand-in and no unknown sentinel", () => {
    const text = JSON.stringify([prod, dev]);
    assert.doesNotMatch(text, new RegExp(STAND_IN));
    assert.ok(!text.includes(UNKNOWN));
  });

  it("local: no Pulumi deployment, said so, nothing checked", async () => {
    const local = await checkStack("local", { root: ROOT, now: AS_OF });
    assert.equal(local.deployed, false);
    assert.equal(local.passed, true);
    assert.match(local.reason!, /runs on this machine \(mcpServer\.host\.platform: local\): `dbwarden up` starts it/);
  });
});

describe("checkStack judges resources written by hand next to the components", { timeout: 120_000 }, () => {
  const project = projectWithHandWrittenResources();
  after(() => project.remove());

  it("reports each mandatory rule they break, on the hand-written resource", async () => {
    const report = await checkStack("prod", { root: project.root, now: AS_OF });
    assert.equal(report.passed, false);
    assert.deepEqual(
      mandatory(report).map((v) => [v.policy, v.resource?.name]),
      [
        ["agent-grants-read-only", "analyst-shortcut"],
        ["no-table-and-column-select", "analyst-shortcut"],
        ["sensitive-columns-justified", "analyst-shortcut"],
        ["no-open-ingress", "debug-access"],
        ["owner-and-workflow-tags", "debug-access"],
      ],
    );
    const ingress = mandatory(report)[3]!;
    assert.equal(ingress.resource?.type, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    assert.equal(ingress.why, policies.find((p) => p.name === "no-open-ingress")!.description);
    assert.match(ingress.fix, /mcpServer\.allowedCidrs/);
  });
});

describe("checkStack refuses an MCP server image from outside the allow-list", { timeout: 120_000 }, () => {
  const image = (to: string) => (text: string) => {
    assert.ok(text.includes("image: { build: true }"), "prod's example changed: update this test");
    return text.replace("image: { build: true }", `image: ${to}`);
  };

  it("another registry's image is a mandatory violation; one listed in the stack's thresholds file passes", async () => {
    const project = projectCopy({ "stacks/environments/prod.yaml": image("999999999999.dkr.ecr.us-east-1.amazonaws.com/tools/mcp-server:1.0") });
    try {
      const report = await checkStack("prod", { root: project.root, now: AS_OF });
      assert.equal(report.passed, false);
      assert.deepEqual(
        mandatory(report).map((v) => [v.policy, v.resource?.type, v.message]),
        [
          [
            "mcp-image-allowed",
            "aws:ecs/taskDefinition:TaskDefinition",
            "container mcp-server runs image 999999999999.dkr.ecr.us-east-1.amazonaws.com/tools/mcp-server:1.0, " +
              "which is not on the allow-list (ghcr.io/dbwarden/mcp-server)",
          ],
        ],
      );
      const thresholds = join(project.root, "policies/config/prod.json");
      const config = JSON.parse(readFileSync(thresholds, "utf8")) as Record<string, unknown>;
      writeFileSync(
        thresholds,
        JSON.stringify({
          ...config,
          "mcp-image-allowed": { allowedImages: ["ghcr.io/dbwarden/mcp-server", "999999999999.dkr.ecr.us-east-1.amazonaws.com/tools/mcp-server"] },
        }),
      );
      assert.deepEqual(mandatory(await checkStack("prod", { root: project.root, now: AS_OF })), []);
    } finally {
      project.remove();
    }
  });
});
