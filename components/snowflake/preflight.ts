/**
 * What Snowflake would refuse, checked from the plan alone before anything is created (pure):
 * identifiers (length, characters, the case Snowflake stores unquoted names in), the account
 * identifier, the network policy's addresses, and a login's public key (an RSA key of at least
 * 2048 bits, one line of base64 without the PEM header, as `RSA_PUBLIC_KEY` takes it).
 */
import { createPublicKey } from "node:crypto";
import { SNOWFLAKE_IDENTIFIER_MAX, snowflakeRoleName, workflowsOf, type AccessPlan } from "../../src/plan/types.ts";
import { networkPolicyName, type SnowflakeTarget } from "./children.ts";

/** An unquoted Snowflake identifier as Snowflake stores it: upper case letters, digits, `_` and `$`, starting with a letter or `_`. */
const STORED_UNQUOTED = /^[A-Z_][A-Z0-9_$]*$/;

/** Problems of one identifier, naming the field. */
export function identifierProblems(name: string, field: string): string[] {
  const problems: string[] = [];
  if (name.length === 0) problems.push(`${field}: an identifier cannot be empty`);
  if (name.length > SNOWFLAKE_IDENTIFIER_MAX)
    problems.push(`${field}: "${name.slice(0, 40)}..." is ${name.length} characters; Snowflake allows ${SNOWFLAKE_IDENTIFIER_MAX}`);
  if (name.includes('"')) problems.push(`${field}: "${name}" contains a double quote, which dbwarden refuses in Snowflake names`);
  else if (!STORED_UNQUOTED.test(name)) {
    problems.push(
      `${field}: "${name}" is not how Snowflake stores an unquoted name (upper case: ` +
        `"${name.toUpperCase()}"); dbwarden quotes every name, so write it as Snowflake shows it (SHOW TABLES)`,
    );
  }
  return problems;
}

/** Problems of a key as `rsaPublicKey` takes it: base64 of an RSA SubjectPublicKeyInfo, at least 2048 bits, one line, no header. */
export function publicKeyProblems(key: string, field: string): string[] {
  if (/-----BEGIN|\s/.test(key)) return [`${field}: give the key body only: one line of base64, without the PEM header, footer or line breaks`];
  try {
    const parsed = createPublicKey({ key: Buffer.from(key, "base64"), format: "der", type: "spki" });
    if (parsed.asymmetricKeyType !== "rsa") return [`${field}: Snowflake key-pair auth takes RSA keys; this is ${parsed.asymmetricKeyType}`];
    const bits = parsed.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits < 2048 ? [`${field}: the RSA key has ${bits} bits; Snowflake needs at least 2048`] : [];
  } catch {
    return [`${field}: not a base64 DER public key (openssl rsa -pubout, without the header)`];
  }
}

/** Every problem the plan shows for a Snowflake target, each naming its field and the fix. */
export function snowflakePlanProblems(plan: AccessPlan, target: SnowflakeTarget): string[] {
  const field = `targets.${target.name}`;
  const problems: string[] = [];
  if (!/^[A-Za-z0-9]+-[A-Za-z0-9_]+$/.test(target.platformSettings.account)) {
    problems.push(
      `${field}.account: "${target.platformSettings.account}" is not an account identifier ` +
        `"<organization>-<account>" (SELECT CURRENT_ORGANIZATION_NAME() || '-' || CURRENT_ACCOUNT_NAME())`,
    );
  }
  problems.push(...identifierProblems(target.database, `${field}.database`), ...identifierProblems(target.platformSettings.warehouse, `${field}.warehouse`));
  if (target.network.allowedCidrs.length === 0) {
    problems.push(
      `${field}.network.allowedCidrs: list the MCP service's egress addresses (its ` +
        `NAT gateways' public IPs): the service users' network policy allows only them`,
    );
  }
  for (const cidr of target.network.allowedCidrs) {
    if (cidr.includes(":")) problems.push(`${field}.network.allowedCidrs: "${cidr}" is IPv6; Snowflake network rules of type IPV4 take IPv4 addresses only`);
  }
  if (networkPolicyName(plan.environment, target.name).length > SNOWFLAKE_IDENTIFIER_MAX)
    problems.push(`${field}: the network policy name is longer than ${SNOWFLAKE_IDENTIFIER_MAX} characters`);
  for (const workflow of workflowsOf(plan, target.name)) {
    problems.push(...identifierProblems(snowflakeRoleName(workflow.roles.group), `workflows.${workflow.name} (its role name)`));
    for (const login of workflow.roles.logins)
      problems.push(...identifierProblems(snowflakeRoleName(login.role), `workflows.${workflow.name}.clients.${login.client} (its user name)`));
    for (const table of workflow.tables) {
      const where = `workflows.${workflow.name}.scope.${table.schema}.${table.table}`;
      problems.push(...identifierProblems(table.schema, `${where} (schema)`), ...identifierProblems(table.table, `${where} (table)`));
      const columns = table.rule.access === "only" ? table.rule.columns : table.rule.access === "all-except" ? table.rule.except : [];
      for (const column of columns) problems.push(...identifierProblems(column, `${where}.${column}`));
    }
  }
  return [...new Set(problems)];
}
