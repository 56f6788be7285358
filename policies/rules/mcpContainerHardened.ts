/**
 * `mcp-container-hardened`: every container of an ECS task definition (the MCP server is the only
 * task dbwarden runs) runs as a non-root user, on a read-only root filesystem, unprivileged and
 * without added Linux capabilities. A compromised server process then cannot change its own code,
 * plant files for later, or reach the host.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { TaskDefinition } from "@pulumi/aws/ecs/taskDefinition.js";
import { containersOf } from "../lib/inputs.ts";

/** Does an ECS `user` ("name", "uid", "uid:gid", "name:group") run as root? Absent = the image's default, often root. */
export function runsAsRoot(user: string | undefined): boolean {
  if (user === undefined || user.trim() === "") return true;
  const who = user.split(":")[0]!.trim();
  return who === "root" || who === "0";
}

export const mcpContainerHardened: ResourceValidationPolicy = {
  name: "mcp-container-hardened",
  description:
    "The MCP server's container runs as a non-root user on a read-only root filesystem, unprivileged: the " +
    "process holding database credentials is the one an attacker (or a prompt-injected agent) aims at.",
  enforcementLevel: "mandatory",
  severity: "high",
  remediationSteps:
    'In each container definition set `user` to a non-root uid:gid (dbwarden uses "10001:10001"), `readonlyRootFilesystem: ' +
    "true` (mount a volume at /tmp for scratch space), leave `privileged` unset and add no Linux capabilities (drop ALL).",
  validateResource: validateResourceOfType(TaskDefinition, (task, _args, report) => {
    const containers = containersOf(task.containerDefinitions);
    if (!containers) {
      report("containerDefinitions is not a JSON list of containers");
      return;
    }
    for (const container of containers) {
      const name = `container ${container.name ?? "(unnamed)"}`;
      if (runsAsRoot(container.user)) report(`${name} runs as ${container.user ? `"${container.user}"` : "the image's default user (no `user`)"}: root`);
      if (container.readonlyRootFilesystem !== true) report(`${name} has a writable root filesystem (readonlyRootFilesystem is not true)`);
      if (container.privileged === true) report(`${name} is privileged: it has every capability of the host`);
      const added = container.linuxParameters?.capabilities?.add ?? [];
      if (added.length > 0) report(`${name} adds Linux capabilities ${added.join(", ")}`);
    }
  }),
};
