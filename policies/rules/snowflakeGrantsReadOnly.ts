/**
 * `snowflake-grants-read-only`: a `GrantPrivilegesToAccountRole` to an agent role holds only
 * USAGE on its warehouse, database and schemas and SELECT on tables and views: nothing on the
 * account, no ALL or FUTURE grants, no grant option.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { GrantPrivilegesToAccountRole } from "@pulumi/snowflake/grantPrivilegesToAccountRole.js";
import { snowflakeGrantProblems, type SnowflakeGrantInputs } from "../../components/snowflake/rules.ts";
import { agentDirectory } from "../lib/agents.ts";
import { configOf, configSchema } from "../lib/config.ts";

const CONFIG = ["agentRolePattern", "workflows", "platformRoles"] as const;

export const snowflakeGrantsReadOnly: ResourceValidationPolicy = {
  name: "snowflake-grants-read-only",
  description: "Agent roles in Snowflake hold only USAGE on their warehouse, database and schemas and SELECT on named tables and views.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Grant agent roles USAGE on the warehouse, database and schemas and SELECT on each table or secure view, by name, without grant option; " +
    "nothing on the account and no ALL/FUTURE grants. dbwarden's SnowflakeReadOnlyAccess renders exactly these from the access plan.",
  validateResource: validateResourceOfType(GrantPrivilegesToAccountRole, (grant, args, report) => {
    if (!agentDirectory(configOf(args, ...CONFIG)).isAgent(String(grant.accountRoleName).toLowerCase())) return;
    for (const problem of snowflakeGrantProblems(grant as SnowflakeGrantInputs)) report(`agent role ${grant.accountRoleName}: ${problem}`);
  }),
};
