/**
 * `agent-grants-read-only`: a `postgresql.Grant` or `DefaultPrivileges` for an agent role (or
 * PUBLIC, which every agent inherits) holds only what reads: CONNECT on the database, USAGE on
 * schemas, SELECT on tables and columns, never WITH GRANT OPTION, never anything on sequences,
 * functions, types or foreign servers.
 */
import type { ResourceValidationPolicy, ReportViolation } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { DefaultPrivileges } from "@pulumi/postgresql/defaultPrivileges.js";
import { Grant } from "@pulumi/postgresql/grant.js";
import { READ_PRIVILEGES, isAgentObjectType, isPublicRole, isReadPrivilege, privilegeWords } from "../../src/postgres/rules.ts";
import { agentDirectory } from "../lib/agents.ts";
import { configOf, configSchema } from "../lib/config.ts";
import { grantTarget } from "../lib/inputs.ts";

const CONFIG = ["agentRolePattern", "workflows", "platformRoles"] as const;

const readList = Object.entries(READ_PRIVILEGES)
  .map(([objectType, privilege]) => `${privilege} on ${objectType === "database" ? "the database" : `${objectType}s`}`)
  .join(", ");

function judge(
  grant: { role: string; objectType: string; privileges: string[]; withGrantOption: boolean | undefined; on: string },
  what: "grants" | "default privileges",
  report: ReportViolation,
): void {
  const whom = isPublicRole(grant.role) ? "PUBLIC (every agent role inherits it)" : `agent role ${grant.role}`;
  const on = grant.on;
  if (!isAgentObjectType(grant.objectType)) {
    if (grant.privileges.length > 0) report(`${what} ${grant.privileges.join(", ")} on ${on} to ${whom}: agent roles hold nothing on a ${grant.objectType}`);
  } else {
    const objectType = grant.objectType;
    const writes = grant.privileges.filter((p) => !isReadPrivilege(objectType, p));
    if (writes.length > 0) {
      report(
        `${what} ${writes.join(", ")} on ${on} to ${whom}: it could ${writes.map((p) => privilegeWords(p.toUpperCase())).join(", ")} ` +
          `it; agent roles only read (${READ_PRIVILEGES[objectType]} on a ${objectType})`,
      );
    }
  }
  if (grant.withGrantOption === true) report(`${what} WITH GRANT OPTION to ${whom}: it could pass its access on to any role`);
}

export const agentGrantsReadOnly: ResourceValidationPolicy = {
  name: "agent-grants-read-only",
  description:
    "Agent roles (and PUBLIC, which every agent inherits) hold only read privileges: a model that is wrong, " +
    "or tricked by text in the data, must not be able to change the data, the schema or who else can read it.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    `Give agent roles only ${readList}, without grant option. Write, DDL, TRUNCATE, ` +
    `EXECUTE and sequence or function privileges belong to a role agents never ` +
    `log in as; for PUBLIC, revoke them (REVOKE ... FROM PUBLIC). dbwarden's ` +
    `PostgresReadOnlyAccess component renders exactly these grants from the access plan.`,
  validateResource: [
    validateResourceOfType(Grant, (grant, args, report) => {
      if (!agentDirectory(configOf(args, ...CONFIG)).reachesAgents(grant.role)) return;
      judge(
        { role: grant.role, objectType: grant.objectType, privileges: grant.privileges, withGrantOption: grant.withGrantOption, on: grantTarget(grant) },
        "grants",
        report,
      );
    }),
    validateResourceOfType(DefaultPrivileges, (defaults, args, report) => {
      if (!agentDirectory(configOf(args, ...CONFIG)).reachesAgents(defaults.role)) return;
      const on = `future ${defaults.objectType}s${defaults.schema ? ` in schema ${defaults.schema}` : ""} created by ${defaults.owner}`;
      judge(
        { role: defaults.role, objectType: defaults.objectType, privileges: defaults.privileges, withGrantOption: defaults.withGrantOption, on },
        "default privileges",
        report,
      );
    }),
  ],
};
