/** The `pulumi preview --json` summariser on recorded samples: grouping, replacements, flags, scrubbing. */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { renderReviewMarkdown } from "../../src/review/markdown.ts";
import { PreviewError, isAccessResource, parsePreview, parseUrn, scrubSecrets, scrubText, summarizePreview } from "../../src/review/preview.ts";
import { caseReport } from "./golden.test.ts";
import { CASES, GOLDEN, PREVIEWS } from "./support/cases.ts";

const sample = (name: string) => readFileSync(join(PREVIEWS, name), "utf8");
/** Every secret planted in the samples: none may come out. */
const PLANTED = ["s3cr3t-admin-pw", "Tr0ub4dor", "hunter2", "1b47061264138c4ac30d75fd1eb44270", "Zm9vYmFy", "Pa55w0rd-leak"];

describe("preview summary", () => {
  const summary = summarizePreview(parsePreview(sample("prod-changes.json"), "preview-prod.json"), "preview-prod.json");

  it("counts each resource once: a replacement's three steps are one replace", () => {
    assert.equal(summary.stack, "prod");
    assert.deepEqual(summary.counts, { create: 2, update: 1, replace: 1, delete: 1 });
    assert.deepEqual(summary.changeSummary, { create: 2, delete: 1, replace: 1, same: 98, update: 1 });
  });

  it("groups by component (the parent URN), sorted", () => {
    assert.deepEqual(
      summary.components.map((c) => [c.component, c.steps.map((s) => `${s.action} ${s.name}`)]),
      [
        [
          "urn:pulumi:prod::dbwarden::dbwarden:aws:GovernedAccess$dbwarden:aws:ClientCredentials::dbwarden-prod-app-credentials",
          ["create dbwarden-prod-app-credentials-dbw_finance_weekly_revenue__claude_finance-initial"],
        ],
        ["urn:pulumi:prod::dbwarden::dbwarden:aws:GovernedAccess$dbwarden:aws:McpService::dbwarden-prod-mcp", ["update dbwarden-prod-mcp-task"]],
        [
          "urn:pulumi:prod::dbwarden::dbwarden:aws:GovernedAccess$dbwarden:postgres:ReadOnlyAccess::dbwarden-prod-app-access",
          [
            "create dbw_finance_weekly_revenue__claude_finance",
            "replace dbw_finance_weekly_revenue-billing-invoices",
            "delete dbw_eng_incident_investigation__claude_incident_bot",
          ],
        ],
      ],
    );
  });

  it("flags the replaced grant and the deleted role, not the created role", () => {
    assert.deepEqual(
      summary.accessWarnings.map((s) => [s.action, s.type, s.name]),
      [
        ["replace", "postgresql:index/grant:Grant", "dbw_finance_weekly_revenue-billing-invoices"],
        ["delete", "postgresql:index/role:Role", "dbw_eng_incident_investigation__claude_incident_bot"],
      ],
    );
    assert.match(summary.accessWarnings[0]!.warning!, /revoked before the new one is granted/);
    assert.match(summary.accessWarnings[1]!.warning!, /revoked/);
  });

  it("shows changed properties with scrubbed values", () => {
    const grant = summary.components[2]!.steps[1]!;
    assert.deepEqual(grant.properties, [
      {
        name: "columns[7]",
        kind: "add-replace",
        before: '["account_id","amount_cents","currency","id","issued_at","paid_at","status"]',
        after: '["account_id","amount_cents","currency","id","issued_at","paid_at","status","due_at"]',
      },
    ]);
    const task = summary.components[1]!.steps[0]!;
    assert.deepEqual(
      task.properties.find((p) => p.name === "containerDefinitions"),
      { name: "containerDefinitions", kind: "update", before: "[secret]", after: '[{"name":"mcp","image":"ghcr.io/dbwarden/mcp-server:0.1.1"}]' },
    );
    assert.deepEqual(
      task.properties.find((p) => p.name === "cpu"),
      { name: "cpu", kind: "update", before: "512", after: "1024" },
    );
  });

  it("keeps warnings and errors, scrubbed; drops info", () => {
    assert.deepEqual(summary.diagnostics, [
      {
        severity: "warning",
        message: "connection to postgres://dbw_admin:[secret]@app-prod.abc.us-east-1.rds.amazonaws.com/app was slow",
        urn: "urn:pulumi:prod::dbwarden::dbwarden:aws:GovernedAccess$dbwarden:aws:McpService$aws:ecs/taskDefinition:TaskDefinition::dbwarden-prod-mcp-task",
      },
    ]);
  });

  it("never lets a planted secret through, in the summary or the comment", () => {
    const report = { ...caseReport(CASES[0]!.edits) };
    report.stacks = [{ ...report.stacks[0]!, preview: summary }];
    const markdown = renderReviewMarkdown(report);
    for (const text of [JSON.stringify(summary), markdown]) for (const secret of PLANTED) assert.ok(!text.includes(secret), `${secret} leaked`);
    const path = join(GOLDEN, "preview.md");
    if (process.env.UPDATE_GOLDEN === "1" || !existsSync(path)) writeFileSync(path, markdown);
    assert.equal(markdown, readFileSync(path, "utf8"));
  });
});

