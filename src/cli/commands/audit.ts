import { existsSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import type { Command } from "commander";
import type { LogEventsClient } from "../../audit/cloudwatch.ts";
import type { TrailSources } from "../../audit/report.ts";
import type { LogSource } from "../../audit/sources.ts";
import type { LoadedTrails, TimeWindow } from "../../audit/trails.ts";
import { localPaths } from "../../local/paths.ts";
import { planStack } from "../../plan/index.ts";
import type { AccessPlan } from "../../plan/types.ts";
import { projectRoot } from "../../spec/project.ts";
import { CliError, EXIT } from "../errors.ts";
import type { CliIO } from "../io.ts";

/** How the command reaches CloudWatch Logs in a region (tests give a fake). */
export type LogsClientFactory = (region: string) => LogEventsClient;

/** The real client; the SDK itself loads on the first call. */
const defaultLogsClient: LogsClientFactory = (region) => {
  const client = import("../../audit/cloudwatch.ts").then((m) => m.awsLogsClient({ region }));
  return { filterLogEvents: async (input) => (await client).filterLogEvents(input) };
};

export function register(program: Command, io: CliIO): void {
  registerAudit(program, io, defaultLogsClient);
}

interface Options {
  stack: string;
  request?: string;
  reconcile?: boolean;
  mcpLog?: string;
  dbLog?: string[];
  since?: string;
  until?: string;
  json?: boolean;
}

const HELP = `
Joins the MCP server's audit trail (one line per call) with the database's own log (pgaudit, or
log_statement): every statement the server runs carries /* dbwarden request=<id> ... */.
  --request <id>   one request's whole story: its MCP line and every database line of it
  --reconcile      every statement an agent login ran, against the MCP trail: a statement no MCP line
                   accounts for means the login's credentials were used outside the server
Sources: --mcp-log and --db-log files (the database log as jsonlog, or with RDS's log_line_prefix
'%t:%r:%u@%d:[%p]:'); for a stack whose MCP server runs on AWS, by default its CloudWatch log groups
(the MCP audit group and each target's RDS postgresql log). Locally --mcp-log defaults to the
stack's audit file, .dbwarden/<stack>/audit.log. See docs/audit.md.
Exit codes: 0 ok, 5 credentials used outside the server (--reconcile), 1 unreadable input or a
request in neither trail, 2 usage error.`;

export function registerAudit(program: Command, io: CliIO, logsClientFor: LogsClientFactory): void {
  program
    .command("audit")
    .description("Join the MCP audit trail and the database log by request id: one request's story, or --reconcile the two.")
    .option("-s, --stack <env>", "stack (environment): <spec folder>/environments/<env>.yaml", "local")
    .option("--request <id>", "show one request's whole story")
    .option("--reconcile", "report statements by agent logins that no MCP audit line accounts for (exit 5)")
    .option("--mcp-log <file>", "the MCP server's audit file (default: the local stack's, or CloudWatch on AWS)")
    .option("--db-log <file...>", "the database log(s): jsonlog or RDS's stderr format (default on AWS: CloudWatch)")
    .option("--since <time>", "only what happened from this time (ISO 8601)")
    .option("--until <time>", "only what happened until this time (ISO 8601)")
    .option("--json", "print the result as JSON")
    .addHelpText("after", HELP)
    .action(async (options: Options) => {
      if (Boolean(options.request) === Boolean(options.reconcile)) throw new CliError("give exactly one of --request <id> and --reconcile", EXIT.usage);
      // Loaded when the command runs: they are no other command's start-up cost.
      const [{ agentLogins, reconcileTrails, requestStory }, report, { loadTrails, requestWindow }] = await Promise.all([
        import("../../audit/join.ts"),
        import("../../audit/report.ts"),
        import("../../audit/trails.ts"),
      ]);
      const window = timeWindow(options);
      const root = projectRoot(io.cwd);
      // Planned as of the earliest time looked at: a workflow that expired since still has its logins known.
      const plan = planStack(options.stack, { root, now: window.since ?? io.now() });
      const sources = await trailSources(plan, options, io, root, logsClientFor, window);
      const shown: TrailSources = { mcp: sources.mcp.name, database: sources.databases.map((d) => d.name) };
      const trails = await readTrails(async () => {
        const found = await loadTrails(sources, window);
        // A request's database lines found by its id in CloudWatch: the logs around them, read whole.
        const around = options.request && sources.databasesIn ? requestWindow(options.request, found) : null;
        if (!around || !sources.databasesIn) return found;
        const whole = await loadTrails({ mcp: NO_LINES, databases: sources.databasesIn(around) });
        return { ...found, statements: whole.statements, span: whole.span };
      });
      if (options.request) {
        const story = requestStory(options.request, trails.calls, trails.statements);
        if (!story.call && story.statements.length === 0)
          throw new CliError(`request ${options.request} is in neither trail (${shown.mcp}; ${shown.database.join(", ")})`);
        io.out(options.json ? `${JSON.stringify(report.storyJson(story, shown), null, 2)}\n` : report.formatStory(story, shown));
        return;
      }
      const reconciliation = reconcileTrails({ calls: trails.calls, statements: trails.statements, logins: agentLogins(plan), logSpan: trails.span });
      io.out(
        options.json ? `${JSON.stringify(report.reconciliationJson(reconciliation, shown), null, 2)}\n` : report.formatReconciliation(reconciliation, shown),
      );
      if (reconciliation.outsideServer.length > 0) throw new CliError("", EXIT.outsideServer);
    });
}

/** A source with nothing in it. */
const NO_LINES: LogSource = { name: "none", lines: async function* () {} };

/** Read the trails; a source that cannot be read is invalid input, named with the service's error. */
async function readTrails(read: () => Promise<LoadedTrails>): Promise<LoadedTrails> {
  try {
    return await read();
  } catch (error) {
    const e = error as Error;
    throw new CliError(`cannot read the audit trails: ${e.name !== "Error" ? `${e.name}: ` : ""}${e.message}`);
  }
}

function timeWindow(options: Options): TimeWindow {
  const parse = (value: string | undefined, flag: string) => {
    if (value === undefined) return undefined;
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) throw new CliError(`${flag} must be a time such as 2026-12-07T13:00:00Z, got "${value}"`, EXIT.usage);
    return date;
  };
  const since = parse(options.since, "--since");
  const until = parse(options.until, "--until");
  return { ...(since ? { since } : {}), ...(until ? { until } : {}) };
}

