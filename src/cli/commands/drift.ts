import type { Command } from "commander";
import { planStack } from "../../plan/index.ts";
import { detectDrift, postgresTargets } from "../../postgres/drift.ts";
import { ReconcileError } from "../../postgres/reconcile.ts";
import { committedCatalog } from "../../postgres/snapshot.ts";
import { fixDrift } from "../../local/fix.ts";
import { DATABASE_URL_ENV, findTarget, isLocalTarget } from "../../local/target.ts";
import { driftExitCode, formatStackDrift, mergeDrift, type TargetDrift } from "../../drift/report.ts";
import { CliError, EXIT } from "../errors.ts";
import { withTargetClient } from "../target.ts";
import type { CliIO } from "../io.ts";
import { projectRoot } from "../../spec/project.ts";
import type { AccessPlan, TargetPlan } from "../../plan/types.ts";
import type { TargetPlatformName } from "@dbwarden/contract";
import type { SnowflakeTarget } from "../../../components/snowflake/children.ts";
import { loadCatalog, type CatalogSnapshot } from "../../../components/postgres/catalog.ts";
import { openSnowflakeAdmin } from "../../snowflake/admin.ts";
import { detectSnowflakeDrift, revokeSnowflakeDrift } from "../../snowflake/drift.ts";
import { applicationDefaultCredentials, bigqueryIam, ConcurrentChangeError, missingCredentialsMessage, type BigQueryIam } from "../../bigquery/iam.ts";
import { detectBigQueryDrift, fixBigQueryDrift } from "../../bigquery/drift.ts";

/** One Snowflake target's drift (SHOW GRANTS as the deployer); with --fix, what the plan does not grant is revoked. */
async function snowflakeTargetDrift(io: CliIO, plan: AccessPlan, target: SnowflakeTarget, root: string, fix: boolean): Promise<TargetDrift> {
  let admin;
  try {
    admin = await openSnowflakeAdmin(target, io.env);
  } catch (error) {
    throw new CliError(`cannot check drift: ${(error as Error).message}`, EXIT.invalidInput);
  }
  try {
    const catalog = loadCatalog(plan.environment, root);
    const found = await detectSnowflakeDrift(admin.query, plan, target, catalog);
    if (!fix || !found.drift) return found;
    const statements = await revokeSnowflakeDrift(admin.query, found);
    const after = await detectSnowflakeDrift(admin.query, plan, target, catalog);
    return { ...after, fixed: { differences: found.differences.filter((d) => d.fix.length > 0), statements } };
  } finally {
    await admin.close();
  }
}

/** How drift reaches a BigQuery project (tests point the real client at a local double). */
export const bigqueryIamClients = { open: (project: string): BigQueryIam => bigqueryIam(project) };

/** The committed catalog snapshot of the stack and its file as shown, when there is one. */
type Snapshot = { catalog: CatalogSnapshot; source: string } | null;

/** One BigQuery target's drift (its IAM, as the operator); with --fix, the access entries the plan does not give are removed. */
async function bigqueryTargetDrift(plan: AccessPlan, target: TargetPlan, snapshot: Snapshot, fix: boolean): Promise<TargetDrift> {
  const iam = bigqueryIamClients.open(target.database);
  const { catalog, source } = snapshot ?? { catalog: {}, source: `the catalog snapshot of ${plan.environment} (none is committed)` };
  try {
    const found = await detectBigQueryDrift(iam, plan, target, catalog, source);
    if (!fix || found.fixes.length === 0) return found.report;
    const written = await fixBigQueryDrift(iam, found.fixes);
    const after = await detectBigQueryDrift(iam, plan, target, catalog, source);
    const unit = `dataset access list${written === 1 ? "" : "s"} written (datasets.patch, each only if unchanged since read)`;
    return { ...after.report, fixed: { differences: found.report.differences.filter((d) => d.fix.length > 0), statements: written, unit } };
  } catch (error) {
    // The client's and Google's messages name resources and statuses, never a credential.
    const what = error instanceof ConcurrentChangeError ? "cannot fix drift" : "cannot check drift";
    throw new CliError(`${what} on target ${target.name} (project ${target.database}): ${(error as Error).message}`, EXIT.invalidInput);
  }
}

/** A target platform's live side, where it is not PostgreSQL's comparison (`detectDrift`). */
interface LiveDrift {
  /** What is missing to connect, said before anything connects (exit 1); null when nothing is. */
  missing(target: TargetPlan, env: Record<string, string | undefined>): string | null;
  compare(io: CliIO, plan: AccessPlan, target: TargetPlan, context: { root: string; snapshot: Snapshot; fix: boolean }): Promise<TargetDrift>;
}

