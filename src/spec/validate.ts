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
import { HOST_PLATFORMS, TARGET_PLATFORMS, hostServes, isDeployedHost, isPostgresPlatform, parseMask } from "@dbwarden/contract";
import { checkReportingView, checkRowFilter, SqlCheckError, type ReportingViewFacts, type RowFilterFacts } from "../sql/check.ts";
import { maskTypeProblem } from "../postgres/model/governed.ts";
import { parseSize, type Target, type Workflow } from "./schema.ts";

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
  /**
   * The committed catalog snapshot of an environment (`<spec folder>/catalog/<env>.json`), when
   * there is one: row filters, reporting views and masks are checked against its tables, columns
   * and types. Without it they are checked where the columns are known (the model: `up`, drift,
   * the Pulumi component).
   */
  catalogOf?: (environment: string) => CatalogLookup | null;
}

/** What validation asks a catalog snapshot. */
export interface CatalogLookup {
  /** Names the snapshot in messages. */
  source: string;
  columnsOf(schema: string, table: string): readonly string[] | undefined;
  typeOf(schema: string, table: string, column: string): string | undefined;
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
  const scope: FocusScope = {
    named,
    namedWorkflows: workflows.filter((w) => named(w.file)).map((w) => w.value.name),
    ...(options.catalogOf ? { catalogOf: options.catalogOf } : {}),
  };

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
  catalogOf?: ValidateOptions["catalogOf"];
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
    if (isSystemSchema(schema))
      at(
        ["scope", schema],
        `schema "${schema}" is a system catalog: its relations describe every role, table, function ` +
          `and session of the database (other sessions' queries included), not the data a workflow needs`,
        "remove it: agents learn their own tables' columns from describe_table and list_tables",
        true,
      );
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
      checkColumnCase(spec, ["scope", schema, table], at);
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
        if (isObject && columnSpec.sensitive === true && columnSpec.justification === undefined && columnSpec.mask === undefined) {
          at(
            path,
            `column "${column}" is marked sensitive but has no \`justification\``,
            "add `justification:` with why this workflow needs it, give it a `mask:`, or remove the column",
            true,
          );
        }
        if (isObject && columnSpec.mask !== undefined && excluded.has(column)) {
          at(
            [...path, "mask"],
            `column "${column}" is excluded, so it is not read at all, masked or not`,
            "remove the mask, or the column from `exclude`",
            true,
          );
        }
      }
      if (spec.rowFilter !== undefined) checkWorkflowRowFilter(workflow, schema, table, spec.rowFilter, at);
    }
  }
  checkAttributeTypes(workflow, at);
  checkReportingViews(workflow, at);
}

type At = ReturnType<typeof problemAt>;

/** The reason a SQL text was refused, with where in it when the parser says. */
function sqlReason(error: SqlCheckError): string {
  return error.position === null ? error.message : `${error.message} (at character ${error.position + 1})`;
}

/** A row filter parses, reads only what a predicate may, and names attributes some client declares. */
function checkWorkflowRowFilter(workflow: Workflow, schema: string, table: string, predicate: string, at: At): RowFilterFacts | null {
  const path = ["scope", schema, table, "rowFilter"];
  let facts: RowFilterFacts;
  try {
    facts = checkRowFilter(predicate);
  } catch (error) {
    if (!(error instanceof SqlCheckError)) throw error;
    at(path, `row filter refused: ${sqlReason(error)}`, "write one condition over this table's columns, literals and `client.<attribute>` (docs/masks.md)");
    return null;
  }
  const declared = new Set(workflow.clients.flatMap((c) => Object.keys(c.attributes ?? {})));
  for (const attribute of facts.attributes.filter((a) => !declared.has(a))) {
    at(
      path,
      `row filter reads client.${attribute}, which no client of this workflow declares`,
      `give each client \`attributes: { ${attribute}: <its value> }\` (its value decides its rows), or correct the name`,
    );
  }
  return facts;
}

const article = (word: string) => `${/^[aeiou]/.test(word) ? "an" : "a"} ${word}`;

/** The type of an attribute value, as a row filter compares it. */
const attributeType = (value: string | number | boolean) => (typeof value === "number" ? (Number.isInteger(value) ? "integer" : "number") : typeof value);