/** Files where given; otherwise the stack's own places: CloudWatch for a server on AWS, the local stack's audit file. */
interface Sources {
  mcp: LogSource;
  databases: LogSource[];
  /** CloudWatch's database logs within another time window (for a request's story). */
  databasesIn?: (window: TimeWindow) => LogSource[];
}

async function trailSources(
  plan: AccessPlan,
  options: Options,
  io: CliIO,
  root: string,
  logsClientFor: LogsClientFactory,
  window: TimeWindow,
): Promise<Sources> {
  const { FileLogSource } = await import("../../audit/sources.ts");
  const file = (path: string): LogSource => {
    const absolute = isAbsolute(path) ? path : join(io.cwd, path);
    return new FileLogSource(absolute, isAbsolute(path) ? path : relative(io.cwd, absolute) || path);
  };
  const host = plan.mcpServer.host;
  if (host.platform === "aws-ecs" && (!options.mcpLog || !options.dbLog)) {
    // Loaded only when a stack on AWS is audited (the log group names come with the AWS components).
    const { CloudWatchLogSource, awsLogGroups } = await import("../../audit/cloudwatch.ts");
    const client = logsClientFor(host.region);
    const groups = awsLogGroups(plan);
    const read = { ...window, ...(options.request ? { holding: options.request } : {}) };
    const databasesIn = (within: TimeWindow) => groups.databases.map((d) => new CloudWatchLogSource(client, d.logGroup, within));
    return {
      mcp: options.mcpLog ? file(options.mcpLog) : new CloudWatchLogSource(client, groups.mcp, read),
      databases: options.dbLog ? options.dbLog.map(file) : databasesIn(read),
      ...(options.dbLog ? {} : { databasesIn }),
    };
  }
  if (!options.dbLog) {
    throw new CliError(
      `--db-log <file> is required for stack ${plan.environment} (its MCP server runs on ${host.platform}): ` +
        `the target's PostgreSQL log, as jsonlog or with log_line_prefix '%t:%r:%u@%d:[%p]:'`,
      EXIT.usage,
    );
  }
  const localAudit = localPaths(root, options.stack).auditFile;
  if (!options.mcpLog && !existsSync(localAudit)) {
    throw new CliError(`--mcp-log <file> is required: the local stack's audit file ${relative(io.cwd, localAudit)} does not exist`, EXIT.usage);
  }
  return { mcp: options.mcpLog ? file(options.mcpLog) : new FileLogSource(localAudit, relative(io.cwd, localAudit)), databases: options.dbLog.map(file) };
}
