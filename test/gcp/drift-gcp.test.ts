/**
 * `dbwarden drift` and `dbwarden check` cover the GCP stacks: a real PostgreSQL holding the
 * gcp-iam plan's roles and grants, with each login's Cloud SQL IAM database user granted its login
 * role as Cloud SQL's `databaseRoles` does, reads as no drift; a grant added by hand, or another
 * role made a member of a login, is drift. On the gcp stack, its BigQuery target is checked too
 * (test/bigquery/drift-http.test.ts): without credentials the run stops before anything connects.
 * `check` judges both GCP stacks with the whole pack and passes them.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type pg from "pg";
import { main } from "../../src/cli/main.ts";
import type { CliIO } from "../../src/cli/io.ts";
import { loadDemoData } from "../../src/local/demo.ts";
import { reconcile } from "../../src/postgres/reconcile.ts";
import { AS_OF, ROOT } from "../components/support/plans.ts";
import { startTestPostgres, type TestPostgres } from "../support/postgres.ts";
import { cloudSqlIamUser, loginServiceAccountId } from "../../src/names/gcp.ts";
import { gcpPlan } from "./support.ts";
import { driftExitCode, formatStackDrift, mergeDrift, type TargetDrift } from "../../src/drift/report.ts";

/** A database side with nothing found (the drift case sets `drift`). */
const CLEAN_APP: TargetDrift = { environment: "gcp", target: "app", database: "app", drift: false, differences: [], notices: [] };

function captureIO(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (t) => stdout.push(t),
    err: (t) => stderr.push(t),
    progress: (t) => stderr.push(t),
    now: () => AS_OF,
    cwd: ROOT,
    // HOME without gcloud's folder: no Application Default Credentials, whoever runs the tests.
    env: { PATH: "/nonexistent", HOME: "/nonexistent" },
  };
}

async function run(...args: string[]) {
  const io = captureIO();
  const code = await main(args, io);
  return { code, out: io.stdout.join(""), err: io.stderr.join("") };
}

describe("dbwarden drift and check on the GCP stacks", { timeout: 300_000 }, () => {
  let db: TestPostgres;
  let admin: pg.Client;
  let url: string;
  const plan = gcpPlan("gcp-iam");

  before(async () => {
    db = await startTestPostgres();
    await db.createDatabase("app");
    admin = await db.admin("app");
    await loadDemoData(admin);
    await reconcile(admin, plan, { target: "app", passwords: {} });
    for (const login of plan.workflows.flatMap((w) => w.roles.logins)) {
      const iamUser = cloudSqlIamUser(loginServiceAccountId(login.role), "acme-data-stg");
      await admin.query(`CREATE ROLE "${iamUser}" LOGIN`);
      await admin.query(`GRANT "${login.role}" TO "${iamUser}"`);
    }
    url = db.url("app");
  });
  after(() => db?.stop());

  it("no drift where the database holds the plan and the IAM users hold their login roles", async () => {
    const r = await run("drift", "--stack", "gcp-iam", "--url", url, "--no-pulumi");
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^No drift: environment gcp-iam, target app \(database app\) matches the access plan\./);
  });

  it("a grant added by hand is drift", async () => {
    await admin.query("GRANT SELECT ON app.users TO dbw_cs_usage_drop");
    try {
      const r = await run("drift", "--stack", "gcp-iam", "--url", url, "--no-pulumi");
      assert.equal(r.code, 3, r.out + r.err);
      assert.match(r.out, /app\.users/);
    } finally {
      await admin.query("REVOKE SELECT ON app.users FROM dbw_cs_usage_drop");
    }
  });

  it("another role made a member of a login is drift; only the login's own IAM user is expected", async () => {
    await admin.query('CREATE ROLE "intruder@acme-data-stg.iam" LOGIN');
    await admin.query('GRANT dbw_cs_usage_drop__claude_cs TO "intruder@acme-data-stg.iam"');
    try {
      const r = await run("drift", "--stack", "gcp-iam", "--url", url, "--no-pulumi");
      assert.equal(r.code, 3, r.out + r.err);
      assert.match(r.out, /intruder@acme-data-stg\.iam is a member of dbw_cs_usage_drop__claude_cs and so gets the agents' access/);
      assert.doesNotMatch(r.out, /dbw-cs-usage-drop-claude-cs@/);
    } finally {
      await admin.query('DROP ROLE "intruder@acme-data-stg.iam"');
    }
  });

  it("the whole gcp stack checks its BigQuery target too: without Application Default Credentials, exit 1 before any database is read", async () => {
    const r = await run("drift", "--stack", "gcp", "--url", url, "--no-pulumi");
    assert.equal(r.code, 1, r.out + r.err);
    assert.equal(r.out, "");
    assert.match(
      r.err,
      /^cannot check drift: target warehouse: no Application Default Credentials to read BigQuery's IAM with; run `gcloud auth application-default login`/,
    );
    const stack = mergeDrift("gcp", [CLEAN_APP], null);
    assert.deepEqual(Object.keys(stack), ["environment", "drift", "targets", "pulumi"]);
    assert.equal(driftExitCode(mergeDrift("gcp", [{ ...CLEAN_APP, drift: true }, CLEAN_APP], null)), 3);
    assert.match(formatStackDrift(stack), /^No drift: environment gcp, target app \(database app\)/);
  });

  it("check passes both GCP stacks with the whole pack", async () => {
    for (const stack of ["gcp", "gcp-iam"]) {
      const r = await run("check", "--stack", stack);
      assert.equal(r.code, 0, r.out + r.err);
      assert.match(r.out, /0 mandatory violations, 0 advisory violations, 0 not judged: passed\./);
    }
  });
});
