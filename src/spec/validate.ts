/**
 * Rules that span documents or fields, checked after each document matched its schema:
 * workflow -> target, enabled workflows exist, names unique, tables listed twice, columns both
 * included and excluded, sensitive columns without a justification, expiry, and settings that
 * make no sense for the target's platform. Every problem is collected; nothing stops at the first.
 */
import type { Problem } from "./errors.ts";
import type { ParsedDoc, ParsedEnvironment, ParsedWorkflow, SourceDoc } from "./parse.ts";
import { pathText } from "./parse.ts";
import { utcDay } from "../plan/build.ts";
import { parseSize } from "./schema.ts";
import { HOST_PLATFORMS, TARGET_PLATFORMS, hostServes, isDeployedHost } from "@dbwarden/contract";

export interface ValidateOptions {
  now: Date;
  /**
   * An expiry in the past: an error when validating what a person is about to merge, a plan note
   * when planning (so the scheduled `pulumi up` still runs and removes the expired access).
   */
  expired: "error" | "allow";
  /**
   * Validating some files against the rest of their project: true for documents of the files the
   * person named. Unset: every document is named. A problem is reported when it is about a named
   * document: its own rules, a name it duplicates, an environment enabling a workflow when either
   * is named (a named environment makes the sensitive columns it classifies relevant to the
   * workflows it enables, which may be context documents), and an environment enabling a
   * workflow no document defines when the environment is named or it does not enable some named
   * workflow (that workflow may have been renamed from the missing name). Rules among context
   * documents only are not reported here; run without `focus` to count them.
   */
  focus?: (file: string) => boolean;
}

const problemAt =
  (problems: Problem[], doc: SourceDoc) =>
  (path: PropertyKey[], message: string, hint?: string, key = false) =>
    problems.push({ file: doc.file, ...doc.locate(path, { key }), path: pathText(path), message, ...(hint ? { hint } : {}) });

export function validateDocuments(docs: readonly ParsedDoc[], options: ValidateOptions, broken: ReadonlySet<string> = new Set()): Problem[] {
  const problems: Problem[] = [];
  const environments = docs.filter((d): d is ParsedEnvironment => d.kind === "Environment");
  const workflows = docs.filter((d): d is ParsedWorkflow => d.kind === "Workflow");
  const named = options.focus ?? (() => true);
  const scope: FocusScope = { named, namedWorkflows: workflows.filter((w) => named(w.file)).map((w) => w.value.name) };

  checkUniqueNames(environments, "environment", named, problems);
  checkUniqueNames(workflows, "workflow", named, problems);
  for (const workflow of workflows) if (named(workflow.file)) validateWorkflow(workflow, options, problems);
  const byName = new Map(workflows.map((w) => [w.value.name, w]));
  for (const environment of environments) validateEnvironment(environment, byName, broken, scope, problems);
  return problems;
}

/** Which documents' problems are reported (see `ValidateOptions.focus`). */
interface FocusScope {
  named: (file: string) => boolean;
  /** Names of the named workflows: one a context environment does not enable may be a renamed one. */
  namedWorkflows: readonly string[];
}

function checkUniqueNames(docs: readonly (ParsedEnvironment | ParsedWorkflow)[], what: string, named: (file: string) => boolean, problems: Problem[]) {
  const seen = new Map<string, SourceDoc>();
  for (const doc of docs) {
    const first = seen.get(doc.value.name);
    if (!first) {
      seen.set(doc.value.name, doc);
      continue;
    }
    // Reported on the later copy, or on the named one when only the first is named.
    const [copy, other] = named(doc.file) || !named(first.file) ? [doc, first] : [first, doc];
    if (!named(copy.file)) continue;
    problemAt(problems, copy)(
      ["name"],
      `${what} "${doc.value.name}" is defined twice (also in ${other.file}:${other.locate(["name"]).line})`,
      `rename one of them or delete the copy`,
    );
  }
}

