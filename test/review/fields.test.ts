/**
 * Every field of the access plan is compared by the review. The fields are enumerated from the
 * plan's own zod schema (`AccessPlanSchema`, walked recursively through objects, arrays, nullable
 * values and every option of every union), so a field added to the contract later is enumerated
 * too. For each one, a plan where the field matters is changed in that field alone, and
 * `diffPlans` must report it, naming the new value (worded old -> new). Union options are switched
 * too, and nullable settings set and unset. The few fields that do not decide access are listed
 * in `NOT_COMPARED` with the reason; the test fails on a field that is neither reported nor listed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AccessPlanSchema, type AccessPlan } from "@dbwarden/contract";
import { diffPlans } from "../../src/review/diff.ts";
import { planWith } from "./support/cases.ts";

/** A zod schema as walked here (zod 4's definition object). */
interface Def {
  type: string;
  shape?: Record<string, Schema>;
  element?: Schema;
  innerType?: Schema;
  options?: Schema[];
  discriminator?: string;
  entries?: Record<string, string>;
  values?: unknown[];
}
type Schema = { _zod: { def: Def } };
const def = (schema: Schema): Def => schema._zod.def;

/** A step on the way to a field: a key, an array's element, a union's option, a nullable's value. */
type Step = { key: string } | { item: true } | { option: number; label: string } | { present: true };
interface Field {
  path: Step[];
  /** The field's schema. */
  schema: Schema;
  name: string;
}

const nameOf = (path: readonly Step[]) =>
  path
    .map((s) => ("key" in s ? `.${s.key}` : "item" in s ? "[]" : "option" in s ? `<${s.label}>` : "?"))
    .join("")
    .replace(/^\./, "");

/** The discriminating value of a union option, for names. */
function optionLabel(union: Def, option: Schema, index: number): string {
  const discriminator = union.discriminator;
  const literal = discriminator ? def(def(option).shape![discriminator]!).values?.[0] : undefined;
  return literal === undefined ? String(index) : String(literal);
}

/** Every field: scalars, arrays of scalars (one field each), and nullable or union nodes themselves (switched). */
function fields(schema: Schema, path: Step[] = []): Field[] {
  const d = def(schema);
  const here = { path, schema, name: nameOf(path) };
  switch (d.type) {
    case "object":
      return Object.entries(d.shape!).flatMap(([key, child]) => fields(child, [...path, { key }]));
    case "array":
      return ["object", "union"].includes(def(d.element!).type) ? fields(d.element!, [...path, { item: true }]) : [here];
    case "nullable":
      return ["object", "union"].includes(def(d.innerType!).type) ? [here, ...fields(d.innerType!, [...path, { present: true }])] : [here];
    case "union":
      return [here, ...d.options!.flatMap((option, i) => fields(option, [...path, { option: i, label: optionLabel(d, option, i) }]))];
    default:
      return [here];
  }
}

/** Fields that do not decide access, and why. */
const NOT_COMPARED: Record<string, string> = {
  apiVersion: "the format's version: a reader refuses any other",
  kind: "a constant of the format",
  environment: "which stack the plan is of: plans of two stacks are never compared",
  asOf: "both sides are planned for the same day",
  notes: "words about the fields compared elsewhere (expired workflows left out, PUBLIC left as it is)",
  "workflows[].roles.group": "made from the workflow's name (src/plan/names.ts): a new name is a rename, reported",
  "workflows[].roles.logins[].client": "the client's name, compared with the clients",
  "workflows[].roles.logins[].role": "made from the workflow's and client's names",
  "workflows[].roles.logins[].secretName": "made from the stack's, workflow's and client's names",
  "workflows[].clients[].loginRole": "made from the workflow's and client's names",
  "workflows[].clients[].secretName": "made from the stack's, workflow's and client's names",
};
/** A union's discriminator inside an option: switching options is tested on the union itself. */
const isDiscriminator = (field: Field) => def(field.schema).type === "literal" && field.path.length > 1;

/**
 * The base plan every field is changed in: the prod fixture, its first workflow made to read a
 * table "all but one column", with a readable column the data owner marked sensitive (justified)
 * and an OIDC client named by subject, so that every workflow field decides something.
 */
function basePlan(): AccessPlan {
  const plan = planWith([]);
  const workflow = plan.workflows[0]!;
  workflow.tables.unshift({
    schema: "app",
    table: "probe_accounts",
    description: "One row per customer account (a table no fixture workflow reads).",
    rule: { access: "all-except", except: ["billing_email"] },
    columns: [
      {
        name: "region",
        description: "Data region of the account.",
        classification: "sensitive",
        justification: "Routing questions need the region; approved (DATA-1).",
      },
    ],
  });
  workflow.clients[0] = { ...workflow.clients[0]!, auth: "oidc", subject: "svc-probe@example.com", group: null, sourceCidrs: ["10.0.12.0/24"] };
  workflow.tools = ["list_tables", "describe_table", "query"];
  plan.mcpServer.oidc = { issuer: "https://auth.example.com/", audience: "dbwarden-mcp", principalClaim: "sub", groupsClaim: "groups" };
  return plan;
}

