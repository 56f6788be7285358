/**
 * Parse YAML text into dbwarden documents, keeping source positions so every problem can be
 * reported as file:line:column with the path inside the document, what was expected and, for
 * unknown keys, the closest known key. Never throws for bad input: it returns problems.
 */
import { isMap, isScalar, LineCounter, parseAllDocuments, type Document, type Node, type Pair } from "yaml";
import type { z } from "zod";
import type { Problem } from "./errors.ts";
import { pathText } from "./errors.ts";
import { withMisplacedKeys } from "./misplaced.ts";
import { EnvironmentSchema, WorkflowSchema, API_VERSION, type Environment, type Workflow } from "./schema.ts";

export { pathText } from "./errors.ts";

/** Largest spec file accepted: specs are short; anything bigger is a mistake or an attack. */
export const MAX_FILE_BYTES = 2 * 1024 * 1024;

export interface SourceDoc {
  file: string;
  /** Position of a path inside this document (the node, or the nearest existing parent). */
  locate(path: readonly PropertyKey[], { key }?: { key?: boolean }): { line: number; column: number };
}

export interface ParsedEnvironment extends SourceDoc {
  kind: "Environment";
  value: Environment;
}
export interface ParsedWorkflow extends SourceDoc {
  kind: "Workflow";
  value: Workflow;
}
export type ParsedDoc = ParsedEnvironment | ParsedWorkflow;

const KINDS = { Environment: EnvironmentSchema, Workflow: WorkflowSchema } as const;

/**
 * Parse every document in one file. Problems are appended to `problems`; the names of documents
 * that failed are added to `broken`, so cross-document rules do not report them a second time as
 * missing.
 */
export function parseSpecText(file: string, text: string, problems: Problem[], broken: Set<string> = new Set()): ParsedDoc[] {
  const key = `${file}\0${text}`;
  const cached = parsedFiles.get(key);
  if (cached) return cached.map(({ index, kind, value }) => ({ file, locate: locateLater(text, index), kind, value: structuredClone(value) }) as ParsedDoc);
  const problemsBefore = problems.length;
  const brokenBefore = broken.size;
  const parsed = parseSpecTextOnce(file, text, problems, broken);
  if (parsed.length > 0 && problems.length === problemsBefore && broken.size === brokenBefore) remember(key, parsed);
  return parsed.map(({ doc }) => doc);
}

/**
 * The documents of files that parsed without a problem, by file name and text: `dbwarden check`
 * loads a stack twice (for its facts, then as the Pulumi program does) and the review loads base
 * and head, mostly the same bytes, and YAML parsing is most of a load's time. Values are cloned
 * out, so a caller changing one cannot change another's; positions are found again from the text
 * when asked (only to report a problem). Bounded by the text it holds, oldest dropped first.
 */
const parsedFiles = new Map<string, Array<{ index: number; kind: ParsedDoc["kind"]; value: ParsedDoc["value"] }>>();
let parsedFilesChars = 0;
/** Characters of text (file names and spec files) the cache holds at most: a 1,000-workflow stack is ~2.6 million. */
const PARSED_FILES_MAX_CHARS = 16 * 1024 * 1024;

/**
 * Empties the cache, as a new process starts: benches call it before each measured load, so a run
 * measures what one `dbwarden check` or `review` parses, not files an earlier run left here.
 */
export function forgetParsedSpecs(): void {
  parsedFiles.clear();
  parsedFilesChars = 0;
}

function remember(key: string, parsed: ReadonlyArray<{ index: number; doc: ParsedDoc }>): void {
  if (key.length > PARSED_FILES_MAX_CHARS) return;
  parsedFiles.set(
    key,
    parsed.map(({ index, doc }) => ({ index, kind: doc.kind, value: structuredClone(doc.value) })),
  );
  parsedFilesChars += key.length;
  for (const [oldest] of parsedFiles) {
    if (parsedFilesChars <= PARSED_FILES_MAX_CHARS) break;
    parsedFiles.delete(oldest);
    parsedFilesChars -= oldest.length;
  }
}

/** `locate` for a document parsed earlier from `text` (the `index`th of the file): the text is parsed again on first use. */
function locateLater(text: string, index: number): SourceDoc["locate"] {
  let located: SourceDoc["locate"] | undefined;
  return (path, opts) => {
    if (!located) {
      const lineCounter = new LineCounter();
      const doc = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false }) as Document.Parsed[];
      located = (at, o) => locate(doc[index]!, at, o?.key ?? false, positionIn(lineCounter));
    }
    return located(path, opts);
  };
}

