import type { Command } from "commander";
import { planStack } from "../../plan/index.ts";
import { detectDrift, postgresTargets } from "../../postgres/drift.ts";
import { ReconcileError } from "../../postgres/reconcile.ts";
import { committedCatalog } from "../../postgres/snapshot.ts";
import { fixDrift } from "../../local/fix.ts";
import { DATABASE_URL_ENV, findTarget, isLocalTarget } from "../../local/target.ts";
import { driftExitCode, formatStackDrift, mergeDrift, type NotComparedTarget, type TargetDrift } from "../../drift/report.ts";
import { CliError, EXIT } from "../errors.ts";
import { withTargetClient } from "../target.ts";
import type { CliIO } from "../io.ts";
import { projectRoot } from "../../spec/project.ts";
import type { AccessPlan } from "../../plan/types.ts";
import type { SnowflakeTarget } from "../../../components/snowflake/children.ts";
import { loadCatalog } from "../../../components/postgres/catalog.ts";
import { openSnowflakeAdmin } from "../../snowflake/admin.ts";
import { detectSnowflakeDrift, revokeSnowflakeDrift } from "../../snowflake/drift.ts";

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

/** What `dbwarden drift` says of a BigQuery target, whose live IAM it does not read yet. */
export const BIGQUERY_NOT_COMPARED =
  "dbwarden drift does not read BigQuery's live IAM yet. What dbwarden deployed there (the workflows' " +
  "service accounts, views, dataset access entries and IAM members) is compared by the Pulumi " +
  "side (pulumi preview --refresh, without --no-pulumi), and `dbwarden check` judges the program; " +
  "access granted outside Pulumi (another dataset access entry, a project role) is not detected.";

export function register(program: Command, io: CliIO): void {
  program
    .command("drift")
    .description("Compare the effective privileges of every workflow role in the live database with the access plan.")
    .option("-s, --stack <env>", "stack (environment): <spec folder>/environments/<env>.yaml", "local")
    .option("--json", "print the report as JSON")
    .option("--url <url>", `admin connection URL (default: the target's connectionUrlEnv, then $${DATABASE_URL_ENV}, then the local stack)`)
    .option("--target <name>", "only this target (default: every PostgreSQL target of the stack)")
    .option("--fix", "reconcile the differences away (local stack only)")
    .option("--no-pulumi", "skip the Pulumi side (pulumi preview --refresh --expect-no-changes)")
    .addHelpText(
      "after",
      [
        "",
        "Checks direct and inherited grants, column grants, PUBLIC, memberships (incl. predefined roles such as",
        "pg_read_server_files), role attributes, default privileges, ownership and role settings.",
        "With the pulumi CLI on PATH, also the deployed resources against the program (a preview: never writes state).",
        "Exit codes: 0 no drift, 3 drift found (either side), 1 invalid spec, unreachable database or failed preview, 2 usage error.",
      ].join("\n"),
    )
    .action(async (options: { stack: string; json?: boolean; url?: string; target?: string; fix?: boolean; pulumi: boolean }) => {
      const root = projectRoot(io.cwd);
      const plan = planStack(options.stack, { root, now: io.now() });
      const snowflake = plan.targets.filter((t) => t.platform === "snowflake" && (!options.target || t.name === options.target));
      // BigQuery targets have no live side here yet: said in words, the exit code left to what is compared.
      const notCompared: NotComparedTarget[] = plan.targets
        .filter((t) => t.platform === "bigquery" && (!options.target || options.target === t.name))
        .map((t) => ({ target: t.name, platform: t.platform, reason: BIGQUERY_NOT_COMPARED }));
      const names = options.target ? (snowflake.length > 0 || notCompared.length > 0 ? [] : [options.target]) : postgresTargets(plan);
      if (names.length === 0 && snowflake.length === 0 && notCompared.length === 0)
        throw new CliError(`stack ${plan.environment} has no PostgreSQL, Snowflake or BigQuery target to check`, EXIT.invalidInput);
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
        if (options.fix && !isLocalTarget(target) && target.platform !== "snowflake") {
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
      for (const target of snowflake) reports.push(await snowflakeTargetDrift(io, plan, target as SnowflakeTarget, root, options.fix === true));
      // Loaded when asked for (Pulumi's packages: see check.ts).
      const pulumi = options.pulumi ? await (await import("../../drift/pulumi.ts")).pulumiDrift(plan, { root, env: io.env }) : null;
      const merged = mergeDrift(plan.environment, reports, pulumi, notCompared);
      io.out(options.json ? `${JSON.stringify(merged, null, 2)}\n` : formatStackDrift(merged));
      const code = driftExitCode(merged);
      if (code !== EXIT.ok) throw new CliError("", code);
    });
}
