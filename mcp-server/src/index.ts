/**
 * @dbwarden/mcp-server: governed read-only SQL for AI agents over MCP.
 *
 *   const server = await startServer({ plan, runtime });   // plan: the access plan JSON
 *   server.url;  await server.reload();  await server.close();
 */
import { createHash } from "node:crypto";

export interface RunningServer {
  /** e.g. "http://127.0.0.1:7300/mcp" */
  url: string;
  /** Re-read API keys etc. (revocation without restart); no arg = re-read the files it was started from, if any. */
  reload(runtime?: unknown): Promise<void>;
  close(): Promise<void>;
}

/** Lowercase hex sha256 of an API key: the only form in which keys are stored. */
export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

export async function startServer(_options: { plan: unknown; runtime: unknown }): Promise<RunningServer> {
  throw new Error("startServer: not implemented yet");
}