const positionIn = (lineCounter: LineCounter) => (offset: number) => {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
};

/** `parseSpecText` without the cache: each document with its index among the file's documents. */
function parseSpecTextOnce(file: string, text: string, problems: Problem[], broken: Set<string>): Array<{ index: number; doc: ParsedDoc }> {
  if (Buffer.byteLength(text) > MAX_FILE_BYTES) {
    problems.push({
      file,
      line: 0,
      column: 0,
      path: "",
      message: `file is larger than ${MAX_FILE_BYTES} bytes; a spec file is a few kilobytes`,
      hint: "split it into one file per workflow",
    });
    return [];
  }
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false }) as Document.Parsed[];
  } catch (error) {
    problems.push({ file, line: 0, column: 0, path: "", message: `cannot read YAML: ${(error as Error).message}` });
    return [];
  }
  if (!Array.isArray(docs)) docs = [docs];
  const pos = positionIn(lineCounter);

  const out: Array<{ index: number; doc: ParsedDoc }> = [];
  let sawDocument = false;
  for (const [index, doc] of docs.entries()) {
    const yamlErrors = [...doc.errors];
    for (const e of yamlErrors) {
      const at = pos(e.pos[0]);
      problems.push({ file, ...at, path: "", message: yamlMessage(e.code, e.message) });
    }
    if (yamlErrors.length > 0) {
      // Keep the name if it could be read, so an environment enabling it is not told it is missing.
      const partialName = (() => {
        try {
          return doc.get("name");
        } catch {
          return undefined;
        }
      })();
      if (typeof partialName === "string") broken.add(partialName);
      continue;
    }
    if (doc.contents === null) continue; // an empty document between `---` separators
    sawDocument = true;

    const source: SourceDoc = { file, locate: (path, opts) => locate(doc, path, opts?.key ?? false, pos) };
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      problems.push({ file, ...pos(doc.contents.range[0]), path: "", message: `cannot read YAML: ${(error as Error).message}` });
      continue;
    }
    const parsed = parseDocument(source, data, problems);
    if (parsed) out.push({ index, doc: parsed });
    else if (data && typeof data === "object" && typeof (data as { name?: unknown }).name === "string") broken.add((data as { name: string }).name);
  }
  if (!sawDocument && problems.every((p) => p.file !== file)) {
    problems.push({
      file,
      line: 0,
      column: 0,
      path: "",
      message: "file holds no document",
      hint: `start it with "apiVersion: ${API_VERSION}" and "kind: Environment" or "kind: Workflow"`,
    });
  }
  return out;
}

function yamlMessage(code: string, message: string): string {
  const first = message.split("\n")[0]!.replace(/ at line \d+, column \d+.*$/, "");
  if (code === "DUPLICATE_KEY") return "this key appears twice in the same mapping; each key may appear once (a duplicate table, column or setting)";
  return `invalid YAML: ${first}`;
}

function parseDocument(source: SourceDoc, data: unknown, problems: Problem[]): ParsedDoc | undefined {
  const here = (path: PropertyKey[], message: string, hint?: string, key = false) =>
    problems.push({ file: source.file, ...source.locate(path, { key }), path: pathText(path), message, ...(hint ? { hint } : {}) });

  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    here([], "a dbwarden document is a mapping", `start it with "apiVersion: ${API_VERSION}" and "kind: Environment" or "kind: Workflow"`);
    return undefined;
  }
  const record = data as Record<string, unknown>;
  if (record.apiVersion !== API_VERSION) {
    here(
      ["apiVersion"],
      record.apiVersion === undefined ? "missing required key `apiVersion`" : `unsupported apiVersion ${JSON.stringify(record.apiVersion)}`,
      `write "apiVersion: ${API_VERSION}"`,
    );
    return undefined;
  }
  const kind = record.kind;
  if (kind !== "Environment" && kind !== "Workflow") {
    const hint = typeof kind === "string" ? closest(kind, Object.keys(KINDS)) : undefined;
    here(
      ["kind"],
      kind === undefined ? "missing required key `kind`" : `unknown kind ${JSON.stringify(kind)}; expected Environment or Workflow`,
      hint ? `did you mean "${hint}"?` : 'write "kind: Environment" or "kind: Workflow"',
    );
    return undefined;
  }
  const schema = KINDS[kind];
  const result = schema.safeParse(data);
  if (!result.success) {
    const found: Problem[] = [];
    for (const issue of result.error.issues) reportIssue(source, schema, data, issue, [], found);
    problems.push(...withMisplacedKeys(kind, record, found, source, knownKeys(schema, data, []), (parent) => knownKeys(schema, data, parent)));
    return undefined;
  }
  return { ...source, kind, value: result.data } as ParsedDoc;
}