/** An attribute has one type across the workflow's clients (integers and other numbers mix as numbers). */
function checkAttributeTypes(workflow: Workflow, at: At): void {
  const first = new Map<string, { type: string; client: string }>();
  workflow.clients.forEach((client, i) => {
    for (const [name, value] of Object.entries(client.attributes ?? {})) {
      const type = attributeType(value);
      const seen = first.get(name);
      if (!seen) first.set(name, { type, client: client.name });
      else if (seen.type !== type && !(["integer", "number"].includes(seen.type) && ["integer", "number"].includes(type)))
        at(
          ["clients", i, "attributes", name],
          `attribute ${name} is ${article(type)} here and ${article(seen.type)} for client ${seen.client}`,
          "give it one type across the workflow's clients",
        );
    }
  });
}

/** Each reporting view's SQL is allowed, its described columns are ones it outputs, and its name is free. */
function checkReportingViews(workflow: Workflow, at: At): void {
  const governedTables = new Map<string, string>();
  for (const [schema, tables] of Object.entries(workflow.scope)) {
    for (const [table, spec] of Object.entries(tables)) {
      const masked = Object.values(spec.columns ?? {}).some((c) => c !== null && typeof c === "object" && c.mask !== undefined);
      if (!masked && spec.rowFilter === undefined) continue;
      const other = governedTables.get(table);
      if (other)
        at(
          ["scope", schema, table],
          `${other}.${table} and ${schema}.${table} are both read masked or filtered: the workflow's agents read both as "${table}", one name for two tables`,
          "read one of them without masks and row filters, or split the workflow",
          true,
        );
      governedTables.set(table, schema);
    }
  }
  for (const [name, view] of Object.entries(workflow.views ?? {})) {
    if (governedTables.has(name))
      at(["views", name], `view "${name}" has the name of the masked or filtered table ${governedTables.get(name)}.${name}`, "rename the view", true);
    const facts = reportingViewFacts(view.sql, ["views", name, "sql"], at);
    if (!facts) continue;
    for (const column of Object.keys(view.columns ?? {})) {
      if (!facts.columns.includes(column))
        at(["views", name, "columns", column], `view "${name}" outputs no column "${column}"`, `its SELECT outputs: ${facts.columns.join(", ")}`, true);
    }
  }
}

function reportingViewFacts(sql: string, path: PropertyKey[], at: At): ReportingViewFacts | null {
  try {
    return checkReportingView(sql);
  } catch (error) {
    if (!(error instanceof SqlCheckError)) throw error;
    at(path, `reporting view refused: ${sqlReason(error)}`, "write one SELECT over schema-qualified tables, without subqueries (docs/masks.md)");
    return null;
  }
}

/**
 * Schemas of the database's own catalogs: PostgreSQL reserves every name beginning with `pg_`
 * (pg_catalog, pg_toast...), and `information_schema` is the SQL standard's catalog (Snowflake and
 * BigQuery have one too). Unquoted, PostgreSQL folds them to lower case, so any spelling is one.
 */
export function isSystemSchema(schema: string): boolean {
  const folded = schema.toLowerCase();
  return folded.startsWith("pg_") || folded === "information_schema";
}

/**
 * Why two names that differ only in case are refused: PostgreSQL folds an unquoted name to lower
 * case (a query naming `Invoices` reads `invoices`), while dbwarden grants, classifies and checks
 * the exact name as written (a quoted identifier). Two spellings of one name would make the
 * sensitivity check and the grants disagree, so each name is written once, exactly as the
 * database has it.
 */
const CASE_HINT = "write the name exactly as the database has it (as `dbwarden catalog` lists it), the same way everywhere";

/** Column names of one table (described and excluded) that differ only in case from another of them. */
function checkColumnCase(spec: { columns?: Record<string, unknown>; exclude?: readonly string[] }, tablePath: PropertyKey[], at: ReturnType<typeof problemAt>) {
  // Two names can differ only in case when one has an upper-case letter: most tables have none.
  if (!Object.keys(spec.columns ?? {}).some(hasUpperCase) && !(spec.exclude ?? []).some(hasUpperCase)) return;
  const named: Array<[string, PropertyKey[], boolean]> = [
    ...Object.keys(spec.columns ?? {}).map((column): [string, PropertyKey[], boolean] => [column, [...tablePath, "columns", column], true]),
    ...(spec.exclude ?? []).map((column, i): [string, PropertyKey[], boolean] => [column, [...tablePath, "exclude", i], false]),
  ];
  const seen = new Map<string, string>();
  for (const [column, path, key] of named) {
    const first = seen.get(column.toLowerCase());
    if (first !== undefined && first !== column)
      at(path, `column "${column}" differs only in case from "${first}" in this table: PostgreSQL reads both as one unquoted name`, CASE_HINT, key);
    else seen.set(column.toLowerCase(), column);
  }
}

