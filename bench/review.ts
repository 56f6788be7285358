/**
 * `dbwarden review` at scale: synthetic stacks of 100, 1,000 and 2,000 workflows x 20 tables, a
 * change touching one workflow in ten (a column gained, a limit raised, a client added, a
 * rename), timed in two phases over several runs:
 * - diff + render: `compareSides` (diffPlans and the diagram) and the markdown and JSON of the
 *   review, from the two plans in memory;
 * - load + plan: both sides read and planned as `dbwarden review --base` does (`loadSides`: the
 *   base's specs out of git into a temporary project, then load, validate and plan each side).
 * The policy check is left out: it is `dbwarden check`'s cost (bench/check.ts), not the review's.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { renderReviewMarkdown } from "../src/review/markdown.ts";
import { REVIEW_REPORT_VERSION, compareSides, loadSides, type ReviewReport } from "../src/review/review.ts";
import { forgetParsedSpecs } from "../src/spec/parse.ts";
import { VERSION } from "../src/version.ts";

const SIZES = [100, 1000, 2000];
const TABLES = 20;
const RUNS = 3;
const NOW = new Date("2026-06-15T00:00:00Z");

function workflowYaml(w: number, changed: boolean): string {
  const bySchema = new Map<string, string[]>();
  for (let t = 0; t < TABLES; t++) {
    const schema = `s${t % 10}`;
    const table = `t${(w + t) % 200}`;
    const extra = changed && w % 20 !== 0 && t === 1 ? "        note: A column this change adds.\n" : "";
    const block =
      t % 3 === 0
        ? `    ${table}:\n      description: Table ${table}.\n      exclude: [secret, other]\n`
        : `    ${table}:\n      description: Table ${table}.\n      columns:\n        id: Row ` +
          `id.\n        account_id: Owning account.\n        amount: Amount in cents.\n${extra}`;
    bySchema.set(schema, [...(bySchema.get(schema) ?? []), block]);
  }
  const scope = [...bySchema].map(([schema, blocks]) => `  ${schema}:\n${blocks.join("")}`).join("");
  const name = changed && w % 20 === 0 ? `renamed-${w}` : `workflow-${w}`;
  const clients =
    `  - name: agent-a\n    auth: api-key\n  - name: agent-b\n    auth: api-key\n    sourceCidrs: ` +
    `[10.0.0.0/8]\n${changed && w % 20 !== 0 ? "  - name: agent-c\n    auth: api-key\n" : ""}`;
  const limits = changed && w % 20 !== 0 ? "limits: { maxRows: 9000 }\n" : "";
  return (
    `apiVersion: dbwarden/v1\nkind: Workflow\nname: ${name}\nowner: team-${w % 17}\ndescription: ` +
    `Synthetic workflow ${w}.\ntarget: db\nscope:\n${scope}${limits}clients:\n${clients}`
  );
}

/** Write the stack; `changed` applies the change under review to one workflow in ten. */
function writeStack(root: string, workflows: number, changed: boolean): void {
  mkdirSync(join(root, "stacks/environments"), { recursive: true });
  mkdirSync(join(root, "stacks/workflows"), { recursive: true });
  const touched = (w: number) => changed && w % 10 === 0;
  const names = Array.from({ length: workflows }, (_, w) => (touched(w) && w % 20 === 0 ? `renamed-${w}` : `workflow-${w}`));
  writeFileSync(
    join(root, "stacks/environments/bench.yaml"),
    `apiVersion: dbwarden/v1\nkind: Environment\nname: bench\ntargets:\n  db:\n    platform: postgres\n    database: app\n    credentials: { ` +
      `mode: password, rotationDays: 30 }\n    logging: { statements: log-statement }\nworkflows:\n${names.map((n) => `  - ${n}`).join("\n")}\n`,
  );
  for (let w = 0; w < workflows; w++) writeFileSync(join(root, `stacks/workflows/workflow-${w}.yaml`), workflowYaml(w, touched(w)));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (n: number) => Math.round(n);

async function measure(workflows: number) {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-bench-review-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.com", ...args], { cwd: root, stdio: "ignore" });
  try {
    writeStack(root, workflows, false);
    git("init", "-q");
    git("add", "stacks");
    git("commit", "-qm", "base");
    rmSync(join(root, "stacks/workflows"), { recursive: true });
    writeStack(root, workflows, true);
    const load: number[] = [];
    const diffRender: number[] = [];
    let counts = { changes: 0, markdownChars: 0, jsonBytes: 0, renames: 0 };
    for (let run = 0; run < RUNS; run++) {
      (globalThis as { gc?: () => void }).gc?.();
      forgetParsedSpecs(); // each run parses as a new process would, not from the previous run's cache
      let started = performance.now();
      const { sides, commit } = loadSides({ root, base: "HEAD", stacks: ["bench"], now: NOW });
      load.push(performance.now() - started);
      started = performance.now();
      const compared = compareSides(sides[0]!);
      const report: ReviewReport = {
        apiVersion: REVIEW_REPORT_VERSION,
        base: { ref: "HEAD", commit },
        reviewer: { version: VERSION },
        reviewerChanged: null,
        asOf: "2026-06-15",
        stacks: [{ ...compared, policy: null, policyError: null, preview: null }],
        otherPreviews: [],
        notes: [],
      };
      const markdown = renderReviewMarkdown(report);
      const json = JSON.stringify(report);
      diffRender.push(performance.now() - started);
      counts = {
        changes: compared.diff!.changes.length,
        markdownChars: markdown.length,
        jsonBytes: json.length,
        renames: compared.diff!.renames.workflows.length,
      };
    }
    return {
      workflows,
      tables: workflows * TABLES,
      ...counts,
      loadPlanBothSidesMs: load.map(round),
      diffRenderMs: diffRender.map(round),
      loadPlanMedianMs: round(median(load)),
      diffRenderMedianMs: round(median(diffRender)),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const synthetic: Array<Awaited<ReturnType<typeof measure>>> = [];
  for (const size of SIZES) {
    const result = await measure(size);
    console.log(
      `${size} workflows x ${TABLES} tables: ${result.changes} changes (${result.renames} renames); load+plan both sides ` +
        `${result.loadPlanBothSidesMs.join(" / ")} ms, diff+render ${result.diffRenderMs.join(" / ")} ms; markdown ${result.markdownChars} chars`,
    );
    synthetic.push(result);
  }
  const at = (n: number) => synthetic.find((s) => s.workflows === n)!;
  const perWorkflow = (n: number) => (at(n).loadPlanMedianMs + at(n).diffRenderMedianMs) / n;
  return {
    runs: RUNS,
    synthetic,
    totalMedianMsAt1000: at(1000).loadPlanMedianMs + at(1000).diffRenderMedianMs,
    microsPerWorkflow: Object.fromEntries(SIZES.map((n) => [n, round(perWorkflow(n) * 1000)])),
  };
}
