/**
 * `dbwarden check` and `dbwarden review` on a GCP stack at scale (issue 19: both under 10 s at
 * 1,000 GCP workflows). A synthetic project on disk, as a user's would be: a Cloud Run host reading
 * a Cloud SQL target and a BigQuery target, N workflows x 20 tables, half on each target (Cloud
 * SQL: password logins with rotation; BigQuery: per-workflow service account and authorized views,
 * "all but these" resolved against the catalog snapshot), one client each.
 * - check: `checkStack` exactly as `dbwarden check --stack bench` runs it: load, validate and plan,
 *   dbwarden's own program (`deployStack`: the GCP preflight, then GovernedCloudRun with every
 *   target's components) recorded under mocks with stand-in lookups, then the whole pack; each size
 *   in a process of its own (./_gcp-profile.ts, 4 GiB heap), so a size that runs out of memory is
 *   reported as a result;
 * - review: `dbwarden review --base HEAD` without the policy check (that is check's cost): both
 *   sides loaded and planned from git and the working tree, `compareSides`, markdown and JSON, with
 *   a change touching one workflow in ten (a column gained, a bytes cap or row limit raised, a client added);
 *   timed first, then check on the changed stack (the head a pull request's check judges).
 * Timed in wall-clock ms and in process CPU ms (user + sys: robust on a shared machine).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { renderReviewMarkdown } from "../src/review/markdown.ts";
import { REVIEW_REPORT_VERSION, compareSides, loadSides, type ReviewReport } from "../src/review/review.ts";
import { forgetParsedSpecs } from "../src/spec/parse.ts";
import { VERSION } from "../src/version.ts";

const SIZES = [100, 1000];
/** Check sizes, each in its own process: BENCH_GCP_CHECK_SIZES=100,1000 to choose. */
const CHECK_SIZES = (process.env.BENCH_GCP_CHECK_SIZES ?? "100,250,1000").split(",").map(Number);
const CHECK_TIMEOUT_MS = 900_000;
const TABLES = 20;
const NOW = new Date("2026-12-07T00:00:00Z");
const COLUMNS = ["id", "account_id", "amount", "secret", "other", "created_at"];

const onWarehouse = (w: number) => w % 2 === 1;

function workflowYaml(w: number, changed: boolean): string {
  const warehouse = onWarehouse(w);
  const bySchema = new Map<string, string[]>();
  for (let t = 0; t < TABLES; t++) {
    const schema = `${warehouse ? "d" : "s"}${t % 10}`;
    const table = `t${(w + t) % 200}`;
    const extra = changed && t === 1 ? "        created_at: A column this change adds.\n" : "";
    const block =
      t % 3 === 0
        ? `    ${table}:\n      description: Table ${table}.\n      exclude: [secret, other]\n`
        : `    ${table}:\n      description: Table ${table}.\n      columns:\n        id: Row ` +
          `id.\n        account_id: Owning account.\n        amount: Amount in cents.\n${extra}`;
    bySchema.set(schema, [...(bySchema.get(schema) ?? []), block]);
  }
  const scope = [...bySchema].map(([schema, blocks]) => `  ${schema}:\n${blocks.join("")}`).join("");
  const clients = `  - name: agent-a\n    auth: api-key\n${changed ? "  - name: agent-b\n    auth: api-key\n" : ""}`;
  const limits = changed ? (warehouse ? "limits: { maxBytesBilled: 2GB }\n" : "limits: { maxRows: 9000 }\n") : "";
  return (
    `apiVersion: dbwarden/v1\nkind: Workflow\nname: workflow-${w}\nowner: team-${w % 17}\ndescription: Synthetic ` +
    `workflow ${w}.\ntarget: ${warehouse ? "warehouse" : "app"}\nscope:\n${scope}${limits}clients:\n${clients}`
  );
}

const ENVIRONMENT = `apiVersion: dbwarden/v1
kind: Environment
name: bench
owner: data-platform
targets:
  app:
    platform: gcp-cloudsql
    database: app
    project: acme-data-prod
    region: europe-west1
    primary:
      instance: app-prod
      adminSecret: projects/acme-data-prod/secrets/cloudsql-admin-app-prod
    replica:
      create: { instanceClass: db-custom-2-7680, zone: europe-west1-b }
    network: { vpcId: projects/acme-data-prod/global/networks/data, privateOnly: true }
    credentials: { mode: password, rotationDays: 30 }
    logging: { statements: pgaudit, retentionDays: 365 }
  warehouse:
    platform: bigquery
    database: acme-data-prod
    location: EU
    maximumBytesBilled: 10GB
    credentials: { mode: iam }
    logging: { statements: query-history, retentionDays: 365 }
mcpServer:
  image: europe-west1-docker.pkg.dev/acme-data-prod/dbwarden/mcp-server:0.3.0
  port: 8080
  allowedCidrs: [198.51.100.0/24]
  hostnames: [mcp.bench.example.com]
  host:
    platform: gcp-cloudrun
    project: acme-data-prod
    region: europe-west1
    network: projects/acme-data-prod/global/networks/data
    subnetwork: projects/acme-data-prod/regions/europe-west1/subnetworks/data-run
    ingress: load-balancer
    sslCertificate: projects/acme-data-prod/global/sslCertificates/mcp-bench
`;

