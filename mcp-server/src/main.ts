#!/usr/bin/env node
/**
 * dbwarden-mcp: the server's command line.
 *
 *   dbwarden-mcp --plan plan.json --runtime runtime.json [--transport http|stdio] [--client <name>]
 *
 * Plan: --plan <file>, or one of DBWARDEN_PLAN (JSON text), DBWARDEN_PLAN_FILE, DBWARDEN_PLAN_S3
 * (s3://bucket/key), checked against DBWARDEN_PLAN_SHA256 when given (plansource.ts).
 * Runtime config: --runtime <file>, or one of DBWARDEN_RUNTIME (JSON text), DBWARDEN_RUNTIME_FILE,
 * DBWARDEN_RUNTIME_S3, checked against DBWARDEN_RUNTIME_SHA256 when given (plansource.ts).
 * stdio serves exactly one api-key client, named by the operator with --client.
 * SIGHUP re-reads the runtime file (API key revocation, rotated passwords) without a restart, and
 * the plan file when the plan came from one: a changed plan is served in place (calls in flight
 * finish on the previous plan; see RunningServer.replacePlan).
 * Exit codes: 0 stopped, 1 bad configuration or startup failure.
 */
import { parseArgs } from "node:util";
import { ConfigError, startServer, startStdioServer } from "./index.js";
import { loadPlan, loadRuntime } from "./plansource.js";

const USAGE = "usage: dbwarden-mcp --plan <file> --runtime <file> [--transport http|stdio] [--client <name>]";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      plan: { type: "string" },
      runtime: { type: "string" },
      transport: { type: "string", default: "http" },
      client: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const plan = await loadPlan(values.plan);
  const runtime = await loadRuntime(values.runtime);
  if (values.transport === "stdio") {
    if (!values.client) throw new ConfigError(`--client <name> is required with --transport stdio (stdio has no bearer token)\n${USAGE}`);
    const server = await startStdioServer({
      plan: plan.value,
      runtime: runtime.value,
      client: values.client,
      ...(runtime.file ? { runtimeFile: runtime.file } : {}),
    });
    process.once("SIGTERM", () => void server.close());
    process.once("SIGINT", () => void server.close());
    await server.closed;
    return;
  }
  if (values.transport !== "http") throw new ConfigError(`--transport: expected http or stdio, got ${JSON.stringify(values.transport)}`);
  if (values.client) throw new ConfigError("--client is only for --transport stdio; over HTTP the bearer token names the client");
  const server = await startServer({ plan: plan.value, runtime: runtime.value, ...(runtime.file ? { runtimeFile: runtime.file } : {}) });
  process.stderr.write(`dbwarden-mcp listening on ${server.url}\n`);
  let served = JSON.stringify(plan.value);
  /** The plan again, when it came from a file and changed: served in place; then the runtime config. */
  const reload = async (): Promise<string> => {
    if (plan.file) {
      const next = await loadPlan(values.plan);
      const text = JSON.stringify(next.value);
      if (text !== served) {
        const nextRuntime = runtime.file ? (await loadRuntime(values.runtime)).value : runtime.value;
        await server.replacePlan(next.value, nextRuntime);
        served = text;
        await server.reload();
        return "plan and runtime config reloaded (the new plan is served in place)";
      }
    }
    await server.reload();
    return "runtime config reloaded";
  };
  let reloading = Promise.resolve();
  process.on("SIGHUP", () => {
    reloading = reloading.then(() =>
      reload().then(
        (what) => void process.stderr.write(`dbwarden-mcp: ${what}\n`),
        (error: unknown) =>
          void process.stderr.write(`dbwarden-mcp: reload failed, keeping the previous config: ${error instanceof Error ? error.message : "error"}\n`),
      ),
    );
  });
  await new Promise<void>((resolve) => {
    const stop = () => void server.close().then(resolve);
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const message =
      error instanceof ConfigError || (error instanceof Error && error.name === "TypeError" && "code" in error)
        ? error.message
        : `startup failed: ${error instanceof Error ? error.message : "unknown error"}`;
    process.stderr.write(`dbwarden-mcp: ${message}\n`);
    process.exit(1);
  },
);
