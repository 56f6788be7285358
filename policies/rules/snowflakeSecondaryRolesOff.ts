/**
 * `snowflake-secondary-roles-off`: an agent's Snowflake user has `defaultSecondaryRolesOption:
 * NONE`, so its sessions hold its workflow's role only, never every role granted to it.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { ServiceUser } from "@pulumi/snowflake/serviceUser.js";
import { User } from "@pulumi/snowflake/user.js";
import { secondaryRolesOff, type SnowflakeUserInputs } from "../../components/snowflake/rules.ts";
import { agentDirectory } from "../lib/agents.ts";
import { configOf, configSchema } from "../lib/config.ts";

const CONFIG = ["agentRolePattern", "workflows", "platformRoles"] as const;

export const snowflakeSecondaryRolesOff: ResourceValidationPolicy = {
  name: "snowflake-secondary-roles-off",
  description: "An agent's Snowflake sessions hold its workflow's role only: secondary roles (every other role granted to the user) are off.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: configSchema(...CONFIG),
  remediationSteps: 'Set defaultSecondaryRolesOption: "NONE" on the agent\'s user (ALTER USER ... SET DEFAULT_SECONDARY_ROLES = ()).',
  validateResource: [ServiceUser, User].map((type) =>
    validateResourceOfType(type, (user, args, report) => {
      if (!agentDirectory(configOf(args, ...CONFIG)).isAgent(String(user.name).toLowerCase())) return;
      if (!secondaryRolesOff(user as SnowflakeUserInputs)) {
        report(
          `agent user ${user.name} has secondary roles ${JSON.stringify(user.defaultSecondaryRolesOption ?? "DEFAULT")}: ` +
            `its sessions would hold every role granted to it`,
        );
      }
    }),
  ),
};
