/**
 * `mcp-secrets-by-reference`: no secret value sits in an ECS task definition (which anyone with
 * `ecs:DescribeTaskDefinition` reads, and which Pulumi keeps in state). Secrets are referenced:
 * `secrets[].valueFrom` (injected at start), or secret ARNs / IAM authentication in the MCP
 * server's runtime config (read at connect time, so a rotation needs no redeploy).
 * - no plain `environment` variable named like a secret (password, secret, token, key, credential);
 * - no database login with an inline `password` in `DBWARDEN_RUNTIME`.
 * Messages name variables and logins, never values.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { TaskDefinition } from "@pulumi/aws/ecs/taskDefinition.js";
import { RUNTIME_ENV } from "@dbwarden/contract";
import { containersOf, environmentValue, isRecord, parseJsonInput } from "../lib/inputs.ts";

/** Environment variable names that hold secrets by convention. */
export const SECRET_NAME = /pass(word)?|secret|token|api_?key|private_?key|credential/i;

export const mcpSecretsByReference: ResourceValidationPolicy = {
  name: "mcp-secrets-by-reference",
  description:
    "No secret value is written into the MCP service's task definition: task definitions are readable by anyone " +
    "who can describe them and are kept in Pulumi state; secrets are referenced and fetched by the running task.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Move the value to AWS Secrets Manager and reference it: `secrets: [{name, valueFrom: " +
    "<secret ARN>}]` in the container definition, or, for database logins, `awsSecretArn` " +
    "/ `awsRdsIam` in the runtime config (what dbwarden's McpService writes). Then " +
    "rotate the exposed secret: it is in the old task definition revisions and in state.",
  validateResource: validateResourceOfType(TaskDefinition, (task, _args, report) => {
    for (const container of containersOf(task.containerDefinitions) ?? []) {
      const name = `container ${container.name ?? "(unnamed)"}`;
      for (const variable of container.environment ?? []) {
        if (variable.name !== RUNTIME_ENV.text && SECRET_NAME.test(variable.name) && variable.value) {
          report(`${name} sets ${variable.name} in plain environment: a secret written into the task definition`);
        }
      }
      const runtime = parseJsonInput(environmentValue(container, RUNTIME_ENV.text));
      if (!isRecord(runtime) || !isRecord(runtime.logins)) continue;
      for (const [login, source] of Object.entries(runtime.logins)) {
        if (isRecord(source) && "password" in source) report(`${name}: ${RUNTIME_ENV.text} holds the password of login ${login} inline`);
      }
    }
  }),
};
