/**
 * One copy of each concept (issue 25): the concepts that once had a second copy have one place,
 * and a check that reads the sources fails, naming the file, when a second definition comes back.
 * Where the two copies can be compared as values (the server's version, the quoting function), they are.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { describe, it } from "node:test";
import { quoteIdent } from "@dbwarden/contract";
import { quoteIdent as engineQuoteIdent } from "../../mcp-server/src/engines/engine.ts";
import { SERVER_INFO } from "../../mcp-server/src/tools.ts";
import { ident } from "../../src/postgres/sql.ts";
import { VERSION } from "../../src/version.ts";
import { ROOT, sourceFiles } from "../support/sources.ts";

/** A concept, the one file that defines it, and what a definition of it looks like in source text. */
interface Concept {
  what: string;
  home: string;
  definition: RegExp;
}

export const CONCEPTS: Concept[] = [
  {
    what: "the MCP tool names (TOOL_NAMES, ToolName)",
    home: "packages/contract/src/plan.ts",
    definition: /"list_tables"\s*[,|]\s*"describe_table"|\btype ToolName\s*=/,
  },
  { what: "the tool-name cleaner (auditToolName)", home: "mcp-server/src/tools.ts", definition: /\[\^A-Za-z0-9\._\/-\]/ },
  { what: "the tool error codes (ERROR_CODES)", home: "mcp-server/src/errors.ts", definition: /"DENIED",\s*"INVALID"|DENIED, INVALID, LIMIT/ },
  {
    what: "a target looked up by name (findTarget / targetOf)",
    home: "packages/contract/src/plan.ts",
    definition: /targets\.find\(\(?(\w+)\)? => \1\.name ===/,
  },
  {
    what: "limits in words (LIMIT_WORDS, durationText, bytesText)",
    home: "src/plan/limits.ts",
    definition: /"statement timeout"|1024 \*\* 2\} ?MiB|60_000\}m/,
  },
  {
    what: "identifier quoting (quoteIdent, with its NUL check)",
    home: "packages/contract/src/sql.ts",
    definition: /replaceAll\('"', '""'\)|replace\(\/"\/g, '""'\)/,
  },
  {
    what: "parseApiKeySecret",
    home: "packages/contract/src/runtime.ts",
    definition: /\bfunction parseApiKeySecret\b|\bas parseApiKeySecret\b|\bparseApiKeySecret as\b/,
  },
];

/** Every place a concept is defined outside its home: "<file>:<line> <what> (lives in <home>)". */
export function secondCopies(files: ReadonlyMap<string, string>, concepts: readonly Concept[] = CONCEPTS): string[] {
  const found: string[] = [];
  for (const [file, text] of files) {
    text.split("\n").forEach((line, i) => {
      for (const concept of concepts) {
        if (file !== concept.home && concept.definition.test(line)) found.push(`${file}:${i + 1} ${concept.what} (lives in ${concept.home})`);
      }
    });
  }
  return found;
}

const sources = new Map(sourceFiles([".ts", ".mts", ".js", ".mjs"]).map((path) => [relative(ROOT, path), readFileSync(path, "utf8")]));

describe("one copy of each concept", () => {
  it("the MCP server says the package's version", () => {
    assert.equal(SERVER_INFO.version, VERSION);
  });

  it("identifiers are quoted by one function, which refuses NUL and the empty name", () => {
    assert.equal(ident, quoteIdent, "src/postgres/sql.ts ident is the contract's quoteIdent");
    assert.equal(engineQuoteIdent, quoteIdent, "the Postgres engine quotes with the contract's quoteIdent");
    assert.equal(quoteIdent('a"b'), '"a""b"');
    assert.throws(() => quoteIdent("a\u0000b"), /NUL/);
    assert.throws(() => quoteIdent(""), /empty/);
  });

  it("each concept is defined in its one home and nowhere else", () => {
    for (const concept of CONCEPTS) {
      assert.ok(sources.has(concept.home), `${concept.home} (the home of ${concept.what}) exists`);
      assert.ok(
        sources
          .get(concept.home)!
          .split("\n")
          .some((line) => concept.definition.test(line)),
        `${concept.home} still defines ${concept.what}: update this test's pattern if it moved`,
      );
    }
    assert.deepEqual(secondCopies(sources), [], "a second copy: import the one in its home instead");
  });

  it("no source points outside the repository for a fact it needs (../shared/notes): docs/ holds it", () => {
    assert.deepEqual(
      [...sources].filter(([, text]) => /shared\/notes/.test(text)).map(([file]) => file),
      [],
    );
  });

  it("the check finds a second copy where one is written", () => {
    const copies = new Map([
      ["mcp-server/src/dispatcher.ts", 'export type ToolName = "list_tables" | "describe_table" | "query" | "explain";'],
      ["src/local/stdio.ts", "  const target = targets.find((t) => t.name === workflow.target) as TargetPlan;"],
      ["mcp-server/src/engines/postgres/sqlcheck.ts", '  return `"${name.replaceAll(\'"\', \'""\')}"`;'],
      ["mcp-server/src/config.ts", "export { parseApiKeySecretKeys as parseApiKeySecret };"],
      ["src/review/diff.ts", '  statementTimeoutMs: ["statement timeout", (n) => `${n / 1000} s`],'],
    ]);
    assert.deepEqual(
      secondCopies(copies).map((found) => found.split(" ")[0]),
      [
        "mcp-server/src/dispatcher.ts:1",
        "src/local/stdio.ts:1",
        "mcp-server/src/engines/postgres/sqlcheck.ts:1",
        "mcp-server/src/config.ts:1",
        "src/review/diff.ts:1",
      ],
    );
  });
});
