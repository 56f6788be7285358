/**
 * `query-logging`: every query agents run is logged where nobody on the agents' side can remove it.
 * - In the database: each RDS instance agents read (a replica, or an instance tagged
 *   `dbwarden:target`) exports its `postgresql` log to CloudWatch, and its parameter group (in
 *   this stack) logs statements: `log_statement = all`, or pgaudit loaded with `pgaudit.log`
 *   covering reads.
 * - In the MCP layer: every container of an ECS task definition ships its output (the server's
 *   audit lines: who, which client, what SQL, outcome) through a `logConfiguration`.
 */
import type { PolicyResource, ReportViolation, StackValidationPolicy } from "@pulumi/policy";
import { TaskDefinition } from "@pulumi/aws/ecs/taskDefinition.js";
import { Instance } from "@pulumi/aws/rds/instance.js";
import { ParameterGroup } from "@pulumi/aws/rds/parameterGroup.js";
import { TARGET_TAG } from "../../src/tags.ts";
import { containersOf, tagsOf } from "../lib/inputs.ts";

/** Does a parameter group's `parameters` list log every statement an agent runs? */
export function logsStatements(parameters: readonly { name: string; value: string }[]): boolean {
  const value = (name: string) => parameters.find((p) => p.name === name)?.value?.toLowerCase();
  if (value("log_statement") === "all") return true;
  const preloaded = (value("shared_preload_libraries") ?? "").split(",").map((s) => s.trim());
  const audited = (value("pgaudit.log") ?? "").split(",").map((s) => s.trim().replace(/^\+/, ""));
  return preloaded.includes("pgaudit") && (audited.includes("read") || audited.includes("all"));
}

/** The parameter group an instance uses, when it is in this stack: by dependency, or by name. */
function parameterGroupOf(instance: PolicyResource, groups: PolicyResource[]): PolicyResource | undefined {
  const dependencies = new Set((instance.propertyDependencies.parameterGroupName ?? []).map((r) => r.urn));
  return (
    groups.find((g) => dependencies.has(g.urn)) ?? groups.find((g) => typeof g.props.name === "string" && g.props.name === instance.props.parameterGroupName)
  );
}

function judgeInstance(instance: PolicyResource, groups: PolicyResource[], report: ReportViolation): void {
  const props = instance.props;
  const label = `instance ${typeof props.identifier === "string" ? props.identifier : instance.name}`;
  if (!((props.enabledCloudwatchLogsExports as string[] | undefined) ?? []).includes("postgresql")) {
    report(`${label} does not export its postgresql log (enabledCloudwatchLogsExports): statement logs stay on the instance and rotate away`, instance.urn);
  }
  if (props.parameterGroupName === undefined) {
    report(`${label} uses the default parameter group, which logs no statements`, instance.urn);
    return;
  }
  const group = parameterGroupOf(instance, groups);
  if (!group)
    report(
      `${label} uses parameter group ${String(props.parameterGroupName)}, which is not in this stack: nothing shows that it logs statements`,
      instance.urn,
    );
  else if (!logsStatements((group.props.parameters as { name: string; value: string }[] | undefined) ?? [])) {
    report(`${label}: its parameter group ${group.name} logs no statements (log_statement = all, or pgaudit with pgaudit.log covering read)`, instance.urn);
  }
}

export const queryLogging: StackValidationPolicy = {
  name: "query-logging",
  description:
    "Every agent query is logged, in the database and in the MCP server's audit stream, outside the " +
    "agents' reach: the record of what an agent read is what incident response and access reviews rely on.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    "Set `logging.statements` (pgaudit or log-statement) on the target in the spec: " +
    "dbwarden gives the replica its own parameter group with statement logging and exports " +
    "`postgresql` logs to a log group it creates first. For a hand-written instance, do " +
    "the same; for an ECS task, add a `logConfiguration` (awslogs) to every container.",
  validateStack: (args, report) => {
    const groups = args.resources.filter((r) => r.isType(ParameterGroup));
    for (const resource of args.resources) {
      if (resource.isType(Instance) && ("replicateSourceDb" in resource.props || TARGET_TAG in tagsOf(resource.props))) judgeInstance(resource, groups, report);
      if (!resource.isType(TaskDefinition)) continue;
      for (const container of containersOf(resource.props.containerDefinitions) ?? []) {
        if (!container.logConfiguration?.logDriver)
          report(
            `container ${container.name ?? "(unnamed)"} has no logConfiguration: the MCP server's audit lines (who ran which query) are lost`,
            resource.urn,
          );
      }
    }
  },
};