const hasUpperCase = (name: string) => name !== name.toLowerCase();

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
    if (named || scope.named(workflow.file)) checkWorkflowInEnvironment(doc, workflow, problems, scope.catalogOf?.(doc.value.name) ?? null);
  });
  checkTableCaseAcrossWorkflows(doc, workflows, scope, problems);
}

/**
 * Tables of one target read by the environment's workflows whose names differ only in case: one
 * is granted on a table the other is not, while a query naming either reads the folded one.
 */
function checkTableCaseAcrossWorkflows(doc: ParsedEnvironment, workflows: ReadonlyMap<string, ParsedWorkflow>, scope: FocusScope, problems: Problem[]) {
  const enabled = [...new Set(doc.value.workflows)].flatMap((name) => workflows.get(name) ?? []);
  // Two names can differ only in case when one has an upper-case letter: most environments have none.
  if (!enabled.some((w) => Object.entries(w.value.scope).some(([schema, tables]) => hasUpperCase(schema) || Object.keys(tables).some(hasUpperCase)))) return;
  const first = new Map<string, { name: string; workflow: string }>();
  for (const name of new Set(doc.value.workflows)) {
    const workflow = workflows.get(name);
    if (!workflow || !doc.value.targets[workflow.value.target]) continue;
    const reported = scope.named(doc.file) || scope.named(workflow.file);
    for (const [schema, tables] of Object.entries(workflow.value.scope)) {
      for (const table of Object.keys(tables)) {
        const key = `${workflow.value.target}\u0000${schema.toLowerCase()}.${table.toLowerCase()}`;
        const seen = first.get(key);
        if (!seen) first.set(key, { name: `${schema}.${table}`, workflow: name });
        // Within one workflow the two are "listed twice" (validateWorkflow).
        else if (seen.name !== `${schema}.${table}` && seen.workflow !== name && reported)
          problemAt(problems, workflow)(
            ["scope", schema, table],
            `table "${schema}.${table}" differs only in case from "${seen.name}", which workflow ` +
              `"${seen.workflow}" reads on the same target in environment "${doc.value.name}"`,
            CASE_HINT,
            true,
          );
      }
    }
  }
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
    const seen = new Map<string, string>();
    target.sensitiveColumns.forEach((column, i) => {
      const first = seen.get(column.toLowerCase());
      if (first === column) at([...path, "sensitiveColumns", i], `"${column}" is listed twice`, "list it once");
      else if (first !== undefined) at([...path, "sensitiveColumns", i], `"${column}" differs only in case from "${first}", listed too`, CASE_HINT);
      else seen.set(column.toLowerCase(), column);
    });
  }
  checkHostReadsTargets(doc, problems);
  const oidc = environment.mcpServer.oidc;
  if (oidc && environment.mcpServer.host.platform !== "local" && new URL(oidc.issuer).protocol === "http:") {
    at(
      ["mcpServer", "oidc", "issuer"],
      `OIDC issuer ${oidc.issuer} is plain http://: the server fetches the issuer's signing keys from it, so anyone on the path could swap them and sign tokens for any client`,
      "use the issuer's https:// URL (plain http is accepted only on the local stack, for an identity provider on this machine)",
    );
  }
  const openMcp = environment.mcpServer.allowedCidrs.findIndex((c) => c.endsWith("/0"));
  if (openMcp >= 0) {
    at(["mcpServer", "allowedCidrs", openMcp], "an MCP endpoint open to the whole internet is refused", "list the networks your agents call from");
  }
}

/** A target's sensitive columns by their table's folded "schema.table" (computed once per target). */
const sensitiveByTarget = new WeakMap<object, Map<string, Array<{ table: string; column: string }>>>();
function sensitiveColumnsByTable(target: { sensitiveColumns: readonly string[] }): Map<string, Array<{ table: string; column: string }>> {
  let byTable = sensitiveByTarget.get(target);
  if (byTable) return byTable;
  byTable = new Map();
  for (const qualified of target.sensitiveColumns) {
    const [schema, table, column] = qualified.split(".") as [string, string, string];
    const key = `${schema}.${table}`.toLowerCase();
    byTable.set(key, [...(byTable.get(key) ?? []), { table: `${schema}.${table}`, column }]);
  }
  sensitiveByTarget.set(target, byTable);
  return byTable;
}

