/**
 * `agent-role-attributes`: a `postgresql.Role` that is an agent role has no attribute beyond LOGIN
 * and INHERIT: not SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { Role } from "@pulumi/postgresql/role.js";
import { AGENT_ROLE_ATTRIBUTES, ATTRIBUTE_RISKS, type AgentRoleAttribute } from "../../src/postgres/rules.ts";
import { agentDirectory } from "../lib/agents.ts";
import { configOf, configSchema } from "../lib/config.ts";

const CONFIG = ["agentRolePattern", "workflows", "platformRoles"] as const;

/** The `postgresql.Role` input of each attribute. Absent inputs take the provider's defaults, which are the agent values. */
export const ROLE_ATTRIBUTE_INPUTS: Record<
  AgentRoleAttribute,
  "superuser" | "createDatabase" | "createRole" | "replication" | "bypassRowLevelSecurity" | "inherit"
> = {
  superuser: "superuser",
  createdb: "createDatabase",
  createrole: "createRole",
  replication: "replication",
  bypassrls: "bypassRowLevelSecurity",
  inherit: "inherit",
};

export const agentRoleAttributes: ResourceValidationPolicy = {
  name: "agent-role-attributes",
  description:
    "Agent roles carry no attribute beyond LOGIN and INHERIT: SUPERUSER, CREATEROLE, REPLICATION or BYPASSRLS would each undo every grant-level control.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Set superuser, createDatabase, createRole, replication and bypassRowLevelSecurity to false (or leave them out) and inherit to true on " +
    "every agent role. A task that needs one of these attributes runs under a separate administrative role that agents never log in as.",
  validateResource: validateResourceOfType(Role, (role, args, report) => {
    const name = role.name;
    if (name === undefined || !agentDirectory(configOf(args, ...CONFIG)).isAgent(name)) return;
    for (const [attribute, expected] of Object.entries(AGENT_ROLE_ATTRIBUTES) as [AgentRoleAttribute, boolean][]) {
      const input = ROLE_ATTRIBUTE_INPUTS[attribute];
      const value = role[input];
      if (value !== undefined && value !== expected) {
        report(`agent role ${name} sets ${input}: ${String(value)}: ${ATTRIBUTE_RISKS[attribute]}`);
      }
    }
  }),
};
