/**
 * A key of the document's top level written one indentation too deep: `limits:` indented under
 * `scope:` reads as a schema named "limits" whose tables are `statementTimeout` and `maxRows`, and
 * the schema's problems then talk about tables ("expected object, got the text 30s"), which hides
 * the real mistake. Where a top-level key of the document's kind sits deeper, at a place that does
 * not know it (a free-form name, such as a schema or a table, or an unknown key), and something
 * under it is wrong, its problems are replaced by one at the key, saying where it belongs.
 */
import { pathText, type Problem } from "./errors.ts";

/** Where a document's problems are located (parse.ts's SourceDoc). */
interface Located {
  file: string;
  locate(path: readonly PropertyKey[], options?: { key?: boolean }): { line: number; column: number };
}

/** Where a key sits and how deep: the path of its mapping. */
interface Misplaced {
  key: string;
  parent: PropertyKey[];
}

/**
 * `problems` of one document (`data`, of kind `kind` whose top-level keys are `topLevelKeys`),
 * with those under a misplaced top-level key merged into one problem each. `knows(parent)` lists
 * the keys the schema defines at a mapping (none for a free-form name).
 */
export function withMisplacedKeys(
  kind: string,
  data: Record<string, unknown>,
  problems: readonly Problem[],
  source: Located,
  topLevelKeys: readonly string[],
  knows: (parent: readonly PropertyKey[]) => readonly string[],
): Problem[] {
  const misplaced = findMisplaced(data, topLevelKeys, knows);
  let remaining = [...problems];
  const merged: Problem[] = [];
  for (const { key, parent } of misplaced) {
    const at = pathText([...parent, key]);
    const under = (p: Problem) => p.path === at || p.path.startsWith(`${at}.`) || p.path.startsWith(`${at}[`);
    if (!remaining.some(under)) continue;
    // Also the top level's "missing required key" for it: the key is there, one level too deep.
    remaining = remaining.filter((p) => !under(p) && !(p.path === key && p.message.startsWith(`missing required key \`${key}\``)));
    const parentText = pathText(parent);
    merged.push({
      file: source.file,
      ...source.locate([...parent, key], { key: true }),
      path: at,
      message: `\`${key}\` belongs at the top level of the ${kind}, not under \`${parentText}\` (there it reads as ${readsAs(parent, key)})`,
      hint: `move \`${key}:\` left, to the indentation of \`${String(parent[0])}:\`; YAML nests by indentation`,
    });
  }
  return [...remaining, ...merged];
}

/** Keys deeper than the top level that are top-level keys of the kind and unknown where they are. */
function findMisplaced(
  data: Record<string, unknown>,
  topLevelKeys: readonly string[],
  knows: (parent: readonly PropertyKey[]) => readonly string[],
): Misplaced[] {
  const found: Misplaced[] = [];
  const walk = (value: unknown, path: PropertyKey[]) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return;
    const known = path.length === 0 ? null : knows(path);
    for (const [key, child] of Object.entries(value)) {
      if (known !== null && topLevelKeys.includes(key) && !known.includes(key)) {
        found.push({ key, parent: path });
        continue;
      }
      walk(child, [...path, key]);
    }
  };
  walk(data, []);
  return found;
}

/** What a key under `parent` is taken for, in a spec writer's words. */
function readsAs(parent: readonly PropertyKey[], key: string): string {
  const named = (what: string) => `${what} named "${key}"`;
  const [first] = parent;
  if (first === "scope" && parent.length === 1) return named("a schema");
  if (first === "scope" && parent.length === 2) return named("a table");
  if (first === "scope" && parent.length === 4 && parent[3] === "columns") return named("a column");
  if (first === "targets" && parent.length === 1) return named("a target");
  return "an unknown key";
}