/** Every target platform: null where the PostgreSQL comparison answers, else its own live side (a new platform must say which). */
export const LIVE_DRIFT = {
  postgres: null,
  "aws-rds": null,
  "gcp-cloudsql": null,
  snowflake: { missing: () => null, compare: (io, plan, target, { root, fix }) => snowflakeTargetDrift(io, plan, target as SnowflakeTarget, root, fix) },
  bigquery: {
    missing: (target, env) => (applicationDefaultCredentials(env) ? null : missingCredentialsMessage(target.name, env)),
    compare: (_io, plan, target, { snapshot, fix }) => bigqueryTargetDrift(plan, target, snapshot, fix),
  },
} as const satisfies Record<TargetPlatformName, LiveDrift | null>;

export function register(program: Command, io: CliIO): void {
  program
    .command("drift")
    .description("Compare the effective privileges of every workflow role in the live database with the access plan.")
    .option("-s, --stack <env>", "stack (environment): <spec folder>/environments/<env>.yaml", "local")
    .option("--json", "print the report as JSON")
    .option("--url <url>", `admin connection URL (default: the target's connectionUrlEnv, then $${DATABASE_URL_ENV}, then the local stack)`)
    .option("--target <name>", "only this target (default: every PostgreSQL, Snowflake and BigQuery target of the stack)")
    .option("--fix", "reconcile the differences away (PostgreSQL: the local stack only; Snowflake and BigQuery: remove what the plan does not grant)")
    .option("--no-pulumi", "skip the Pulumi side (pulumi preview --refresh --expect-no-changes)")
    .addHelpText(
      "after",
      [
        "",
        "Checks direct and inherited grants, column grants, PUBLIC, memberships (incl. predefined roles such as",
        "pg_read_server_files), role attributes, default privileges, ownership and role settings.",
        "Snowflake: SHOW GRANTS as the deployer. BigQuery, with your Application Default Credentials: the view datasets'",
        "access lists, the views' SQL, the authorized views on the source datasets and the service accounts' project roles.",
        "With the pulumi CLI on PATH, also the deployed resources against the program (a preview: never writes state).",
        "Exit codes: 0 no drift, 3 drift found (either side), 1 invalid spec, unreachable database or failed preview, 2 usage error.",
      ].join("\n"),
    )
    .action(async (options: { stack: string; json?: boolean; url?: string; target?: string; fix?: boolean; pulumi: boolean }) => {
      const root = projectRoot(io.cwd);
      const plan = planStack(options.stack, { root, now: io.now() });
      const warehouses = plan.targets.filter((t) => LIVE_DRIFT[t.platform] !== null && (!options.target || t.name === options.target));
      const names = options.target ? (warehouses.length > 0 ? [] : [options.target]) : postgresTargets(plan);
      if (names.length === 0 && warehouses.length === 0)
        throw new CliError(`stack ${plan.environment} has no PostgreSQL, Snowflake or BigQuery target to check`, EXIT.invalidInput);
      for (const target of warehouses) {
        const missing = LIVE_DRIFT[target.platform]!.missing(target, io.env);
        if (missing) throw new CliError(`cannot check drift: ${missing}`, EXIT.invalidInput);
      }
      let snapshot;
      try {
        snapshot = committedCatalog(plan.environment, root);
      } catch (error) {
        throw new CliError((error as Error).message, EXIT.invalidInput);
      }
      const driftOptions = (target: string) => ({ target, ...(snapshot ? { snapshot } : {}) });
      const reports: TargetDrift[] = [];
      for (const name of names) {
        let target;
        try {
          target = findTarget(plan, name);
        } catch (error) {
          throw new CliError((error as Error).message, EXIT.usage);
        }
        if (options.fix && !isLocalTarget(target)) {
          throw new CliError(
            `--fix changes the database, so it is for the local stack only; ` +
              `target "${name}" of ${plan.environment} is changed by re-applying the plan (pulumi up)`,
            EXIT.usage,
          );
        }
        const report = await withTargetClient(io, { plan, target, url: options.url, root, what: "cannot check drift" }, async (client) => {
          const found = await detectDrift(client, plan, driftOptions(name));
          if (!options.fix || !found.drift) return found;
          // The report then says what was fixed (text and --json), and the state after it.
          const fixed = await fixDrift(client, plan, found, driftOptions(name)).catch((error: unknown) => {
            throw error instanceof ReconcileError ? new CliError(error.message, EXIT.invalidInput) : error;
          });
          return { ...fixed.report, fixed: fixed.fixed };
        });
        reports.push(report);
      }
      for (const target of warehouses)
        reports.push(await LIVE_DRIFT[target.platform]!.compare(io, plan, target, { root, snapshot, fix: options.fix === true }));
      // Loaded when asked for (Pulumi's packages: see check.ts).
      const pulumi = options.pulumi ? await (await import("../../drift/pulumi.ts")).pulumiDrift(plan, { root, env: io.env }) : null;
      const merged = mergeDrift(plan.environment, reports, pulumi);
      io.out(options.json ? `${JSON.stringify(merged, null, 2)}\n` : formatStackDrift(merged));
      const code = driftExitCode(merged);
      if (code !== EXIT.ok) throw new CliError("", code);
    });
}
