/**
 * What an agent's Snowflake role and user may hold, defined once: the children (children.ts)
 * grant exactly these, the policy pack's Snowflake rules (policies/rules/snowflake*.ts) judge
 * against them, and drift compares SHOW GRANTS with them.
 */

/** The only privilege an agent role holds on each kind of object. */
export const SNOWFLAKE_READ_PRIVILEGES = {
  WAREHOUSE: "USAGE",
  DATABASE: "USAGE",
  SCHEMA: "USAGE",
  TABLE: "SELECT",
  VIEW: "SELECT",
} as const satisfies Record<string, string>;

/** A GrantPrivilegesToAccountRole's inputs, as far as the rules read them. */
export interface SnowflakeGrantInputs {
  privileges?: string[];
  allPrivileges?: boolean;
  withGrantOption?: boolean;
  onAccount?: boolean;
  onAccountObject?: { objectType?: string; objectName?: string };
  onSchema?: { schemaName?: string; allSchemasInDatabase?: string; futureSchemasInDatabase?: string };
  onSchemaObject?: { objectType?: string; objectName?: string; all?: unknown; future?: unknown };
}

/** The object kind a grant is on, and its name, for messages. */
export function grantObject(grant: SnowflakeGrantInputs): { kind: string; name: string } {
  if (grant.onAccount) return { kind: "ACCOUNT", name: "the account" };
  if (grant.onAccountObject)
    return { kind: String(grant.onAccountObject.objectType ?? "?").toUpperCase(), name: String(grant.onAccountObject.objectName ?? "?") };
  if (grant.onSchema)
    return { kind: "SCHEMA", name: String(grant.onSchema.schemaName ?? grant.onSchema.allSchemasInDatabase ?? grant.onSchema.futureSchemasInDatabase ?? "?") };
  if (grant.onSchemaObject?.all || grant.onSchemaObject?.future) return { kind: "ALL/FUTURE", name: "every object of a schema" };
  return { kind: String(grant.onSchemaObject?.objectType ?? "?").toUpperCase(), name: String(grant.onSchemaObject?.objectName ?? "?") };
}

/** What is wrong with a grant to an agent role: anything beyond the read privilege of its object, or a way to pass it on. */
export function snowflakeGrantProblems(grant: SnowflakeGrantInputs): string[] {
  const problems: string[] = [];
  const { kind, name } = grantObject(grant);
  const allowed = (SNOWFLAKE_READ_PRIVILEGES as Record<string, string>)[kind];
  if (grant.allPrivileges) problems.push(`ALL PRIVILEGES on ${kind} ${name}`);
  if (kind === "ACCOUNT" || kind === "ALL/FUTURE") problems.push(`privileges on ${name}: agent roles are granted named objects only`);
  else if (!allowed) problems.push(`${(grant.privileges ?? []).join(", ")} on ${kind} ${name}: agent roles hold nothing on a ${kind}`);
  else {
    const beyond = (grant.privileges ?? []).map((p) => p.toUpperCase()).filter((p) => p !== allowed);
    if (beyond.length > 0) problems.push(`${beyond.join(", ")} on ${kind} ${name}: agent roles hold only ${allowed} on a ${kind}`);
  }
  if (grant.withGrantOption) problems.push(`WITH GRANT OPTION on ${kind} ${name}: it could pass its access on`);
  return problems;
}

/** A (service) user's inputs, as far as the rules read them. */
export interface SnowflakeUserInputs {
  networkPolicy?: string;
  password?: unknown;
  defaultSecondaryRolesOption?: string;
}

/** Login problems of an agent's user: no network policy, or a password. */
export function snowflakeLoginProblems(user: SnowflakeUserInputs): string[] {
  const problems: string[] = [];
  if (!user.networkPolicy) problems.push("has no network policy: it could log in from any address");
  if (user.password !== undefined && user.password !== "") problems.push("has a password: agents' users authenticate with key pairs only");
  return problems;
}

/** Are the user's secondary roles off (`NONE`)? With them on, every role granted to the user is active in its sessions. */
export function secondaryRolesOff(user: SnowflakeUserInputs): boolean {
  return String(user.defaultSecondaryRolesOption ?? "").toUpperCase() === "NONE";
}