function validateWorkflow(doc: ParsedWorkflow, options: ValidateOptions, problems: Problem[]) {
  const at = problemAt(problems, doc);
  const workflow = doc.value;

  if (workflow.expires !== undefined && options.expired === "error" && workflow.expires < utcDay(options.now)) {
    at(
      ["expires"],
      `this access expired on ${workflow.expires}`,
      "extend `expires` if it is still needed, or delete the workflow; until then `plan` leaves it out",
    );
  }

  const clientNames = new Set<string>();
  workflow.clients.forEach((client, i) => {
    if (clientNames.has(client.name)) at(["clients", i, "name"], `client "${client.name}" is listed twice in this workflow`, "give each client its own name");
    clientNames.add(client.name);
  });

  const schemasSeen = new Map<string, string>();
  for (const [schema, tables] of Object.entries(workflow.scope)) {
    const folded = schema.toLowerCase();
    if (schemasSeen.has(folded))
      at(
        ["scope", schema],
        `schema "${schema}" is listed twice (as "${schemasSeen.get(folded)}" too; names differ only in case)`,
        "merge the two entries",
        true,
      );
    schemasSeen.set(folded, schema);
    const tablesSeen = new Map<string, string>();
    for (const [table, spec] of Object.entries(tables)) {
      const tfolded = table.toLowerCase();
      if (tablesSeen.has(tfolded))
        at(
          ["scope", schema, table],
          `table "${schema}.${table}" is listed twice (as "${tablesSeen.get(tfolded)}" too; names differ only in case)`,
          "merge the two entries",
          true,
        );
      tablesSeen.set(tfolded, table);
      const excluded = new Set(spec.exclude ?? []);
      const excludedSeen = new Set<string>();
      spec.exclude?.forEach((column, i) => {
        if (excludedSeen.has(column)) at(["scope", schema, table, "exclude", i], `column "${column}" is excluded twice`, "list it once");
        excludedSeen.add(column);
      });
      for (const [column, columnSpec] of Object.entries(spec.columns ?? {})) {
        const path = ["scope", schema, table, "columns", column];
        if (excluded.has(column)) {
          at(
            path,
            `column "${column}" is both described under \`columns\` and listed in \`exclude\``,
            "remove it from `columns` or from `exclude`: a column cannot be both described as readable and excluded",
            true,
          );
        }
        const isObject = columnSpec !== null && typeof columnSpec === "object";
        if (isObject && columnSpec.justification !== undefined && columnSpec.sensitive === false) {
          at(
            [...path, "justification"],
            "a justification is only meaningful for a sensitive column",
            "remove `justification`, or mark the column `sensitive: true`",
            true,
          );
        }
        if (isObject && columnSpec.sensitive === true && columnSpec.justification === undefined) {
          at(
            path,
            `column "${column}" is marked sensitive but has no \`justification\``,
            "add `justification:` with why this workflow needs it, or remove the column",
            true,
          );
        }
      }
    }
  }
}

function validateEnvironment(
  doc: ParsedEnvironment,
  workflows: ReadonlyMap<string, ParsedWorkflow>,
  broken: ReadonlySet<string>,
  scope: FocusScope,
  problems: Problem[],
) {
  const named = scope.named(doc.file);
  if (named) checkEnvironmentSettings(doc, problems);
  const at = problemAt(problems, doc);
  const enabled = new Set<string>();
  doc.value.workflows.forEach((name, i) => {
    const path = ["workflows", i];
    if (enabled.has(name) && named) at(path, `workflow "${name}" is enabled twice`, "list it once");
    enabled.add(name);
    const workflow = workflows.get(name);
    if (!workflow) {
      if (broken.has(name)) return; // its own problems are already reported
      if (!named && scope.namedWorkflows.every((w) => doc.value.workflows.includes(w))) return;
      const hint = [...workflows.keys()].sort().find((w) => w.includes(name) || name.includes(w));
      at(
        path,
        `workflow "${name}" is enabled but no workflow document has that name`,
        hint ? `did you mean "${hint}"?` : "add a Workflow document with this name under stacks/workflows/",
      );
      return;
    }
    if (named || scope.named(workflow.file)) checkWorkflowInEnvironment(doc, workflow, problems);
  });
}

/**
 * A deployed host (not `local`: the local stack only plans, drifts and checks targets it cannot
 * serve) must be able to read every target, as the capability table says: caught here, at the
 * target's line, rather than at `pulumi preview`.
 */
function checkHostReadsTargets(doc: ParsedEnvironment, problems: Problem[]) {
  const host = doc.value.mcpServer.host.platform;
  if (!isDeployedHost(host)) return;
  const at = problemAt(problems, doc);
  for (const [name, target] of Object.entries(doc.value.targets)) {
    if (hostServes(host, target.platform)) continue;
    const served = HOST_PLATFORMS[host].targets;
    at(
      ["targets", name, "platform"],
      `platform "${target.platform}" cannot be read by an MCP server on ${HOST_PLATFORMS[host].title} (mcpServer.host.platform "${host}")`,
      `use ${orList(served)} here, or another mcpServer.host.platform`,
    );
  }
}

/** `"a" or "b"`: the values a field accepts, for hints. */
const orList = (values: readonly string[]) => values.map((v) => `"${v}"`).join(" or ");

