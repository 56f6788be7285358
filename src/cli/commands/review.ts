import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { GitError } from "../../review/git.ts";
import { renderReviewMarkdown } from "../../review/markdown.ts";
import { PreviewError, parsePreview, summarizePreview, type PreviewSummary } from "../../review/preview.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";
import { projectRoot } from "../../spec/project.ts";
import { POLICY_REPORT_VERSION, type PolicyReport } from "../../policy/report.ts";

const collect = (value: string, previous: string[]) => [...previous, value];

function readPreviews(files: readonly string[], cwd: string): PreviewSummary[] {
  return files.map((file) => {
    let text: string;
    try {
      text = readFileSync(resolve(cwd, file), "utf8");
    } catch (error) {
      throw new CliError(`cannot read --preview-json ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, EXIT.invalidInput);
    }
    try {
      return summarizePreview(parsePreview(text, file), file);
    } catch (error) {
      if (error instanceof PreviewError) throw new CliError(error.message, EXIT.invalidInput);
      throw error;
    }
  });
}

/** Policy reports `dbwarden check --json` wrote (in CI, by the job that ran the head's code), each for its stack. */
function readChecks(files: readonly string[], cwd: string): PolicyReport[] {
  return files.map((file) => {
    let report: Partial<PolicyReport>;
    try {
      report = JSON.parse(readFileSync(resolve(cwd, file), "utf8")) as Partial<PolicyReport>;
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code ?? `not JSON (${(error as Error).message})`;
      throw new CliError(`cannot read --check-json ${file}: ${why}`, EXIT.invalidInput);
    }
    if (report?.apiVersion !== POLICY_REPORT_VERSION || typeof report.stack !== "string" || typeof report.passed !== "boolean")
      throw new CliError(`--check-json ${file} is not a report of \`dbwarden check --json\` (apiVersion ${POLICY_REPORT_VERSION})`, EXIT.invalidInput);
    return report as PolicyReport;
  });
}

export function register(program: Command, io: CliIO): void {
  program
    .command("review")
    .description("Say what access a change makes: the access plans at a base git ref and in the working tree, compared per stack.")
    .requiredOption("--base <git-ref>", "the ref to compare with, e.g. origin/main")
    .option("-s, --stack <env>", "a stack to review (repeatable; default: every stack at base or head)", collect, [])
    .option("--format <format>", "markdown (a pull-request comment) or json", "markdown")
    .option("--preview-json <file>", "output of `pulumi preview --json` to summarise (repeatable; its stack is read from its URNs)", collect, [])
    .option("--no-check", "skip the policy check of the head")
    .option(
      "--check-json <file>",
      "a report of `dbwarden check --json` to include as the head's policy check of its stack, instead of running it (repeatable)",
      collect,
      [],
    )
    .addHelpText(
      "after",
      [
        "",
        "Both sides are planned by this dbwarden as of today, each with its catalog snapshot; in CI, run the base branch's dbwarden",
        "(it cannot be changed by the change it reviews). A change to the program, components, review, policy pack, dependencies",
        'or CI is named first: "the reviewer changed: an owner must review the code".',
        "Spec files and snapshots that are symbolic links are refused on both sides. Changes are marked widening (more data,",
        "principals or networks, longer-lived credentials, higher limits, weaker logging), narrowing or neutral; renames are",
        "recognised when the access is otherwise identical. Nothing printed is a secret; preview values are scrubbed.",
        "Exit codes: 0 review printed (whatever it finds), 1 invalid spec at head, unreadable git ref, preview or check file, 2 usage error.",
      ].join("\n"),
    )
    .action(async (options: { base: string; stack: string[]; format: string; previewJson: string[]; checkJson: string[]; check: boolean }) => {
      if (options.format !== "markdown" && options.format !== "json")
        throw new CliError(`--format must be markdown or json, not "${options.format}"`, EXIT.usage);
      const previews = readPreviews(options.previewJson, io.cwd);
      const checks = readChecks(options.checkJson, io.cwd);
      let report;
      try {
        // Loaded when asked for (Pulumi's packages: see check.ts).
        const { reviewChanges } = await import("../../review/review.ts");
        report = await reviewChanges({
          root: projectRoot(io.cwd),
          base: options.base,
          stacks: options.stack,
          now: io.now(),
          policy: options.check,
          previews,
          checks,
        });
      } catch (error) {
        if (error instanceof GitError) throw new CliError(`cannot read the base: ${error.message}`, EXIT.invalidInput);
        throw error;
      }
      io.out(options.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : renderReviewMarkdown(report));
    });
}
