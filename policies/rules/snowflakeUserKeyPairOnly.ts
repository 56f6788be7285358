/**
 * `snowflake-user-key-pair-only`: an agent's Snowflake user (a `ServiceUser`, or a `User`) has a
 * network policy and no password: it logs in with its key pair from the MCP service's addresses only.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { ServiceUser } from "@pulumi/snowflake/serviceUser.js";
import { User } from "@pulumi/snowflake/user.js";
import { snowflakeLoginProblems, type SnowflakeUserInputs } from "../../components/snowflake/rules.ts";
import { agentDirectory } from "../lib/agents.ts";
import { configOf, configSchema } from "../lib/config.ts";

const CONFIG = ["agentRolePattern", "workflows", "platformRoles"] as const;

export const snowflakeUserKeyPairOnly: ResourceValidationPolicy = {
  name: "snowflake-user-key-pair-only",
  description: "An agent's Snowflake user logs in with a key pair only, from the MCP service's egress addresses only (a network policy).",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Use a ServiceUser (TYPE = SERVICE: no password) with rsaPublicKey, and set networkPolicy to a " +
    "policy allowing only the MCP service's egress addresses (the target's network.allowedCidrs).",
  validateResource: [ServiceUser, User].map((type) =>
    validateResourceOfType(type, (user, args, report) => {
      if (!agentDirectory(configOf(args, ...CONFIG)).isAgent(String(user.name).toLowerCase())) return;
      for (const problem of snowflakeLoginProblems(user as SnowflakeUserInputs)) report(`agent user ${user.name} ${problem}`);
    }),
  ),
};
