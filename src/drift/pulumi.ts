/**
 * Drift on the Pulumi side: what the deployed resources look like now (refreshed from the cloud
 * and the database) against what the program declares, by `pulumi preview --refresh
 * --expect-no-changes --json --stack <env>`. A preview never writes state (`pulumi refresh
 * --expect-no-changes` does, so it is never used here).
 *
 * The verdict comes from the JSON, not the exit code alone: newer CLIs exit 7 when changes are
 * found, older ones 255, and 255 is also every other failure. Any step that would create,
 * update, replace or delete a resource is drift; a non-zero exit with no such step is a failure,
 * reported with the preview's error diagnostics (scrubbed).
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { AccessPlan } from "../plan/types.ts";
import { notDeployedReason } from "../policy/check.ts";
import { PreviewError, countsInWords, parsePreview, scrubText, summarizePreview, type PreviewSummary } from "../review/preview.ts";

export type PulumiDriftStatus = "clean" | "drift" | "failed" | "no-cli" | "not-deployed";

export interface PulumiDrift {
  status: PulumiDriftStatus;
  stack: string;
  /** The command run (no secrets: flags and the stack name only), or null when none ran. */
  command: string[] | null;
  exitCode: number | null;
  /** The resources that would change, summarised and scrubbed (status `drift`), else null. */
  changes: PreviewSummary | null;
  /** One line saying what was found (or why nothing was checked). */
  message: string;
}

/** The `pulumi` executable on `env.PATH`, or null. */
export function findPulumi(env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, "pulumi");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** The preview's arguments: never `refresh` (it writes state), never `up`. */
export function previewArgs(stack: string): string[] {
  return ["preview", "--refresh", "--expect-no-changes", "--json", "--non-interactive", "--stack", stack];
}

export interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

function run(executable: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(executable, args, { cwd, env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" }, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (error) => resolve({ exitCode: null, stdout: "", stderr: error.message }));
    child.on("close", (code) => resolve({ exitCode: code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

/** Judge a finished preview from its JSON (and its exit code only where the JSON is silent). */
export function judgePreview(stack: string, command: string[], result: RunResult): PulumiDrift {
  const base = { stack, command, exitCode: result.exitCode };
  const firstLine = (text: string) =>
    scrubText(
      text
        .trim()
        .split("\n")
        .find((l) => l.trim() !== "") ?? "",
    ).slice(0, 300);
  let summary: PreviewSummary;
  try {
    summary = summarizePreview(parsePreview(result.stdout, "pulumi preview --json"), `pulumi preview --stack ${stack}`);
  } catch (error) {
    if (!(error instanceof PreviewError)) throw error;
    const why = firstLine(result.stderr) || error.message;
    return { ...base, status: "failed", changes: null, message: `pulumi preview failed (exit ${result.exitCode ?? "none"}) without a readable result: ${why}` };
  }
  const changed = summary.counts.create + summary.counts.update + summary.counts.replace + summary.counts.delete;
  if (changed > 0) {
    return {
      ...base,
      status: "drift",
      changes: summary,
      message: `Pulumi: ${changed} resource${changed === 1 ? "" : "s"} of stack ${stack} differ from the program (${countsInWords(summary.counts)}).`,
    };
  }
  if (result.exitCode !== 0) {
    const errors = summary.diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
    const why = errors[0] ?? (firstLine(result.stderr) || "no error message");
    return { ...base, status: "failed", changes: null, message: `pulumi preview failed (exit ${result.exitCode ?? "none"}) and reported no change: ${why}` };
  }
  return { ...base, status: "clean", changes: null, message: `Pulumi: no drift: every resource of stack ${stack} matches the program.` };
}

/** Check a stack's Pulumi side, when it has one and the CLI is present. */
export async function pulumiDrift(plan: AccessPlan, options: { root: string; env: NodeJS.ProcessEnv }): Promise<PulumiDrift> {
  const stack = plan.environment;
  if (notDeployedReason(plan) !== null) {
    return {
      status: "not-deployed",
      stack,
      command: null,
      exitCode: null,
      changes: null,
      message: `Pulumi: stack ${stack} has no Pulumi deployment (it runs on this machine); only its database is checked.`,
    };
  }
  const executable = findPulumi(options.env);
  if (!executable) {
    return {
      status: "no-cli",
      stack,
      command: null,
      exitCode: null,
      changes: null,
      message: "Pulumi side not checked: the pulumi CLI is not on PATH (install it to compare the deployed resources with the program).",
    };
  }
  const args = previewArgs(stack);
  return judgePreview(stack, ["pulumi", ...args], await run(executable, args, options.root, options.env));
}
