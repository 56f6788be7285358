/**
 * The image a Cloud Run host runs: the MCP server, and the jobs its targets deploy from the same
 * image (the Cloud SQL rotator, the Snowflake key-rotation job).
 */
import type { AccessPlan } from "../../src/plan/types.ts";

/** The image the MCP server (and its targets' jobs) run: the plan's URI (Cloud Run pulls from Artifact Registry). */
export function mcpImageUri(plan: AccessPlan): string {
  const image = plan.mcpServer.image;
  if (!image || image.source !== "registry")
    throw new Error("mcpServer.image: Cloud Run runs an image from Artifact Registry; give its URI (build: true is for ECS)");
  return image.uri;
}
