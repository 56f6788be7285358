/**
 * .github/scripts/github.ts against an in-memory GitHub: the review is ONE comment (updated, not
 * duplicated; a person quoting the marker is left alone), and one drift issue per environment
 * (opened, updated, closed when clean; a failed check touches nothing).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DRIFT_LABEL, syncDriftIssue, upsertReviewComment, type GitHubApi } from "../../.github/scripts/github.ts";
import { REVIEW_MARKER } from "../../src/review/markdown.ts";

interface Item {
  id: number;
  number: number;
  body: string;
  title?: string;
  state?: string;
  labels?: string[];
  comments: string[];
}

/** Just enough of the REST API: issue comments and issues of one repository. */
function fakeGitHub(): GitHubApi & { comments: Item[]; issues: Item[]; calls: string[] } {
  const comments: Item[] = [];
  const issues: Item[] = [];
  const calls: string[] = [];
  let next = 1;
  return {
    comments,
    issues,
    calls,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      calls.push(`${method} ${path.replace(/\?.*$/, "")}`);
      const b = body as { body?: string; title?: string; labels?: string[]; state?: string } | undefined;
      const page = Number(/[?&]page=(\d+)/.exec(path)?.[1] ?? 1);
      let m: RegExpExecArray | null;
      if (method === "GET" && (m = /^\/repos\/o\/r\/issues\/(\d+)\/comments/.exec(path))) return (page === 1 ? comments : []) as T;
      if (method === "POST" && /^\/repos\/o\/r\/issues\/(\d+)\/comments$/.test(path)) {
        const pr = Number(/issues\/(\d+)/.exec(path)![1]);
        const issue = issues.find((i) => i.number === pr);
        if (issue) issue.comments.push(b!.body!);
        else comments.push({ id: next++, number: pr, body: b!.body!, comments: [] });
        return { id: next - 1 } as T;
      }
      if (method === "PATCH" && (m = /^\/repos\/o\/r\/issues\/comments\/(\d+)$/.exec(path))) {
        comments.find((c) => c.id === Number(m![1]))!.body = b!.body!;
        return {} as T;
      }
      if (method === "DELETE" && (m = /^\/repos\/o\/r\/issues\/comments\/(\d+)$/.exec(path))) {
        comments.splice(
          comments.findIndex((c) => c.id === Number(m![1])),
          1,
        );
        return undefined as T;
      }
      if (method === "GET" && path.startsWith("/repos/o/r/issues?")) {
        assert.match(path, new RegExp(`state=open&labels=${DRIFT_LABEL}`));
        return (
          page === 1 ? issues.filter((i) => i.state === "open" && i.labels!.includes(DRIFT_LABEL)).map((i) => ({ number: i.number, title: i.title })) : []
        ) as T;
      }
      if (method === "POST" && path === "/repos/o/r/issues") {
        const issue = { id: next, number: next++, body: b!.body!, title: b!.title!, labels: b!.labels!, state: "open", comments: [] };
        issues.push(issue);
        return { number: issue.number } as T;
      }
      if (method === "PATCH" && (m = /^\/repos\/o\/r\/issues\/(\d+)$/.exec(path))) {
        Object.assign(
          issues.find((i) => i.number === Number(m![1]))!,
          b,
        );
        return {} as T;
      }
      throw new Error(`unexpected ${method} ${path}`);
    },
  };
}

describe("sticky review comment", () => {
  it("is created once, then updated in place", async () => {
    const gh = fakeGitHub();
    gh.comments.push({ id: 900, number: 7, body: `Looks good. The bot's comment starts with ${REVIEW_MARKER} by the way.`, comments: [] });
    const first = await upsertReviewComment(gh, "o/r", 7, `${REVIEW_MARKER}\nfirst review`);
    assert.equal(first.action, "created");
    const second = await upsertReviewComment(gh, "o/r", 7, `${REVIEW_MARKER}\nsecond review`);
    assert.deepEqual(second, { action: "updated", id: first.id, deleted: [] });
    assert.deepEqual(
      gh.comments.map((c) => c.body),
      [`Looks good. The bot's comment starts with ${REVIEW_MARKER} by the way.`, `${REVIEW_MARKER}\nsecond review`],
    );
  });

  it("removes copies left by a race, keeping the first", async () => {
    const gh = fakeGitHub();
    gh.comments.push({ id: 1, number: 7, body: `${REVIEW_MARKER}\na`, comments: [] }, { id: 2, number: 7, body: `${REVIEW_MARKER}\nb`, comments: [] });
    assert.deepEqual(await upsertReviewComment(gh, "o/r", 7, `${REVIEW_MARKER}\nc`), { action: "updated", id: 1, deleted: [2] });
    assert.deepEqual(
      gh.comments.map((c) => c.body),
      [`${REVIEW_MARKER}\nc`],
    );
  });

  it("refuses a body without the marker (it could never be found again)", async () => {
    await assert.rejects(upsertReviewComment(fakeGitHub(), "o/r", 7, "no marker"), /must start with <!-- dbwarden-review -->/);
  });
});

describe("drift issue per environment", () => {
  const run = (stack: string, exitCode: number, report = "Drift found in environment prod, target app: 1 difference") => ({
    stack,
    exitCode,
    report,
    runUrl: "https://github.com/o/r/actions/runs/1",
  });

  it("opens one issue on drift, updates it while drift lasts, closes it when clean", async () => {
    const gh = fakeGitHub();
    assert.deepEqual(await syncDriftIssue(gh, "o/r", run("prod", 3)), { action: "opened", number: 1 });
    assert.deepEqual(await syncDriftIssue(gh, "o/r", run("prod", 3, "Drift found again")), { action: "updated", number: 1 });
    assert.equal(gh.issues.length, 1);
    assert.equal(gh.issues[0]!.title, "Drift in stack prod");
    assert.deepEqual(gh.issues[0]!.labels, [DRIFT_LABEL]);
    assert.match(gh.issues[0]!.body, /```text\nDrift found again\n```/);
    assert.deepEqual(await syncDriftIssue(gh, "o/r", run("prod", 0)), { action: "closed", number: 1 });
    assert.equal(gh.issues[0]!.state, "closed");
    assert.match(gh.issues[0]!.comments[0]!, /No drift any more in stack prod/);
  });

  it("keeps environments apart, and a clean stack with no issue does nothing", async () => {
    const gh = fakeGitHub();
    await syncDriftIssue(gh, "o/r", run("dev", 3));
    assert.deepEqual(await syncDriftIssue(gh, "o/r", run("prod", 0)), { action: "none", number: null });
    assert.deepEqual(await syncDriftIssue(gh, "o/r", run("prod", 3)), { action: "opened", number: 2 });
    assert.deepEqual(
      gh.issues.map((i) => [i.title, i.state]),
      [
        ["Drift in stack dev", "open"],
        ["Drift in stack prod", "open"],
      ],
    );
  });

  it("a failed check (exit 1) neither opens nor closes anything", async () => {
    const gh = fakeGitHub();
    await syncDriftIssue(gh, "o/r", run("prod", 3));
    gh.calls.length = 0;
    assert.deepEqual(await syncDriftIssue(gh, "o/r", run("prod", 1)), { action: "none", number: null });
    assert.deepEqual(gh.calls, []);
    assert.equal(gh.issues[0]!.state, "open");
  });
});