/**
 * A table of a workflow against the sensitive columns of its table's folded name: a table whose
 * name differs only in case (unless the scope lists both, already "listed twice"), and columns
 * (described or excluded) that differ only in case from a sensitive one.
 */
function checkSensitiveCase(
  workflow: ParsedWorkflow["value"],
  environment: string,
  schema: string,
  table: string,
  spec: { columns?: Record<string, unknown>; exclude?: readonly string[] },
  classified: ReadonlyArray<{ table: string; column: string }>,
  at: ReturnType<typeof problemAt>,
) {
  const name = `${schema}.${table}`;
  const variant = classified.find((c) => c.table !== name && !scopeLists(workflow.scope, c.table));
  if (variant) {
    const columns = classified.filter((c) => c.table === variant.table).map((c) => c.column);
    at(
      ["scope", schema, table],
      `table "${name}" differs only in case from "${variant.table}", whose columns environment ` +
        `"${environment}" classifies sensitive (${columns.join(", ")}): the sensitivity check would not see them`,
      CASE_HINT,
      true,
    );
  }
  const exactly = classified.filter((c) => c.table === name).map((c) => c.column);
  if (exactly.length === 0) return;
  for (const column of Object.keys(spec.columns ?? {})) {
    const other = caseVariantOf(column, exactly);
    if (other)
      at(
        ["scope", schema, table, "columns", column],
        `column "${column}" differs only in case from the sensitive column "${name}.${other}": the sensitivity check would not see it`,
        CASE_HINT,
        true,
      );
  }
  spec.exclude?.forEach((column, i) => {
    const other = caseVariantOf(column, exactly);
    if (other)
      at(
        ["scope", schema, table, "exclude", i],
        `excluded column "${column}" differs only in case from the sensitive column "${name}.${other}", which stays readable`,
        CASE_HINT,
      );
  });
}

/** A name of `names` that differs from `name` only in case, if any. */
const caseVariantOf = (name: string, names: readonly string[]) => names.find((n) => n !== name && n.toLowerCase() === name.toLowerCase());

/** Does a scope list the table "schema.table" exactly? */
const scopeLists = (scope: ParsedWorkflow["value"]["scope"], qualified: string) =>
  Object.entries(scope).some(([schema, tables]) => Object.keys(tables).some((table) => `${schema}.${table}` === qualified));

/** Rules about one workflow that depend on the environment it is enabled in. */
function checkWorkflowInEnvironment(envDoc: ParsedEnvironment, doc: ParsedWorkflow, problems: Problem[], catalog: CatalogLookup | null) {
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
  const sensitiveByTable = sensitiveColumnsByTable(target);
  for (const [schema, tables] of Object.entries(workflow.scope)) {
    for (const [table, spec] of Object.entries(tables)) {
      const tablePath = ["scope", schema, table];
      const classified = sensitiveByTable.get(`${schema}.${table}`.toLowerCase());
      if (classified) checkSensitiveCase(workflow, environment.name, schema, table, spec, classified, at);
      const columns = spec.columns ?? {};
      // Justified, or read only through a mask: either way the sensitive value is not read unexplained.
      const justified = (column: string) => {
        const c = columns[column];
        return c !== null && typeof c === "object" && (c.justification !== undefined || c.mask !== undefined);
      };
      if (spec.exclude === undefined) {
        for (const column of Object.keys(columns)) {
          if (sensitive.has(`${schema}.${table}.${column}`) && !justified(column)) {
            at(
              [...tablePath, "columns", column],
              `column "${schema}.${table}.${column}" is classified sensitive in environment "${environment.name}" and needs a \`justification\` or a \`mask\``,
              "remove the column, read it through a `mask:` (docs/masks.md), or give it `justification:` saying why this workflow needs it in the clear",
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
              `sensitive column "${qualified}" would be readable: it is not in \`exclude\` and has no \`justification\` or \`mask\``,
              `add "${column}" to \`exclude\`, or describe it under \`columns\` with a \`mask:\` or a justification`,
              true,
            );
          }
        }
      }
    }
  }
  checkGovernedInTarget(workflow, target, environment.name, at, catalog);
}

