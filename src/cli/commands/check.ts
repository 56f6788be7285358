import type { Command } from "commander";
import { formatPolicyReport } from "../../policy/report.ts";
import { SpecError } from "../../spec/errors.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";
import { projectRoot } from "../../spec/project.ts";

export function register(program: Command, io: CliIO): void {
  program
    .command("check")
    .description("Run the policy pack (policies/) offline over the resources the Pulumi program declares for a stack.")
    .option("-s, --stack <env>", "stack (environment): <spec folder>/environments/<env>.yaml", "local")
    .option("--json", "print the report as JSON")
    .addHelpText(
      "after",
      [
        "",
        "No Pulumi CLI and no cloud: the program runs under mocks, its lookups (the primary database, the admin",
        "secret, subnets, generated passwords) get stand-in answers, and rules reading those values report",
        '"not judged". The local stack has no Pulumi deployment: it is reported as such, exit 0.',
        "Exit codes: 0 no mandatory violation, 4 a mandatory rule is violated, 1 invalid spec or program error, 2 usage error.",
      ].join("\n"),
    )
    .action(async (options: { stack: string; json?: boolean }) => {
      let report;
      try {
        // Loaded when asked for: the policy check brings Pulumi and its plugins' packages, which no
        // other command (`up`, `mcp`: long-running processes) should hold in memory.
        const { checkStack } = await import("../../policy/check.ts");
        report = await checkStack(options.stack, { root: projectRoot(io.cwd), now: io.now() });
      } catch (error) {
        if (error instanceof SpecError) throw error;
        throw new CliError(`cannot check stack ${options.stack}: ${(error as Error).message}`, EXIT.invalidInput);
      }
      io.out(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatPolicyReport(report));
      if (!report.passed) throw new CliError("", EXIT.policy);
    });
}