type Issue = z.core.$ZodIssue;

/** Turn one zod issue into a problem with a position, an expectation and a hint. */
function reportIssue(source: SourceDoc, root: z.ZodType, data: unknown, issue: Issue, prefix: PropertyKey[], problems: Problem[]): void {
  const path = [...prefix, ...issue.path];
  const push = (at: PropertyKey[], message: string, hint?: string, key = false) =>
    problems.push({ file: source.file, ...source.locate(at, { key }), path: pathText(at), message, ...(hint ? { hint } : {}) });
  /** The issue's key is not there: located at the mapping that lacks it, named by its full path. */
  const missingKey = (expected: string) =>
    problems.push({
      file: source.file,
      ...source.locate(path.slice(0, -1)),
      path: pathText(path),
      message: `missing required key \`${String(path[path.length - 1])}\` (expected ${expected})`,
    });

  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeys(root, data, path);
      for (const key of issue.keys) {
        const suggestion = closest(key, known);
        push(
          [...path, key],
          `unknown key \`${key}\``,
          suggestion ? `did you mean "${suggestion}"?` : known.length ? `known keys here: ${known.join(", ")}` : undefined,
          true,
        );
      }
      return;
    }
    case "invalid_union": {
      const discriminator = (issue as { discriminator?: string }).discriminator;
      if (discriminator !== undefined) {
        const value = valueAt(data, path);
        const allowed = discriminatorValues(root, data, path.slice(0, -1), discriminator);
        const suggestion = typeof value === "string" ? closest(value, allowed) : undefined;
        push(
          path,
          `${describeValue(value)} is not a supported ${discriminator}; expected one of ${allowed.join(", ")}`,
          suggestion ? `did you mean "${suggestion}"?` : undefined,
        );
        return;
      }
      // Report the branch that matched the value's type, so the message is about the real mistake.
      const value = valueAt(data, path);
      const branches = issue.errors.filter((branch) => !branch.some((i) => i.code === "invalid_type" && i.path.length === 0));
      if (branches.length === 1 && value !== undefined) {
        for (const inner of branches[0]!) reportIssue(source, root, data, inner, path, problems);
        return;
      }
      push(
        path,
        `${value === undefined ? "missing value" : `unexpected ${describeValue(value)}`}; ` +
          `${issue.message === "Invalid input" ? "expected one of the documented forms" : issue.message}`,
      );
      return;
    }
    case "invalid_type": {
      const value = valueAt(data, path);
      if (value === undefined) {
        missingKey(issue.expected);
        return;
      }
      push(path, `expected ${issue.expected}, got ${describeValue(value)}`);
      return;
    }
    case "invalid_value": {
      const value = valueAt(data, path);
      const options = issue.values.map((v) => JSON.stringify(v));
      const expected = options.length === 1 ? options[0]! : `one of ${options.join(", ")}`;
      if (value === undefined) {
        missingKey(expected);
        return;
      }
      const suggestion = typeof value === "string" ? closest(value, issue.values.map(String)) : undefined;
      push(path, `${describeValue(value)} is not allowed; expected ${expected}`, suggestion ? `did you mean "${suggestion}"?` : undefined);
      return;
    }
    case "invalid_key": {
      const key = path[path.length - 1];
      push(path, `invalid key ${JSON.stringify(String(key))}: ${issue.issues.map((i) => i.message).join("; ")}`, undefined, true);
      for (const inner of issue.issues) if (inner.code !== "invalid_format") reportIssue(source, root, data, inner, path, problems);
      return;
    }
    case "too_small":
    case "too_big": {
      const value = valueAt(data, path);
      const bound = "minimum" in issue ? issue.minimum : (issue as { maximum: number | bigint }).maximum;
      const custom = issue.message && !issue.message.startsWith("Too ") ? issue.message : undefined;
      const what = Array.isArray(value) ? `${value.length} item(s)` : typeof value === "string" ? `${value.length} character(s)` : describeValue(value);
      push(path, custom ?? `${what}; expected ${issue.code === "too_small" ? "at least" : "at most"} ${String(bound)}`);
      return;
    }
    default: {
      push(path, issue.message);
    }
  }
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key as string];
  }
  return value;
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null (an empty value)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the text ${JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value)}`;
  return `${typeof value} ${String(value)}`;
}

/** Keys the schema allows at `path`, following records, arrays, unions and wrappers. */
function knownKeys(root: z.ZodType, data: unknown, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(root, data, path, true)) {
    const def = defOf(s);
    if (def.type === "object") for (const k of Object.keys(def.shape as object)) keys.add(k);
  }
  return [...keys].sort();
}

/**
 * The object schemas that apply at `path`. With `pickBranch`, a discriminated union is narrowed to
 * the branch the data selects; without, every branch is kept (to list the allowed values).
 */
function schemasAt(root: z.ZodType, data: unknown, path: readonly PropertyKey[], pickBranch: boolean): unknown[] {
  let schemas: unknown[] = [root];
  for (let i = 0; i <= path.length; i++) {
    const value = pickBranch ? valueAt(data, path.slice(0, i)) : undefined;
    schemas = schemas.flatMap((s) => unwrap(s, value));
    if (i === path.length) break;
    const key = path[i]!;
    schemas = schemas.flatMap((s) => {
      const def = defOf(s);
      if (def.type === "object") {
        const shape = def.shape as Record<string, unknown>;
        return typeof key === "string" && key in shape ? [shape[key]] : [];
      }
      if (def.type === "record") return [def.valueType];
      if (def.type === "array") return [def.element];
      return [];
    });
  }
  return schemas;
}

/** Literal values of `discriminator` across the union found at `path` (e.g. every platform). */
function discriminatorValues(root: z.ZodType, data: unknown, path: readonly PropertyKey[], discriminator: string): string[] {
  const values = new Set<string>();
  for (const schema of schemasAt(root, data, path, false)) {
    const shape = defOf(schema).shape as Record<string, unknown> | undefined;
    const literal = shape?.[discriminator];
    for (const v of (literal ? (defOf(literal).values as unknown[] | undefined) : undefined) ?? []) values.add(String(v));
  }
  return [...values];
}

function defOf(schema: unknown): Record<string, unknown> & { type: string } {
  return (schema as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
}

/** Strip optional/default/pipe wrappers; expand unions (discriminated: the branch the data picks). */
function unwrap(schema: unknown, value: unknown): unknown[] {
  const def = defOf(schema);
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "readonly":
    case "catch":
      return unwrap(def.innerType, value);
    case "pipe":
      return unwrap(def.in, value);
    case "union": {
      const options = def.options as unknown[];
      const discriminator = def.discriminator as string | undefined;
      if (discriminator && value && typeof value === "object") {
        const wanted = (value as Record<string, unknown>)[discriminator];
        const match = options.filter((o) => {
          const shape = defOf(o).shape as Record<string, unknown> | undefined;
          const lit = shape?.[discriminator];
          return lit !== undefined && (defOf(lit).values as unknown[] | undefined)?.includes(wanted);
        });
        if (match.length > 0) return match.flatMap((o) => unwrap(o, value));
      }
      return options.flatMap((o) => unwrap(o, value));
    }
    default:
      return [schema];
  }
}

/** The known key nearest to `word` by edit distance, if it is close enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Math.abs(a.length - b.length) + 64;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Position of the node at `path`, or of the deepest existing parent; `key` points at a map key. */
function locate(doc: Document.Parsed, path: readonly PropertyKey[], key: boolean, pos: (offset: number) => { line: number; column: number }) {
  let node: unknown = doc.contents;
  let best = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    if (isMap(node)) {
      const pair = (node.items as Pair[]).find((p) => (isScalar(p.key) ? p.key.value : p.key) === segment);
      if (!pair) break;
      const keyNode = pair.key as Node | null;
      if (key && i === path.length - 1 && keyNode?.range) return pos(keyNode.range[0]);
      const valueNode = pair.value as Node | null;
      best = valueNode?.range?.[0] ?? keyNode?.range?.[0] ?? best;
      node = valueNode;
    } else if (node && typeof node === "object" && "items" in node && Array.isArray((node as { items: unknown[] }).items) && typeof segment === "number") {
      const item = (node as { items: Node[] }).items[segment];
      if (!item) break;
      best = item.range?.[0] ?? best;
      node = item;
    } else {
      break;
    }
  }
  return pos(best);
}
