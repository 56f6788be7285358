/** What `up` prints when ready: clients with their source networks, and never an API key. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { readyMessage } from "../../src/local/instructions.ts";
import { planStack } from "../../src/plan/index.ts";

const root = new URL("../..", import.meta.url).pathname;

test("the ready message names each client, warns about source-network limits, prints no key", () => {
  const plan = planStack("local", { root, now: new Date("2026-11-21T12:00:00Z") });
  const apiKey = "dbw_test_key_that_must_not_be_printed";
  const clients = plan.workflows.flatMap((w) => w.clients.map((c) => ({ name: c.name, workflow: w.name, apiKey })));
  const connection = {
    mcpUrl: "http://127.0.0.1:7300/mcp",
    clients,
    postgres: { host: "127.0.0.1", port: 5432, database: "dbwarden_demo", adminUser: "postgres", adminPassword: "admin-secret-value" },
  };
  const text = readyMessage(connection, `${root}.dbwarden/local/connection.json`, root, plan);
  assert.match(text, /- claude-cs {2}\(workflow cs-usage-drop\)\n/);
  assert.match(text, /- n8n-cs-digest {2}\(workflow cs-usage-drop; only from 10\.0\.12\.0\/24, so refused from this machine\)/);
  assert.match(text, /claude mcp add --transport http dbwarden-cs-usage-drop-claude-cs http:\/\/127\.0\.0\.1:7300\/mcp/);
  // What the database enforces for the tenant assistants: shown, in the spec's words.
  assert.match(
    text,
    /Enforced by the database \(docs\/masks\.md\):\n {4}- account-assistant: analytics\.usage_events\.user_id masked \(hash\); support\.tickets\.requester_email masked \(email-domain\); analytics\.usage_events rows where account_id = client\.account_id; support\.tickets rows where account_id = client\.account_id; reporting view dbw_account_assistant\.plan_weekly_usage \(over analytics\.usage_events, app\.accounts\); read as dbw_account_assistant\.<name>\n/,
  );
  assert.doesNotMatch(text, new RegExp(apiKey));
  assert.doesNotMatch(text, /admin-secret-value/);
});
