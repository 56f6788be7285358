import type { Command } from "commander";
import { planStack } from "../../plan/index.ts";
import { detectDrift, formatDriftReport, postgresTargets, type DriftReport } from "../../postgres/drift.ts";
import { ReconcileError } from "../../postgres/reconcile.ts";
import { fixDrift, formatFixedDrift, type FixedDrift } from "../../local/fix.ts";
import { connectAdmin } from "../../local/postgres.ts";
import { DATABASE_URL_ENV, findTarget, isLocalTarget, openTarget } from "../../local/target.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

export function register(program: Command, io: CliIO): void {
  program
    .command("drift")
    .description("Compare the effective privileges of every workflow role in the live database with the access plan.")
    .option("-s, --stack <env>", "stack (environment): stacks/environments/<env>.yaml", "local")
    .option("--json", "print the report as JSON")
    .option("--url <url>", `admin connection URL (default: the target's connectionUrlEnv, then $${DATABASE_URL_ENV}, then the local stack)`)
    .option("--target <name>", "only this target (default: every PostgreSQL target of the stack)")
    .option("--fix", "reconcile the differences away (local stack only)")
    .addHelpText(
      "after",
      "\nChecks direct and inherited grants, column grants, PUBLIC, memberships (incl. predefined roles such as\npg_read_server_files), role attributes, default privileges, ownership and role settings.\nExit codes: 0 no drift, 3 drift found, 1 invalid spec or unreachable database, 2 usage error.",
    )
    .action(async (options: { stack: string; json?: boolean; url?: string; target?: string; fix?: boolean }) => {
      const plan = planStack(options.stack, { root: io.cwd, now: io.now() });
      const names = options.target ? [options.target] : postgresTargets(plan);
      if (names.length === 0) throw new CliError(`stack ${plan.environment} has no PostgreSQL target to check`, EXIT.invalidInput);
      const reports: Array<DriftReport & { fixed?: FixedDrift }> = [];
      for (const name of names) {
        let target;
        try {
          target = findTarget(plan, name);
        } catch (error) {
          throw new CliError((error as Error).message, EXIT.usage);
        }
        if (options.fix && !isLocalTarget(target)) {
          throw new CliError(
            `--fix changes the database, so it is for the local stack only; target "${name}" of ${plan.environment} is changed by re-applying the plan (pulumi up)`,
            EXIT.usage,
          );
        }
        let opened;
        try {
          opened = await openTarget({ plan, target, url: options.url, env: io.env, root: io.cwd, progress: (l) => io.progress(l) });
        } catch (error) {
          throw new CliError(`cannot check drift: ${(error as Error).message}`, EXIT.invalidInput);
        }
        try {
          const client = await connectAdmin(opened.conn, target.database).catch((error: Error) => {
            throw new CliError(`cannot connect to database ${target.database} (${opened.source}): ${error.message}`, EXIT.invalidInput);
          });
          try {
            const report = await detectDrift(client, plan, { target: name });
            if (options.fix && report.drift) {
              // The report then says what was fixed (text and --json), and the state after it.
              const fixed = await fixDrift(client, plan, report).catch((error: unknown) => {
                throw error instanceof ReconcileError ? new CliError(error.message, EXIT.invalidInput) : error;
              });
              reports.push({ ...fixed.report, fixed: fixed.fixed });
            } else reports.push(report);
          } finally {
            await client.end().catch(() => {});
          }
        } finally {
          await opened.close();
        }
      }
      const drift = reports.some((r) => r.drift);
      if (options.json) io.out(`${JSON.stringify({ environment: plan.environment, drift, targets: reports }, null, 2)}\n`);
      else for (const r of reports) io.out(`${r.fixed ? `${formatFixedDrift(r, r.fixed)}\n` : ""}${formatDriftReport(r)}`);
      if (drift) throw new CliError("", EXIT.drift);
    });
}
