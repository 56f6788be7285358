/**
 * `agent-role-memberships`: an agent role is a member of nothing but what dbwarden gives it: a login
 * joins its own workflow's group (and the platform's IAM login role), a group joins nothing. Never
 * a predefined or powerful role (pg_read_server_files, pg_read_all_data, rds_superuser...), never
 * another workflow's group, never WITH ADMIN OPTION. Judges `postgresql.Role.roles` and
 * `postgresql.GrantRole`.
 */
import type { ReportViolation, ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { GrantRole } from "@pulumi/postgresql/grantRole.js";
import { Role } from "@pulumi/postgresql/role.js";
import { POWERFUL_ROLES, isAllowedMembership } from "../../src/postgres/rules.ts";
import { agentDirectory, type AgentDirectory } from "../lib/agents.ts";
import { configOf, configSchema } from "../lib/config.ts";

const CONFIG = ["agentRolePattern", "workflows", "platformRoles"] as const;

function judgeMembership(directory: AgentDirectory, role: string, memberOf: string, report: ReportViolation): void {
  const allowed = directory.allowedMemberships(role);
  if (isAllowedMembership(memberOf, allowed)) return;
  const power = POWERFUL_ROLES[memberOf];
  const why = power
    ? `membership lets it ${power}`
    : directory.isAgent(memberOf)
      ? `${memberOf} is another agent role: it would read what that workflow reads`
      : `${memberOf} is not a role dbwarden gives agents; whatever it holds, the agent holds`;
  report(`agent role ${role} is a member of ${memberOf}: ${why} (allowed: ${allowed.join(", ") || "no membership"})`);
}

export const agentRoleMemberships: ResourceValidationPolicy = {
  name: "agent-role-memberships",
  description:
    "Agent roles join only their own workflow's group and the platform's IAM login role: a membership hands " +
    "over everything the other role holds, including predefined roles that read server files or every table.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Remove the membership (the Role's `roles` entry or the GrantRole). Give the workflow what it needs through its own group role's grants, planned " +
    "in its spec; never grant predefined roles (pg_*), rds_superuser or another workflow's role to an agent role, and never WITH ADMIN OPTION.",
  validateResource: [
    validateResourceOfType(Role, (role, args, report) => {
      const name = role.name;
      const directory = agentDirectory(configOf(args, ...CONFIG));
      if (name === undefined || !directory.isAgent(name)) return;
      for (const memberOf of role.roles ?? []) judgeMembership(directory, name, memberOf, report);
    }),
    validateResourceOfType(GrantRole, (grant, args, report) => {
      const directory = agentDirectory(configOf(args, ...CONFIG));
      if (!directory.isAgent(grant.role)) return;
      judgeMembership(directory, grant.role, grant.grantRole, report);
      if (grant.withAdminOption === true)
        report(`agent role ${grant.role} gets ${grant.grantRole} WITH ADMIN OPTION: it could grant that role to any other role`);
    }),
  ],
};