/** Where a workflow's masks, row filters and reporting views are used, in spec paths. */
function governedUses(workflow: Workflow): PropertyKey[][] {
  const uses: PropertyKey[][] = [];
  for (const [schema, tables] of Object.entries(workflow.scope)) {
    for (const [table, spec] of Object.entries(tables)) {
      for (const [column, c] of Object.entries(spec.columns ?? {}))
        if (c !== null && typeof c === "object" && c.mask !== undefined) uses.push(["scope", schema, table, "columns", column, "mask"]);
      if (spec.rowFilter !== undefined) uses.push(["scope", schema, table, "rowFilter"]);
    }
  }
  for (const name of Object.keys(workflow.views ?? {})) uses.push(["views", name]);
  return uses;
}

/**
 * Masks, row filters and reporting views in the workflow's target: a platform that enforces them,
 * reporting views that read sensitive columns only with a justification, and, where the
 * environment has a catalog snapshot, the tables, columns and types they name.
 */
function checkGovernedInTarget(workflow: Workflow, target: Target, environment: string, at: At, catalog: CatalogLookup | null): void {
  const uses = governedUses(workflow);
  if (uses.length === 0) return;
  if (!isPostgresPlatform(target.platform)) {
    for (const path of uses)
      at(
        path,
        `masks, row filters and reporting views are enforced on PostgreSQL targets only; ` +
          `target "${workflow.target}" is ${TARGET_PLATFORMS[target.platform].title}`,
        "remove it, or read a PostgreSQL target (postgres, aws-rds, gcp-cloudsql)",
      );
    return;
  }
  const sensitive = new Set(target.sensitiveColumns);
  for (const [name, view] of Object.entries(workflow.views ?? {})) {
    const facts = silently(() => checkReportingView(view.sql));
    if (!facts) continue; // refused on its own already
    const read = facts.reads.flatMap((r) => r.columns.map((c) => `${r.schema}.${r.table}.${c}`)).filter((c) => sensitive.has(c));
    if (read.length > 0 && view.justification === undefined)
      at(
        ["views", name],
        `view "${name}" reads ${read.join(", ")}, classified sensitive in environment "${environment}", and has no \`justification\``,
        "add `justification:` saying why the view may read it, or leave the column out of its SELECT",
        true,
      );
    if (catalog) for (const r of facts.reads) checkColumnsExist(catalog, r.schema, r.table, r.columns, ["views", name, "sql"], `view "${name}"`, at);
  }
  if (!catalog) return;
  for (const [schema, tables] of Object.entries(workflow.scope)) {
    for (const [table, spec] of Object.entries(tables)) {
      if (!catalog.columnsOf(schema, table)) continue; // the model reports a missing table, with its hint
      if (spec.rowFilter !== undefined) {
        const facts = silently(() => checkRowFilter(spec.rowFilter!));
        if (facts) checkColumnsExist(catalog, schema, table, facts.columns, ["scope", schema, table, "rowFilter"], "the row filter", at);
      }
      for (const [column, c] of Object.entries(spec.columns ?? {})) {
        if (c === null || typeof c !== "object" || c.mask === undefined) continue;
        const type = catalog.typeOf(schema, table, column);
        const mask = parseMask(c.mask);
        const problem = type === undefined || !mask ? null : maskTypeProblem(mask, type);
        if (problem)
          at(
            ["scope", schema, table, "columns", column, "mask"],
            `${schema}.${table}.${column} (${catalog.source}): ${problem}`,
            "choose a mask for its type (docs/masks.md)",
          );
      }
    }
  }
}

/** The facts of a check, or null when it refuses (reported elsewhere). */
function silently<T>(check: () => T): T | null {
  try {
    return check();
  } catch (error) {
    if (error instanceof SqlCheckError) return null;
    throw error;
  }
}

function checkColumnsExist(catalog: CatalogLookup, schema: string, table: string, columns: readonly string[], path: PropertyKey[], what: string, at: At): void {
  const live = catalog.columnsOf(schema, table);
  if (!live) {
    at(
      path,
      `${what} reads ${schema}.${table}, which ${catalog.source} does not list`,
      `add it to ${catalog.source} (\`dbwarden catalog\`), or correct the name`,
    );
    return;
  }
  for (const column of columns.filter((c) => !live.includes(c)))
    at(path, `${what} reads ${schema}.${table}.${column}, which ${catalog.source} does not list`, `${schema}.${table} has: ${live.join(", ")}`);
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
