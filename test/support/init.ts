/**
 * What a team does with the files `dbwarden init` writes, for tests that follow the docs: every
 * example value is accepted as it is and its `# CHANGE` comment deleted (the values are valid;
 * a team would put its own).
 */
import { readFileSync, writeFileSync } from "node:fs";

/** The lines of a file that carry a `# CHANGE` comment, 1-based. */
export function markedLines(path: string): number[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .flatMap((line, i) => (/(^|\s)#\s*CHANGE\b/.test(line) ? [i + 1] : []));
}

/** The file with every `# CHANGE` comment deleted, the values kept. */
export function acceptExampleValues(path: string): void {
  const text = readFileSync(path, "utf8")
    .split("\n")
    .flatMap((line) => (/^\s*#\s*CHANGE\b/.test(line) ? [] : [line.replace(/\s+#\s*CHANGE\b.*$/, "")]))
    .join("\n");
  writeFileSync(path, text);
}
