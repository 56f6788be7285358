/**
 * `no-access-for-expired-workflows`: nothing keeps serving a workflow after its `expires` day.
 * - `postgresql` Role, Grant, GrantRole, DefaultPrivileges of a role whose workflow expired
 *   (`workflows[].expires`, from the spec);
 * - any resource tagged with an expired workflow (`dbwarden:workflow`) or a past `dbwarden:expires`;
 * - an MCP task definition whose `DBWARDEN_PLAN` still lists an expired workflow.
 * `dbwarden plan` leaves expired workflows out, so a scheduled deployment removes their access;
 * this rule catches what was written by hand or deployed from a stale plan.
 */
import { EXPIRES_TAG, WORKFLOW_TAG } from "../../src/tags.ts";
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { TaskDefinition } from "@pulumi/aws/ecs/taskDefinition.js";
import { DefaultPrivileges } from "@pulumi/postgresql/defaultPrivileges.js";
import { Grant } from "@pulumi/postgresql/grant.js";
import { GrantRole } from "@pulumi/postgresql/grantRole.js";
import { Role } from "@pulumi/postgresql/role.js";
import { PLAN_ENV } from "@dbwarden/contract";
import { agentDirectory, workflowsByName } from "../lib/agents.ts";
import { asOfDay, configOf, configSchema } from "../lib/config.ts";
import { containersOf, environmentValue, isRecord, parseJsonInput, tagsOf } from "../lib/inputs.ts";

const CONFIG = ["agentRolePattern", "workflows", "platformRoles", "asOf"] as const;

/** The role a postgresql resource gives access to or through, if it is one of those. */
function roleOf(args: ResourceValidationArgs): string | undefined {
  if (args.isType(Role)) return args.props.name;
  if (args.isType(Grant) || args.isType(GrantRole) || args.isType(DefaultPrivileges)) return args.props.role;
  return undefined;
}

function judgeMcpPlan(args: ResourceValidationArgs, today: string, report: ReportViolation): void {
  for (const container of containersOf(args.props.containerDefinitions) ?? []) {
    const plan = parseJsonInput(environmentValue(container, PLAN_ENV.text));
    if (!isRecord(plan) || !Array.isArray(plan.workflows)) continue;
    for (const workflow of plan.workflows as { name?: string; expires?: string | null }[]) {
      if (workflow.expires && workflow.expires < today)
        report(`the MCP server's plan (${PLAN_ENV.text}) still serves workflow ${workflow.name}, expired on ${workflow.expires}`);
    }
  }
}

export const noAccessForExpiredWorkflows: ResourceValidationPolicy = {
  name: "no-access-for-expired-workflows",
  description: "Access ends on the day a workflow expires: a time-boxed grant that outlives its date is standing access nobody re-approved.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Deploy the current plan (`pulumi up`: dbwarden leaves expired workflows out, which removes their roles, grants, secrets and " +
    "MCP entries), or renew the workflow by moving its `expires` date after review. Remove hand-written grants to its roles.",
  validateResource: (args, report) => {
    const config = configOf(args, ...CONFIG);
    const today = asOfDay(config);
    const expired = (name: unknown) => {
      const workflow = typeof name === "string" ? workflowsByName(config.workflows).get(name) : undefined;
      return workflow?.expires && workflow.expires < today ? workflow : undefined;
    };

    const role = roleOf(args);
    if (role !== undefined) {
      const workflow = agentDirectory(config).workflowOf(role);
      if (workflow?.expires && workflow.expires < today)
        report(`${args.type.split(":").pop()} for role ${role} of workflow ${workflow.name}, which expired on ${workflow.expires}`);
    }
    if (args.type.startsWith("aws:")) {
      const tags = tagsOf(args.props);
      const tagged = expired(tags[WORKFLOW_TAG]);
      if (tagged) report(`tagged ${WORKFLOW_TAG}: ${tagged.name}, which expired on ${tagged.expires}`);
      const until = tags[EXPIRES_TAG];
      if (typeof until === "string" && /^\d{4}-\d{2}-\d{2}$/.test(until) && until < today) report(`tagged ${EXPIRES_TAG}: ${until}, a day that has passed`);
    }
    if (args.isType(TaskDefinition)) judgeMcpPlan(args, today, report);
  },
};