/** Rules about one environment document on its own: credentials, logging, network, MCP endpoint. */
function checkEnvironmentSettings(doc: ParsedEnvironment, problems: Problem[]) {
  const at = problemAt(problems, doc);
  const environment = doc.value;

  for (const [name, target] of Object.entries(environment.targets)) {
    const path = ["targets", name];
    const { mode } = target.credentials;
    const capabilities = TARGET_PLATFORMS[target.platform];
    /** A setting the platform does not offer, at its field, with what the platform does offer. */
    const offered = (field: string[], what: string, value: string, allowed: readonly string[]) => {
      if (!allowed.includes(value)) at([...path, ...field], `${what} "${value}" is not available on ${target.platform}`, `use ${orList(allowed)}`);
    };
    offered(["credentials", "mode"], "credentials mode", mode, capabilities.credentialModes);
    if (mode !== "iam" && target.credentials.rotationDays === undefined) {
      at([...path, "credentials"], `\`${mode}\` credentials need \`rotationDays\` (how often they are rotated)`, "add e.g. `rotationDays: 30`");
    }
    if (mode === "iam" && target.credentials.rotationDays !== undefined) {
      at([...path, "credentials", "rotationDays"], "IAM authentication has no password to rotate", "remove `rotationDays`", true);
    }
    offered(["logging", "statements"], "statement logging", target.logging.statements, capabilities.loggingModes);
    const network = target.network;
    const open = network.allowedCidrs.findIndex((c) => c.endsWith("/0"));
    if (open >= 0 && network.allowPublicInternet === undefined) {
      at(
        [...path, "network", "allowedCidrs", open],
        `${network.allowedCidrs[open]} opens the target to the whole internet`,
        "list your own networks, or say why in `allowPublicInternet:`",
      );
    }
    if (network.allowPublicInternet !== undefined && open < 0) {
      at([...path, "network", "allowPublicInternet"], "`allowPublicInternet` is set but no allowed CIDR is public", "remove it", true);
    }
    const seen = new Set<string>();
    target.sensitiveColumns.forEach((column, i) => {
      if (seen.has(column)) at([...path, "sensitiveColumns", i], `"${column}" is listed twice`, "list it once");
      seen.add(column);
    });
  }
  checkHostReadsTargets(doc, problems);
  const openMcp = environment.mcpServer.allowedCidrs.findIndex((c) => c.endsWith("/0"));
  if (openMcp >= 0) {
    at(["mcpServer", "allowedCidrs", openMcp], "an MCP endpoint open to the whole internet is refused", "list the networks your agents call from");
  }
}

/** Rules about one workflow that depend on the environment it is enabled in. */
function checkWorkflowInEnvironment(envDoc: ParsedEnvironment, doc: ParsedWorkflow, problems: Problem[]) {
  const at = problemAt(problems, doc);
  const environment = envDoc.value;
  const workflow = doc.value;
  const target = environment.targets[workflow.target];
  if (!target) {
    const known = Object.keys(environment.targets).sort();
    at(["target"], `target "${workflow.target}" does not exist in environment "${environment.name}" (${envDoc.file})`, `known targets: ${known.join(", ")}`);
    return;
  }
  checkBytesBilled(environment.name, target, workflow, at);
  const sensitive = new Set(target.sensitiveColumns);
  for (const [schema, tables] of Object.entries(workflow.scope)) {
    for (const [table, spec] of Object.entries(tables)) {
      const tablePath = ["scope", schema, table];
      const columns = spec.columns ?? {};
      const justified = (column: string) => {
        const c = columns[column];
        return c !== null && typeof c === "object" && c.justification !== undefined;
      };
      if (spec.exclude === undefined) {
        for (const column of Object.keys(columns)) {
          if (sensitive.has(`${schema}.${table}.${column}`) && !justified(column)) {
            at(
              [...tablePath, "columns", column],
              `column "${schema}.${table}.${column}" is classified sensitive in environment "${environment.name}" and needs a \`justification\``,
              "remove the column, or give it `justification:` saying why this workflow needs it",
              true,
            );
          }
        }
      } else {
        const excluded = new Set(spec.exclude);
        const prefix = `${schema}.${table}.`;
        for (const qualified of target.sensitiveColumns) {
          if (!qualified.startsWith(prefix)) continue;
          const column = qualified.slice(prefix.length);
          if (!excluded.has(column) && !justified(column)) {
            at(
              [...tablePath, "exclude"],
              `sensitive column "${qualified}" would be readable: it is not in \`exclude\` and has no \`justification\``,
              `add "${column}" to \`exclude\`, or describe it under \`columns\` with a justification`,
              true,
            );
          }
        }
      }
    }
  }
}

/** BigQuery bills at least 10 MB for a query that reads a table: a lower cap fails every such query. */
export const MIN_BYTES_BILLED = 10 * 1000 * 1000;

/**
 * `limits.maxBytesBilled`: BigQuery only, at least BigQuery's minimum, and at most the target's
 * `maximumBytesBilled` (the ceiling its owner set for every workflow).
 */
function checkBytesBilled(
  environment: string,
  target: ParsedEnvironment["value"]["targets"][string],
  workflow: ParsedWorkflow["value"],
  at: ReturnType<typeof problemAt>,
): void {
  const own = workflow.limits.maxBytesBilled;
  const path = ["limits", "maxBytesBilled"];
  if (target.platform !== "bigquery") {
    if (own !== undefined) at(path, `\`maxBytesBilled\` is a BigQuery limit; target "${workflow.target}" is ${target.platform}`, "remove it", true);
    return;
  }
  if (own === undefined) return;
  const bytes = parseSize(own);
  if (bytes < MIN_BYTES_BILLED) {
    at(path, `${own} is below BigQuery's minimum of 10 MB billed per query: every query reading a table would fail`, 'use at least "10MB"');
  }
  const ceiling = target.maximumBytesBilled;
  if (ceiling !== undefined && bytes > parseSize(ceiling)) {
    at(
      path,
      `${own} is above target "${workflow.target}"'s maximumBytesBilled (${ceiling}) in environment "${environment}"`,
      `use at most "${ceiling}", or ask the target's owner to raise it`,
    );
  }
}