/** A value of a schema, for an option or a nullable that is absent in the base plan. */
function sample(schema: Schema, key = ""): unknown {
  const d = def(schema);
  switch (d.type) {
    case "object":
      return Object.fromEntries(Object.entries(d.shape!).map(([k, child]) => [k, sample(child, k)]));
    case "array":
      return /cidrs$/i.test(key) ? ["10.99.0.0/16"] : [sample(d.element!, key)];
    case "nullable":
      return sample(d.innerType!, key);
    case "union":
      return sample(d.options![0]!, key);
    case "enum":
      return Object.values(d.entries!)[0];
    case "literal":
      return d.values![0];
    case "number":
      return 7;
    case "boolean":
      return false;
    default:
      return key === "issuer" ? "https://sample.example.com/" : key === "expires" ? "2030-01-01" : `sample-${key}`;
  }
}

/** A different value of the same schema: what the field is changed to. */
function changed(schema: Schema, value: unknown, key: string): unknown {
  const d = def(schema);
  if (d.type === "nullable") return value === null ? sample(d.innerType!, key) : changed(d.innerType!, value, key);
  if (d.type === "array") {
    const element = def(d.element!);
    if (element.type === "enum") return (value as unknown[]).length > 1 ? (value as unknown[]).slice(0, -1) : Object.values(element.entries!);
    return [...(value as unknown[]), /cidrs$/i.test(key) ? "203.0.113.0/24" : `${key}-added`];
  }
  switch (d.type) {
    case "number":
      return (value as number) + 1;
    case "boolean":
      return !(value as boolean);
    case "enum":
      return Object.values(d.entries!).find((v) => v !== value);
    default:
      return key === "issuer" ? "https://other.example.com/" : key === "expires" ? "2031-06-30" : `${value as string}-changed`;
  }
}

/** The value at `path` in `plan`, made present on the way (arrays get an element, options and nullables a sample). */
function locate(plan: AccessPlan, field: Field): { parent: Record<string, unknown> | unknown[]; at: string | number } {
  let schema = AccessPlanSchema as unknown as Schema;
  let parent: Record<string, unknown> | unknown[] = { value: plan };
  let at: string | number = "value";
  for (const step of field.path) {
    const d = def(schema);
    const value = (parent as Record<string | number, unknown>)[at];
    if ("key" in step) {
      parent = value as Record<string, unknown>;
      at = step.key;
      schema = d.shape![step.key]!;
    } else if ("item" in step) {
      const items = value as unknown[];
      if (items.length === 0) items.push(sample(d.element!));
      parent = items;
      at = 0;
      schema = d.element!;
    } else if ("present" in step) {
      if (value === null) (parent as Record<string | number, unknown>)[at] = sample(d.innerType!, String(at));
      schema = d.innerType!;
    } else {
      const option = d.options![step.option]!;
      const discriminator = d.discriminator!;
      const wanted = def(def(option).shape![discriminator]!).values![0];
      if ((value as Record<string, unknown>)[discriminator] !== wanted) (parent as Record<string | number, unknown>)[at] = sample(option, String(at));
      schema = option;
    }
  }
  return { parent, at };
}

const all = fields(AccessPlanSchema as unknown as Schema);

describe("the review compares every field of the access plan", () => {
  it("enumerates the plan's schema: objects, arrays, nullable values and every union option", () => {
    const names = all.map((f) => f.name);
    for (const expected of [
      "targets[].platformSettings<aws-rds>.pgauditPreloaded",
      "targets[].platformSettings<postgres>.connectionUrlEnv",
      "targets[].publicPrivileges.revoke",
      "targets[].sensitiveColumns",
      "mcpServer.image?<registry>.uri",
      "mcpServer.oidc?.principalClaim",
      "mcpServer.host<aws-ecs>.egress",
      "workflows[].tables[].rule<all-except>.except",
      "workflows[].tables[].columns[].justification",
      "workflows[].limits.concurrentCalls",
    ])
      assert.ok(names.includes(expected), `${expected} is enumerated (found: ${names.join(", ")})`);
    for (const name of Object.keys(NOT_COMPARED)) assert.ok(names.includes(name), `NOT_COMPARED names ${name}, which the plan does not have`);
  });

  for (const field of all) {
    if (isDiscriminator(field)) continue;
    const reason = NOT_COMPARED[field.name];
    it(`${field.name}${reason ? ` (not compared: ${reason})` : ""}`, () => {
      if (reason) return;
      const d = def(field.schema);
      const key = [...field.path].reverse().find((s): s is { key: string } => "key" in s)?.key ?? "";
      const before = basePlan();
      locate(before, field);
      const after = structuredClone(before);
      const target = locate(after, field);
      const container = target.parent as Record<string | number, unknown>;
      const old = container[target.at];
      let next: unknown;
      if (d.type === "union") {
        // Switch to another option of the union.
        const options = d.options!;
        const current = options.findIndex((o) => def(def(o).shape![d.discriminator!]!).values![0] === (old as Record<string, unknown>)[d.discriminator!]);
        next = sample(options[(current + 1) % options.length]!, key);
      } else if (d.type === "nullable" && ["object", "union"].includes(def(d.innerType!).type)) {
        next = old === null ? sample(d.innerType!, key) : null;
      } else next = changed(field.schema, old, key);
      container[target.at] = next;
      const diff = diffPlans(before, after);
      assert.ok(diff.changes.length > 0, `${field.name}: ${JSON.stringify(old)} -> ${JSON.stringify(next)}, and the review says nothing`);
      const words = diff.changes.map((c) => `${c.subject} ${c.summary}`).join("\n");
      const shown = Array.isArray(next) ? (next as unknown[]).filter((v) => !(old as unknown[]).includes(v)) : [next];
      for (const value of shown)
        if (value !== null && typeof value !== "object")
          assert.ok(words.includes(String(value)), `${field.name}: the review does not name the new value ${JSON.stringify(value)}:\n${words}`);
    });
  }
});