/** Write the stack; `changed` applies the change under review to one workflow in ten. */
export function writeStack(root: string, workflows: number, changed: boolean): void {
  mkdirSync(join(root, "stacks/environments"), { recursive: true });
  mkdirSync(join(root, "stacks/workflows"), { recursive: true });
  mkdirSync(join(root, "stacks/catalog"), { recursive: true });
  const names = Array.from({ length: workflows }, (_, w) => `workflow-${w}`);
  writeFileSync(join(root, "stacks/environments/bench.yaml"), `${ENVIRONMENT}workflows:\n${names.map((n) => `  - ${n}`).join("\n")}\n`);
  writeFileSync(join(root, "stacks/Pulumi.bench.yaml"), "config:\n  gcp:project: acme-data-prod\n  gcp:region: europe-west1\n");
  const catalog: Record<string, string[]> = {};
  for (const prefix of ["s", "d"]) for (let s = 0; s < 10; s++) for (let t = 0; t < 200; t++) catalog[`${prefix}${s}.t${t}`] = COLUMNS;
  writeFileSync(join(root, "stacks/catalog/bench.json"), JSON.stringify(catalog));
  for (let w = 0; w < workflows; w++) writeFileSync(join(root, `stacks/workflows/workflow-${w}.yaml`), workflowYaml(w, changed && w % 10 === 0));
}

/** Wall-clock and process CPU milliseconds of `f`. */
async function timed<T>(f: () => Promise<T> | T): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await f();
  const used = process.cpuUsage(cpu);
  return { value, wallMs: Math.round(performance.now() - started), cpuMs: Math.round((used.user + used.system) / 1000) };
}

async function measure(workflows: number) {
  const root = mkdtempSync(join(tmpdir(), "dbwarden-bench-gcp-"));
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@example.com", ...args], { cwd: root, stdio: "ignore" });
  try {
    writeStack(root, workflows, false);
    git("init", "-q");
    git("add", "stacks");
    git("commit", "-qm", "base");
    rmSync(join(root, "stacks/workflows"), { recursive: true });
    writeStack(root, workflows, true);
    forgetParsedSpecs(); // a new process's empty cache: the smaller size's files must not be found here
    const review = await timed(() => {
      const { sides, commit } = loadSides({ root, base: "HEAD", stacks: ["bench"], now: NOW });
      const compared = compareSides(sides[0]!);
      const full: ReviewReport = {
        apiVersion: REVIEW_REPORT_VERSION,
        base: { ref: "HEAD", commit },
        reviewer: { version: VERSION },
        reviewerChanged: null,
        asOf: "2026-12-07",
        stacks: [{ ...compared, policy: null, policyError: null, preview: null }],
        otherPreviews: [],
        notes: [],
      };
      return { changes: compared.diff!.changes.length, markdownChars: renderReviewMarkdown(full).length, jsonBytes: JSON.stringify(full).length };
    });
    return { workflows, tables: workflows * TABLES, review: { ...review.value, wallMs: review.wallMs, cpuMs: review.cpuMs } };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * `checkStack` at one size in a process of its own (./_gcp-profile.ts), with a 4 GiB heap and a
 * time limit: a size that runs out of memory or time is reported as such, not as a crash.
 */
function measureCheck(workflows: number): Record<string, unknown> {
  const started = performance.now();
  const child = spawnSync(
    process.execPath,
    ["--max-old-space-size=4096", "--import", "tsx", join(import.meta.dirname, "_gcp-profile.ts"), "check", String(workflows)],
    { encoding: "utf8", timeout: CHECK_TIMEOUT_MS },
  );
  const last = child.stdout.trim().split("\n").pop() ?? "";
  if (child.status === 0 && last.startsWith("{")) return JSON.parse(last) as Record<string, unknown>;
  const reason = child.error
    ? `did not finish in ${CHECK_TIMEOUT_MS / 1000} s`
    : /heap out of memory/.test(child.stderr)
      ? "ran out of memory (4 GiB heap)"
      : `failed (exit ${child.status ?? child.signal}): ${child.stderr.trim().split("\n").slice(-1)[0] ?? ""}`;
  return { what: "check", workflows, failed: reason, afterMs: Math.round(performance.now() - started) };
}

export async function run(): Promise<Record<string, unknown>> {
  const review: Array<Awaited<ReturnType<typeof measure>>> = [];
  for (const size of SIZES) {
    const row = await measure(size);
    review.push(row);
    console.log(`${size} GCP workflows x ${TABLES} tables: review ${row.review.changes} changes, ${row.review.wallMs} ms (${row.review.cpuMs} ms CPU)`);
  }
  const check: Array<Record<string, unknown>> = [];
  for (const size of CHECK_SIZES) {
    const row = measureCheck(size);
    check.push(row);
    console.log(
      `${size} GCP workflows x ${TABLES} tables: check ` +
        `${row.failed ? String(row.failed) : `${String(row.resources)} resources, ${String(row.wallMs)} ms (${String(row.cpuMs)} ms CPU, peak ${String(row.peakRssMiB)} MiB)`}`,
    );
  }
  return { limitMs: 10_000, review, check };
}
