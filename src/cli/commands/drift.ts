import type { Command } from "commander";
import { planStack } from "../../plan/index.ts";
import { detectDrift, postgresTargets } from "../../postgres/drift.ts";
import { ReconcileError } from "../../postgres/reconcile.ts";
import { committedCatalog } from "../../postgres/snapshot.ts";
import { fixDrift } from "../../local/fix.ts";
import { DATABASE_URL_ENV, findTarget, isLocalTarget } from "../../local/target.ts";
import { pulumiDrift } from "../../drift/pulumi.ts";
import { driftExitCode, formatStackDrift, mergeDrift, type TargetDrift } from "../../drift/report.ts";
import { CliError, EXIT } from "../errors.ts";
import { withTargetClient } from "../target.ts";
import type { CliIO } from "../io.ts";
import { projectRoot } from "../../spec/project.ts";

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
      const names = options.target ? [options.target] : postgresTargets(plan);
      if (names.length === 0) throw new CliError(`stack ${plan.environment} has no PostgreSQL target to check`, EXIT.invalidInput);
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
      const pulumi = options.pulumi ? await pulumiDrift(plan, { root, env: io.env }) : null;
      const merged = mergeDrift(plan.environment, reports, pulumi);
      io.out(options.json ? `${JSON.stringify(merged, null, 2)}\n` : formatStackDrift(merged));
      const code = driftExitCode(merged);
      if (code !== EXIT.ok) throw new CliError("", code);
    });
}