describe("scrubbing", () => {
  it("replaces values under secret-looking keys, Pulumi secret envelopes and credential-looking strings", () => {
    const scrubbed = scrubSecrets({
      name: "dbw_x",
      password: "hunter2",
      passwordWoVersion: 3,
      masterUserSecret: { kmsKeyId: "k" },
      nested: { value: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: '"x"' } },
      pem: "-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----",
      url: "postgresql://u:p@h/db",
      plainUrl: "https://auth.example.com/",
      accessKey: "AKIAABCDEFGHIJKLMNOP",
      list: ["[secret]", "fine"],
      enabled: true,
    });
    assert.deepEqual(scrubbed, {
      name: "dbw_x",
      password: "[secret]",
      passwordWoVersion: 3,
      masterUserSecret: "[secret]",
      nested: { value: "[secret]" },
      pem: "[secret]",
      url: "[secret]",
      plainUrl: "https://auth.example.com/",
      accessKey: "[secret]",
      list: ["[secret]", "fine"],
      enabled: true,
    });
  });

  it("scrubs credentials inside free text", () => {
    assert.equal(
      scrubText("dial postgres://admin:Pa55@db:5432/app with key AKIAABCDEFGHIJKLMNOP"),
      "dial postgres://admin:[secret]@db:5432/app with key [secret]",
    );
  });
});

describe("preview parsing", () => {
  it("refuses what is not a preview, naming the file", () => {
    assert.throws(
      () => parsePreview("", "p.json"),
      (e: Error) => e instanceof PreviewError && /p\.json: is empty/.test(e.message),
    );
    assert.throws(() => parsePreview("Previewing update (prod):", "p.json"), /p\.json: is not JSON/);
    assert.throws(() => parsePreview('{"steps": {}}', "p.json"), /`steps` is not a list/);
    assert.throws(() => parsePreview('{"steps": [{"op": "create"}]}', "p.json"), /steps\[0\] lacks `op` or `urn`/);
    assert.deepEqual(parsePreview("{}", "p.json"), { steps: [], changeSummary: {}, diagnostics: [] });
  });

  it("takes URNs apart", () => {
    assert.deepEqual(parseUrn("urn:pulumi:prod::dbwarden::a:b:C$postgresql:index/grant:Grant::g1"), {
      stack: "prod",
      type: "postgresql:index/grant:Grant",
      name: "g1",
      parentType: "a:b:C",
    });
  });

  it("knows which resource types hold access", () => {
    for (const t of [
      "postgresql:index/grant:Grant",
      "postgresql:index/role:Role",
      "postgresql:index/grantRole:GrantRole",
      "postgresql:index/defaultPrivileges:DefaultPrivileges",
      "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole",
      "snowflake:index/accountRole:AccountRole",
      "gcp:bigquery/datasetIamMember:DatasetIamMember",
    ]) {
      assert.ok(isAccessResource(t), t);
    }
    for (const t of ["aws:ecs/taskDefinition:TaskDefinition", "aws:secretsmanager/secret:Secret", "postgresql:index/extension:Extension"])
      assert.ok(!isAccessResource(t), t);
  });
});
