/**
 * The two GitHub writes the workflows make, through the REST API with the job's GITHUB_TOKEN:
 *
 *   comment      the access review as ONE sticky pull-request comment: the comment that starts
 *                with the review marker is updated (extra copies from a race are deleted), or
 *                one is created.
 *   drift-issue  one open issue per environment while `dbwarden drift` finds drift: opened, or
 *                updated with the latest report; closed with a comment when the stack is clean.
 *
 * Run by the workflows as `node --import tsx .github/scripts/github.ts <command> ...`. The logic
 * takes a small `GitHubApi`, so tests drive it with an in-memory fake.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { REVIEW_MARKER } from "../../src/review/markdown.ts";

export const DRIFT_LABEL = "dbwarden-drift";
/** GitHub refuses longer comment and issue bodies. */
const MAX_BODY = 65_000;

export interface GitHubApi {
  request<T = unknown>(method: "GET" | "POST" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T>;
}

interface Comment {
  id: number;
  body?: string | null;
}

interface Issue {
  number: number;
  title: string;
  body?: string | null;
  pull_request?: unknown;
}

/** Every page of a list endpoint. */
async function all<T>(api: GitHubApi, path: string): Promise<T[]> {
  const items: T[] = [];
  for (let page = 1; ; page++) {
    const batch = await api.request<T[]>("GET", `${path}${path.includes("?") ? "&" : "?"}per_page=100&page=${page}`);
    items.push(...batch);
    if (batch.length < 100) return items;
  }
}

const fit = (body: string) => (body.length <= MAX_BODY ? body : `${body.slice(0, MAX_BODY - 100)}\n\n… cut to fit a GitHub comment.\n`);

/** Create or update the one review comment on a pull request. */
export async function upsertReviewComment(
  api: GitHubApi,
  repo: string,
  pr: number,
  body: string,
): Promise<{ action: "created" | "updated"; id: number; deleted: number[] }> {
  if (!body.startsWith(REVIEW_MARKER)) throw new Error(`the review must start with ${REVIEW_MARKER} (it is how the comment is found again)`);
  const comments = await all<Comment>(api, `/repos/${repo}/issues/${pr}/comments`);
  // Only a comment that STARTS with the marker is ours: a person quoting it is left alone.
  const ours = comments.filter((c) => (c.body ?? "").startsWith(REVIEW_MARKER));
  if (ours.length === 0) {
    const created = await api.request<Comment>("POST", `/repos/${repo}/issues/${pr}/comments`, { body: fit(body) });
    return { action: "created", id: created.id, deleted: [] };
  }
  const [keep, ...extra] = ours;
  await api.request("PATCH", `/repos/${repo}/issues/comments/${keep!.id}`, { body: fit(body) });
  for (const c of extra) await api.request("DELETE", `/repos/${repo}/issues/comments/${c.id}`);
  return { action: "updated", id: keep!.id, deleted: extra.map((c) => c.id) };
}

export const driftIssueTitle = (stack: string) => `Drift in stack ${stack}`;

export interface DriftRun {
  stack: string;
  /** `dbwarden drift`'s exit code: 0 clean, 3 drift, anything else a failed check. */
  exitCode: number;
  /** Its report (plain text; it never holds a secret). */
  report: string;
  /** Link to the workflow run. */
  runUrl: string;
}

/** Open, update or close the stack's drift issue. A failed check changes nothing (it proves neither). */
export async function syncDriftIssue(
  api: GitHubApi,
  repo: string,
  run: DriftRun,
): Promise<{ action: "opened" | "updated" | "closed" | "none"; number: number | null }> {
  if (run.exitCode !== 0 && run.exitCode !== 3) return { action: "none", number: null };
  const title = driftIssueTitle(run.stack);
  const open = (await all<Issue>(api, `/repos/${repo}/issues?state=open&labels=${DRIFT_LABEL}`)).filter((i) => !i.pull_request && i.title === title);
  const existing = open[0];
  if (run.exitCode === 0) {
    if (!existing) return { action: "none", number: null };
    await api.request("POST", `/repos/${repo}/issues/${existing.number}/comments`, {
      body: `No drift any more in stack ${run.stack} ([run](${run.runUrl})): closing.`,
    });
    await api.request("PATCH", `/repos/${repo}/issues/${existing.number}`, { state: "closed", state_reason: "completed" });
    return { action: "closed", number: existing.number };
  }
  const body = fit(
    [
      `\`dbwarden drift --stack ${run.stack}\` found drift: the live database or the ` +
        `deployed resources differ from what the spec declares ([latest run](${run.runUrl})).`,
      "",
      "```text",
      run.report.trimEnd().replaceAll("```", "'''"),
      "```",
      "",
      "Re-apply the stack (the deploy workflow, or `pulumi up`) to restore the declared access, or change the spec if " +
        "the live state is intended. This issue is updated by every scheduled check and closed when the stack is clean.",
    ].join("\n"),
  );
  if (existing) {
    await api.request("PATCH", `/repos/${repo}/issues/${existing.number}`, { body });
    return { action: "updated", number: existing.number };
  }
  const created = await api.request<Issue>("POST", `/repos/${repo}/issues`, { title, body, labels: [DRIFT_LABEL] });
  return { action: "opened", number: created.number };
}

/** The REST API with a token (GITHUB_API_URL for GitHub Enterprise Server). */
export function restApi(token: string, apiUrl = process.env.GITHUB_API_URL ?? "https://api.github.com"): GitHubApi {
  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: "application/vnd.github+json",
          "x-github-api-version": "2022-11-28",
          "content-type": "application/json",
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (!response.ok) throw new Error(`GitHub API ${method} ${path}: ${response.status} ${(await response.text()).slice(0, 300)}`);
      return (response.status === 204 ? undefined : await response.json()) as T;
    },
  };
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (the workflow passes it)`);
  return value;
}

async function cli(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      pr: { type: "string" },
      "body-file": { type: "string" },
      stack: { type: "string" },
      "exit-code": { type: "string" },
      "report-file": { type: "string" },
    },
  });
  const api = restApi(required("GITHUB_TOKEN"));
  const repo = required("GITHUB_REPOSITORY");
  if (command === "comment") {
    const result = await upsertReviewComment(api, repo, Number(values.pr), readFileSync(values["body-file"]!, "utf8"));
    console.log(`review comment ${result.action} (id ${result.id})${result.deleted.length ? `; removed duplicates ${result.deleted.join(", ")}` : ""}`);
  } else if (command === "drift-issue") {
    const runUrl = `${process.env.GITHUB_SERVER_URL ?? "https://github.com"}/${repo}/actions/runs/${process.env.GITHUB_RUN_ID ?? ""}`;
    const result = await syncDriftIssue(api, repo, {
      stack: values.stack!,
      exitCode: Number(values["exit-code"]),
      report: readFileSync(values["report-file"]!, "utf8"),
      runUrl,
    });
    console.log(`drift issue for ${values.stack}: ${result.action}${result.number ? ` (#${result.number})` : ""}`);
  } else {
    throw new Error(`unknown command "${command ?? ""}" (comment | drift-issue)`);
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  cli(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
