/**
 * `mcp-image-allowed`: every container of an ECS task definition (the MCP server is the only task
 * dbwarden runs) runs an image from the allow-list: by default dbwarden's released image (any tag
 * or digest of it) and, where the stack builds the image from `mcp-server/`, the stack's own
 * registry. The image is the program that checks every SQL statement, holds the database
 * credentials and writes the audit log: another one can do anything the agents' roles allow.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { validateResourceOfType } from "@pulumi/policy";
import { TaskDefinition } from "@pulumi/aws/ecs/taskDefinition.js";
import { configOf, configSchema } from "../lib/config.ts";
import { imageAllowed } from "../lib/images.ts";
import { containersOf } from "../lib/inputs.ts";

const CONFIG = ["allowedImages"] as const;

export const mcpImageAllowed: ResourceValidationPolicy = {
  name: "mcp-image-allowed",
  description:
    "The MCP server runs an image from the allow-list (dbwarden's released image, or the one the stack builds from " +
    "mcp-server/): that image checks every SQL statement, holds the database credentials and writes the audit log.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Run dbwarden's image: leave `mcpServer.image` out (the released ghcr.io/dbwarden/mcp-server " +
    "of this version), give a tag or digest of ghcr.io/dbwarden/mcp-server, or `{ build: true }`. " +
    "To run your own registry's copy of it, list that repository in policies/config/<stack>.json: " +
    '{ "mcp-image-allowed": { "allowedImages": ["ghcr.io/dbwarden/mcp-server", ' +
    '"123456789012.dkr.ecr.us-east-1.amazonaws.com/mirror/mcp-server"] } } (the list replaces the default; an owner reviews that file like code).',
  validateResource: validateResourceOfType(TaskDefinition, (task, args, report) => {
    const containers = containersOf(task.containerDefinitions);
    if (!containers) {
      report("containerDefinitions is not a JSON list of containers");
      return;
    }
    const { allowedImages } = configOf(args, ...CONFIG);
    for (const container of containers) {
      const image: unknown = container.image;
      if (typeof image === "string" && imageAllowed(image, allowedImages)) continue;
      report(
        `container ${container.name ?? "(unnamed)"} runs image ${typeof image === "string" ? image : "(none)"}, ` +
          `which is not on the allow-list (${allowedImages.join(", ") || "empty"})`,
      );
    }
  }),
};
