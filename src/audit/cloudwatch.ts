/**
 * The two trails on AWS, in CloudWatch Logs: the MCP server's audit lines (its container's stdout,
 * shipped by awslogs to `/dbwarden/<env>/mcp-audit`) and each replica's PostgreSQL log with the
 * pgaudit lines (`/aws/rds/instance/<id>/postgresql`, RDS's log export). Read through one call,
 * FilterLogEvents, behind a small interface: the real client (AWS SDK v3, `awsLogsClient`) and, in
 * tests, an in-process fake that pages and filters as CloudWatch does.
 */
import type { CloudWatchLogsClientConfig } from "@aws-sdk/client-cloudwatch-logs";
import { workflowsOf, type AccessPlan } from "@dbwarden/contract";
import { mcpAuditLogGroupName, rdsLogGroupName, replicaIdentifier } from "../names/aws.ts";
import type { LogSource, SourceLine } from "./sources.ts";

/** FilterLogEvents' input, as far as `dbwarden audit` uses it. */
export interface FilterLogEventsInput {
  logGroupName: string;
  /** Milliseconds since the epoch; events before it are not returned. */
  startTime?: number;
  /** Milliseconds since the epoch; events after it are not returned. */
  endTime?: number;
  /** CloudWatch's filter pattern syntax; `"term"` matches events holding the term. */
  filterPattern?: string;
  nextToken?: string;
}

export interface FilteredLogEvent {
  timestamp: number;
  message: string;
  logStreamName: string;
  eventId: string;
}

/** What `dbwarden audit` asks of CloudWatch Logs. */
export interface LogEventsClient {
  /** One page of events (a page may be empty while more follow: go on while there is a `nextToken`). */
  filterLogEvents(input: FilterLogEventsInput): Promise<{ events: FilteredLogEvent[]; nextToken?: string }>;
}

/**
 * The real client, AWS SDK v3, loaded on first use. `config` reaches the SDK as is (region,
 * credentials; tests pass a request handler that answers without a network).
 */
export function awsLogsClient(config: CloudWatchLogsClientConfig): LogEventsClient {
  const sdk = import("@aws-sdk/client-cloudwatch-logs");
  const client = sdk.then((m) => new m.CloudWatchLogsClient(config));
  return {
    async filterLogEvents(input) {
      const m = await sdk;
      const out = await (await client).send(new m.FilterLogEventsCommand({ ...input }));
      const events = (out.events ?? []).map((e) => ({
        timestamp: e.timestamp ?? 0,
        message: e.message ?? "",
        logStreamName: e.logStreamName ?? "",
        eventId: e.eventId ?? "",
      }));
      return out.nextToken ? { events, nextToken: out.nextToken } : { events };
    },
  };
}

/** The time window and optional filter of a read. */
export interface LogWindow {
  since?: Date;
  until?: Date;
  /** Only events holding this exact text (a request id). */
  holding?: string;
}

/** A CloudWatch log group as a `LogSource`: every page of FilterLogEvents, each event's lines in order. */
export class CloudWatchLogSource implements LogSource {
  readonly name: string;

  constructor(
    private readonly client: LogEventsClient,
    private readonly logGroupName: string,
    private readonly window: LogWindow = {},
  ) {
    this.name = `cloudwatch:${logGroupName}`;
  }

  async *lines(): AsyncIterable<SourceLine> {
    const base: FilterLogEventsInput = {
      logGroupName: this.logGroupName,
      ...(this.window.since ? { startTime: this.window.since.getTime() } : {}),
      ...(this.window.until ? { endTime: this.window.until.getTime() } : {}),
      // A quoted term matches it literally; request ids hold no quote.
      ...(this.window.holding ? { filterPattern: `"${this.window.holding}"` } : {}),
    };
    let nextToken: string | undefined;
    do {
      const page = await this.client.filterLogEvents(nextToken ? { ...base, nextToken } : base);
      for (const event of page.events) {
        const where = `${this.name} stream ${event.logStreamName} event ${event.eventId}`;
        for (const text of event.message.replace(/\n$/, "").split("\n")) yield { text, where };
      }
      nextToken = page.nextToken;
    } while (nextToken);
  }
}

/** The log groups of a stack on AWS: the MCP audit trail's, and the database log's of each PostgreSQL target. */
export interface AwsLogGroups {
  mcp: string;
  databases: Array<{ target: string; logGroup: string }>;
}

/**
 * Where a deployed stack's trails are: the MCP audit group the stack creates, and per target the
 * log group RDS exports its agents' instance to (the replica the stack creates or names, else the
 * primary the agents read).
 */
export function awsLogGroups(plan: AccessPlan): AwsLogGroups {
  const databases = plan.targets
    .filter((t) => t.platformSettings.platform === "aws-rds" && workflowsOf(plan, t.name).length > 0)
    .map((t) => {
      const settings = t.platformSettings as Extract<typeof t.platformSettings, { platform: "aws-rds" }>;
      const instance =
        t.replica.mode === "create"
          ? replicaIdentifier(plan.environment, t.name)
          : t.replica.mode === "existing"
            ? t.replica.identifier
            : settings.primaryIdentifier;
      return { target: t.name, logGroup: rdsLogGroupName(instance) };
    });
  return { mcp: mcpAuditLogGroupName(plan.environment), databases };
}
