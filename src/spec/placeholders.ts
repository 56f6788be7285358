/**
 * Placeholders `dbwarden init` leaves for the team to replace: each is marked by a YAML comment
 * starting with `CHANGE` (`region: us-east-1 # CHANGE: the AWS region of the primary`). Example
 * values are valid on purpose (so the files plan as written and an editor checks them), which
 * makes them easy to deploy by mistake: `dbwarden validate` refuses every file that still carries
 * a marker, naming its line, until the value is replaced and the marker deleted.
 *
 * Only comments count (found by the YAML lexer, so a `#` inside a quoted value is not one), and
 * only those whose text starts with the marker word: prose that mentions it is not a marker.
 */
import { Lexer } from "yaml";
import type { Problem } from "./errors.ts";

/** The word that starts a placeholder's comment. */
export const PLACEHOLDER_MARKER = "CHANGE";

const MARKER = new RegExp(`^#\\s*${PLACEHOLDER_MARKER}\\b`);
/** The lexer's control tokens (document start, flow end, scalar start): not characters of the text. */
const CONTROL_TOKENS = new Set(["\x02", "\x18", "\x1f"]);

/** One problem per `# CHANGE` comment left in `text` (file `file`), in line order. */
export function placeholderProblems(file: string, text: string): Problem[] {
  const problems: Problem[] = [];
  const lineStarts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    if (MARKER.test(token)) {
      const line = lineOf(lineStarts, offset);
      const lineText = text.slice(lineStarts[line - 1], lineStarts[line] ?? text.length).trimEnd();
      const ownLine = lineText.trimStart().startsWith("#");
      problems.push({
        file,
        line,
        column: offset - lineStarts[line - 1]! + 1,
        path: "",
        message:
          `an example value from \`dbwarden init\` is still marked ${PLACEHOLDER_MARKER}: ` +
          `${token.replace(MARKER, "").replace(/^\s*:\s*/, "") || "replace it"}`,
        hint: `put your own value ${ownLine ? "on the line below" : "on this line"}, then delete the \`# ${PLACEHOLDER_MARKER}\` comment`,
      });
    }
    if (!CONTROL_TOKENS.has(token)) offset += token.length;
  }
  return problems;
}

/** The 1-based line holding `offset`. */
function lineOf(lineStarts: readonly number[], offset: number): number {
  let low = 0;
  let high = lineStarts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (lineStarts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return low + 1;
}
