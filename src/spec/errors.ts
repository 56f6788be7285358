/**
 * Spec problems a person can act on: where (file:line:column and the path inside the document),
 * what was expected, and how to fix it. Loading collects every problem before failing.
 */
export interface Problem {
  file: string;
  /** 1-based; 0 when the problem is about the file as a whole. */
  line: number;
  column: number;
  /** Path inside the document, e.g. "scope.app.accounts.columns". Empty for the whole document. */
  path: string;
  message: string;
  /** A concrete fix, e.g. 'did you mean "columns"?'. */
  hint?: string;
}

export function formatProblem(p: Problem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  const at = p.path ? ` at ${p.path}` : "";
  return `${where}: error${at}: ${p.message}${p.hint ? ` (${p.hint})` : ""}`;
}

/** Thrown when documents fail to load or validate; `problems` is the complete list, sorted. */
export class SpecError extends Error {
  constructor(readonly problems: Problem[]) {
    const sorted = [...problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column);
    super(`${sorted.map(formatProblem).join("\n")}\n${sorted.length} problem${sorted.length === 1 ? "" : "s"} found; nothing was planned or applied.`);
    this.name = "SpecError";
    this.problems = sorted;
  }
}

/** A problem's path as written in messages: `workflows[0].scope.app`. */
export function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}
