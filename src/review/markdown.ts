/**
 * The review as a pull-request comment (GitHub-flavoured markdown, one sticky comment): per stack
 * the access changes in a reviewer's words (sensitive data newly exposed first, then widening,
 * narrowing, neutral), a Mermaid diagram of the changed workflows, the head's policy results and
 * the Pulumi preview's summary. It starts with `REVIEW_MARKER`, which is how CI finds the comment
 * to update instead of posting another. GitHub refuses comments over 65,536 characters: long
 * lists are cut (saying how much) until the comment fits.
 */
import type { PolicyReport } from "../policy/report.ts";
import { countsInWords, type PreviewSummary, type StepSummary } from "./preview.ts";
import type { ReviewReport, StackReview } from "./review.ts";
import type { AccessChange, Direction } from "./types.ts";

/** The first line of every review comment: CI updates the comment that has it. */
export const REVIEW_MARKER = "<!-- dbwarden-review -->";
/** GitHub's limit is 65,536 characters; keep a margin for the CI's additions. */
export const MAX_COMMENT_CHARS = 60_000;

/** Text safe in markdown: characters with markup meaning are escaped, newlines flattened. */
export function md(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replace(/([\\`*_[\]<>|~])/g, "\\$1");
}

const code = (text: string) => `\`${text.replaceAll("`", "'")}\``;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

const MARK: Record<Direction, string> = { widening: "🔺 widening", narrowing: "🔻 narrowing", neutral: "▫️ neutral" };

interface Limits {
  /** Bullets per list before "... and N more". */
  items: number;
  diagrams: boolean;
}

function bullets(lines: readonly string[], limit: number): string[] {
  if (lines.length <= limit) return [...lines];
  return [...lines.slice(0, limit), `- … and ${lines.length - limit} more (see the JSON report: \`dbwarden review --format json\`)`];
}

function headline(s: StackReview): string {
  if (s.comparison === "base-invalid") return "⚠️ not compared: the base does not load";
  const d = s.diff!;
  const counts = `${d.summary.widening} widening, ${d.summary.narrowing} narrowing, ${d.summary.neutral} neutral`;
  return d.changes.length === 0 ? "no access change" : counts;
}

function policyCell(s: StackReview): string {
  if (s.policyError) return "⚠️ check failed";
  const p = s.policy;
  if (!p) return "—";
  if (!p.deployed) return "not deployed by Pulumi";
  return `${p.passed ? "✅ passed" : "❌ FAILED"} (${p.summary.mandatory} mandatory, ${p.summary.advisory} advisory)`;
}

function previewCell(p: PreviewSummary | null): string {
  if (!p) return "—";
  return `${countsInWords(p.counts) || "no changes"}${p.accessWarnings.length ? ` (⚠️ ${p.accessWarnings.length} grant/role)` : ""}`;
}

function changeLines(changes: readonly AccessChange[], direction: Direction): string[] {
  return changes.filter((c) => c.direction === direction).map((c) => `- ${md(c.summary)}`);
}

function stackSection(s: StackReview, limits: Limits): string[] {
  const lines = [`### ${code(s.stack)}: ${headline(s)}`, ""];
  if (s.comparison === "base-invalid") {
    lines.push(
      "The base's specs do not validate with this version of dbwarden, so the two sides could not be compared. What failed:",
      "",
      "```text",
      s.baseProblems ?? "",
      "```",
      "",
    );
  } else {
    if (s.comparison === "added") lines.push("This stack is new: everything below is new access.", "");
    if (s.comparison === "removed") lines.push("This stack is removed by this change.", "");
    lines.push(...accessSection(s, limits));
  }
  lines.push(...policySection(s, limits));
  if (s.preview) lines.push(...previewSection(s.preview, limits));
  return lines;
}

function accessSection(s: StackReview, limits: Limits): string[] {
  const d = s.diff!;
  const lines: string[] = [];
  if (d.sensitiveExposed.length || d.declassified.length) {
    lines.push("**⚠️ Sensitive data newly exposed**", "");
    const justification = (text: string | null) => `Justification: ${text ? `“${md(text)}”` : "**none given**"}`;
    const exposed = d.sensitiveExposed.map(
      (e) =>
        `- ${code(`${e.table}.${e.column}`)} to ` +
        `${code(e.workflow)}${e.via === "workflow" ? "" : ` through its new client ${code(e.via)}`}. ${justification(e.justification)}`,
    );
    // The spec has no place for why a column stops being sensitive: the data owner says it in the pull request.
    const declassified = d.declassified.map(
      (c) =>
        `- ${code(`${c.table}.${c.column}`)} declassified on target ${code(c.target)} ` +
        `(classified by ${md(c.classifiedBy)}): any workflow may be granted it without a ` +
        `justification${c.readBy.length ? `; read now by ${c.readBy.map(code).join(", ")}` : ""}. ` +
        `${justification(null)}: the data owner says why in this pull request.`,
    );
    lines.push(...bullets([...exposed, ...declassified], limits.items), "");
  }
  for (const direction of ["widening", "narrowing", "neutral"] as const) {
    const items = changeLines(d.changes, direction);
    if (items.length) lines.push(`**${MARK[direction]}**`, "", ...bullets(items, limits.items), "");
  }
  if (s.diagram && limits.diagrams) {
    lines.push(
      "<details open><summary>Diagram of the changed workflows (red: wider or new, green: narrower, grey dashed: removed)</summary>",
      "",
      "```mermaid",
      s.diagram,
      "```",
      "",
    );
    if (s.diagramNotDrawn) lines.push(`${plural(s.diagramNotDrawn, "more changed workflow")} not drawn.`, "");
    lines.push("</details>", "");
  }
  return lines;
}

function policySection(s: StackReview, limits: Limits): string[] {
  if (s.policyError) return [`**Policy check (head)**: could not run: ${md(s.policyError)}`, ""];
  const p: PolicyReport | null = s.policy;
  if (!p) return [];
  if (!p.deployed) return [`**Policy check (head)**: nothing to check (the stack has no Pulumi deployment).`, ""];
  const lines = [
    `**Policy check (head)**: ${policyCell(s)}, ${p.summary.notJudged} not judged; ` +
      `${p.pack.name} policy pack ${p.pack.version}, ${plural(p.resources, "resource")}.`,
    "",
  ];
  const mandatory = p.violations.filter((v) => v.enforcementLevel === "mandatory");
  const advisory = p.violations.filter((v) => v.enforcementLevel === "advisory");
  const line = (v: (typeof p.violations)[number]) =>
    `- ${code(v.policy)} ${v.resource ? code(`${v.resource.type} ${v.resource.name}`) : "the stack"}: ${md(v.message)}`;
  if (mandatory.length) lines.push(...bullets(mandatory.map(line), limits.items), "");
  if (advisory.length) {
    const byPolicy = new Map<string, number>();
    for (const v of advisory) byPolicy.set(v.policy, (byPolicy.get(v.policy) ?? 0) + 1);
    lines.push(
      `<details><summary>Advisory: ${[...byPolicy].map(([policy, n]) => `${policy} (${n})`).join(", ")}</summary>`,
      "",
      ...bullets(advisory.map(line), limits.items),
      "",
      "</details>",
      "",
    );
  }
  return lines;
}

function stepLine(s: StepSummary): string {
  const value = (v: string | null) => (v === null ? "∅" : code(v));
  const props = s.properties.map((p) => (p.before !== null || p.after !== null ? `${code(p.name)} ${value(p.before)} → ${value(p.after)}` : code(p.name)));
  return `- ${s.action} ${code(s.type)} ${code(s.name)}${props.length ? `: ${props.join("; ")}` : ""}`;
}

function previewSection(p: PreviewSummary, limits: Limits): string[] {
  const lines = [`**Pulumi preview** (${md(p.source)}): ${previewCell(p)}.`, ""];
  if (p.accessWarnings.length)
    lines.push(
      ...bullets(
        p.accessWarnings.map((s) => `- ⚠️ ${code(s.type)} ${code(s.name)} ${md(s.warning!)}`),
        limits.items,
      ),
      "",
    );
  for (const d of p.diagnostics) lines.push(`- ${d.severity}: ${md(d.message)}`);
  if (p.diagnostics.length) lines.push("");
  if (p.components.length) {
    lines.push("<details><summary>Resources by component</summary>", "");
    for (const c of p.components) lines.push(`${c.component ? code(c.component) : "top level"}`, "", ...bullets(c.steps.map(stepLine), limits.items), "");
    lines.push("</details>", "");
  }
  return lines;
}

/** The warning first in the comment when code that decides or reports access changed. */
function reviewerChangedSection(report: ReviewReport, limits: Limits): string[] {
  const changed = report.reviewerChanged;
  if (!changed) return [];
  const files = changed.files.map((f) => `> - ${code(f.path)}: ${md(f.what)}`);
  return [
    "> [!CAUTION]",
    `> **⚠️ ${md(changed.message[0]!.toUpperCase() + changed.message.slice(1))}.** This change ` +
      `edits code that decides or reports access, which no comparison of plans can judge:`,
    ...bullets(files, limits.items).map((line) => (line.startsWith(">") ? line : `> ${line}`)),
    "",
  ];
}

function render(report: ReviewReport, limits: Limits): string {
  const lines = [REVIEW_MARKER, `## Access review: ${code(report.base.ref)} (${report.base.commit.slice(0, 12)}) → this change`, ""];
  lines.push(...reviewerChangedSection(report, limits));
  lines.push(
    `Planned as of ${report.asOf} on both sides with the same dbwarden (${md(report.reviewer.version)}). ` +
      `Widening: more data, principals or networks, longer-lived credentials, higher limits or weaker logging.`,
    "",
  );
  lines.push("| stack | access changes | policy (head) | pulumi preview |", "| --- | --- | --- | --- |");
  for (const s of report.stacks) lines.push(`| ${code(s.stack)} | ${headline(s)} | ${policyCell(s)} | ${previewCell(s.preview)} |`);
  lines.push("");
  for (const s of report.stacks) lines.push(...stackSection(s, limits));
  for (const p of report.otherPreviews) lines.push(`### Pulumi preview of ${p.stack ? code(p.stack) : "an unknown stack"}`, "", ...previewSection(p, limits));
  for (const note of report.notes) lines.push(`> ${md(note)}`);
  return `${lines
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trimEnd()}\n`;
}

/** The review as one markdown comment, at most `maxChars` long (lists cut first, then diagrams). */
export function renderReviewMarkdown(report: ReviewReport, maxChars = MAX_COMMENT_CHARS): string {
  for (const limits of [
    { items: Infinity, diagrams: true },
    { items: 100, diagrams: true },
    { items: 25, diagrams: true },
    { items: 25, diagrams: false },
    { items: 5, diagrams: false },
  ]) {
    const text = render(report, limits);
    if (text.length <= maxChars) return text;
  }
  const text = render(report, { items: 0, diagrams: false });
  return text.length <= maxChars
    ? text
    : `${text.slice(0, maxChars - 200)}\n\n… cut: the review is longer than a comment allows; see the JSON report (\`dbwarden review --format json\`).\n`;
}
