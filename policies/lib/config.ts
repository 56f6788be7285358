/**
 * What the rules know beyond a resource's inputs, as Pulumi policy config.
 *
 * A rule judges inputs, so it also judges resources written by hand next to dbwarden's
 * components. Some judgements need facts the inputs cannot carry: which roles are agent roles
 * and which workflow each belongs to, when a workflow expires, which columns the data owner marked
 * sensitive and which ones a workflow may read with a justification, the thresholds of the
 * environment. Those facts arrive as config: the pack's entry computes them from the spec of the
 * stack being previewed (src/policy/facts.ts), `dbwarden check` passes the same, and anyone can set
 * them with `--policy-pack-config`. Without them, rules fall back to what inputs and tags say
 * (agent roles are recognized by name, `dbwarden:expires` tags, the thresholds' defaults).
 *
 * Each property is declared once here; a rule's `configSchema` picks the ones it reads.
 */
import { OWNER_TAG, WORKFLOW_TAG } from "../../src/tags.ts";
import { DEFAULT_ALLOWED_IMAGES } from "./images.ts";
import type { PolicyConfigSchema } from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema.js";

/** One workflow as the rules need it: its roles, expiry, and what it may read that is sensitive. */
export interface WorkflowFacts {
  name: string;
  /** The team accountable for it. */
  owner: string;
  /** Last day of access (YYYY-MM-DD, UTC), or null. */
  expires: string | null;
  /** Database the workflow reads (for sensitive-column checks), or null when unknown. */
  database: string | null;
  /** NOLOGIN group role holding its privileges. */
  group: string;
  /** Login roles (and rotation clones) that only inherit the group, with the client each serves. */
  logins: { role: string; client: string }[];
  /** Sensitive columns ("schema.table.column") it reads with a written justification. */
  justifiedColumns: string[];
}

/** Every config property a rule may read, with its type. */
export interface PolicyFacts {
  /** Agent roles are the roles of `workflows`, plus any role whose name matches this. */
  agentRolePattern: string;
  workflows: WorkflowFacts[];
  /** Roles agent logins may join besides their group (the platform's IAM login roles). */
  platformRoles: string[];
  /** By database: the columns ("schema.table.column") the data owner classified sensitive. */
  sensitiveColumns: Record<string, string[]>;
  /** The day rules judge expiry against (YYYY-MM-DD); default: today (UTC). */
  asOf: string;
  /** Ports of the databases and the MCP service: no ingress from the whole internet to them. */
  protectedPorts: number[];
  /** Replicas that exist outside the stack (RDS identifiers): agents may read them. */
  replicaIdentifiers: string[];
  maxRotationDays: number;
  minRetentionDays: number;
  /** Tag keys every taggable resource carries. */
  requiredTags: string[];
  /** Image repositories the MCP server may run (`*` for any characters but `/`). */
  allowedImages: string[];
}

const stringList = (description: string, fallback: string[] = []): PolicyConfigJSONSchema => ({
  type: "array",
  items: { type: "string" },
  default: fallback,
  description,
});

/** The one declaration of each property: type, default, meaning. */
export const CONFIG_PROPERTIES: { [K in keyof PolicyFacts]: PolicyConfigJSONSchema } = {
  agentRolePattern: {
    type: "string",
    default: "^dbw_",
    description: "Regular expression matching the names of agent roles (dbwarden's roles start with dbw_), besides the roles listed in workflows.",
  },
  workflows: {
    type: "array",
    default: [],
    description: "The workflows of the environment, from the spec: roles, expiry and justified sensitive columns.",
    items: {
      type: "object",
      required: ["name", "group", "logins"],
      properties: {
        name: { type: "string" },
        owner: { type: "string" },
        expires: { type: ["string", "null"], description: "Last day of access, YYYY-MM-DD (UTC)." },
        database: { type: ["string", "null"] },
        group: { type: "string" },
        logins: {
          type: "array",
          items: { type: "object", required: ["role", "client"], properties: { role: { type: "string" }, client: { type: "string" } } },
        },
        justifiedColumns: { type: "array", items: { type: "string" } },
      },
    },
  },
  platformRoles: stringList("Roles agent logins may join besides their workflow's group, e.g. rds_iam for RDS IAM authentication.", ["rds_iam"]),
  sensitiveColumns: {
    type: "object",
    default: {},
    additionalProperties: { type: "array", items: { type: "string" } },
    description: 'By database: columns the data owner classified sensitive, as "schema.table.column".',
  },
  asOf: { type: "string", pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "Day to judge expiry against (YYYY-MM-DD); default today (UTC)." },
  protectedPorts: {
    type: "array",
    items: { type: "integer", minimum: 1, maximum: 65535 },
    default: [443, 5432],
    description: "Ports of the databases and the MCP service (load balancer and container): ingress from 0.0.0.0/0 or ::/0 to them is refused.",
  },
  replicaIdentifiers: stringList("RDS identifiers of read replicas that exist outside this stack and that agents may read."),
  maxRotationDays: { type: "integer", minimum: 1, default: 90, description: "Longest interval between password rotations, in days." },
  minRetentionDays: { type: "integer", minimum: 1, default: 90, description: "Shortest retention of query and audit logs, in days." },
  requiredTags: stringList("Tag keys every taggable resource carries.", [OWNER_TAG, WORKFLOW_TAG]),
  allowedImages: stringList(
    "Image repositories (without tag or digest) the MCP server's containers may run; `*` stands for any characters " +
      "but `/`. Default: dbwarden's released image; dbwarden check adds the registry a stack builds into.",
    [...DEFAULT_ALLOWED_IMAGES],
  ),
};

/** The config schema of a rule reading `keys`. */
export function configSchema<K extends keyof PolicyFacts>(...keys: K[]): PolicyConfigSchema {
  return { properties: Object.fromEntries(keys.map((k) => [k, CONFIG_PROPERTIES[k]])) };
}

/**
 * A rule's config: the schema's defaults, then what was given. The engine fills defaults too, but
 * a rule must not depend on who runs it (the engine, `dbwarden check`, a test).
 */
export function configOf<K extends keyof PolicyFacts>(args: { getConfig<T extends object>(): T }, ...keys: K[]): Pick<PolicyFacts, K> {
  const given = args.getConfig<Partial<PolicyFacts>>();
  const result: Partial<PolicyFacts> = {};
  for (const key of keys) {
    const value = given[key] ?? CONFIG_PROPERTIES[key].default;
    if (value !== undefined) (result as Record<string, unknown>)[key] = value;
  }
  return result as Pick<PolicyFacts, K>;
}

/** The day expiry is judged against: config `asOf`, else today (UTC). */
export function asOfDay(config: Partial<Pick<PolicyFacts, "asOf">>): string {
  return config.asOf ?? new Date().toISOString().slice(0, 10);
}
