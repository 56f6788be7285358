/**
 * An in-process CloudWatch Logs for `dbwarden audit` tests, answering FilterLogEvents as the service
 * does for what dbwarden asks: events of a log group within [startTime, endTime] (both inclusive),
 * in time order across its streams, in pages of at most `pageSize` events (the service's default
 * limit is 10,000), a first page that may come back empty with a `nextToken` (the service does
 * that while it searches: callers must follow the token, not stop at an empty page), tokens valid
 * only for the query that issued them, a filter pattern of one quoted term matching events that
 * hold it. An unknown log group fails like ResourceNotFoundException; a pattern this fake does not
 * implement is refused, so dbwarden cannot come to rely on one untested.
 */
import type { FilterLogEventsInput, FilteredLogEvent, LogEventsClient } from "../../../src/audit/cloudwatch.ts";

const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

export class FakeCloudWatchLogs implements LogEventsClient {
  private readonly groups = new Map<string, FilteredLogEvent[]>();
  /** Every request, for assertions. */
  readonly requests: FilterLogEventsInput[] = [];
  private readonly tokens = new Map<string, { query: string; offset: number }>();
  private nextEventId = 1;

  constructor(
    private readonly pageSize = 10_000,
    /** Answer the first page of each query empty, with a token (as the service may). */
    private readonly emptyFirstPage = true,
  ) {}

  createLogGroup(name: string): void {
    if (!this.groups.has(name)) this.groups.set(name, []);
  }

  /** PutLogEvents: one event per message, on `stream`, at `timestamp` (ms). */
  put(group: string, stream: string, events: Array<{ timestamp: number; message: string }>): void {
    const existing = this.groups.get(group);
    if (!existing) throw awsError("ResourceNotFoundException", "The specified log group does not exist.");
    for (const e of events) existing.push({ ...e, logStreamName: stream, eventId: String(this.nextEventId++).padStart(56, "0") });
    existing.sort((a, b) => a.timestamp - b.timestamp);
  }

  async filterLogEvents(input: FilterLogEventsInput): Promise<{ events: FilteredLogEvent[]; nextToken?: string }> {
    this.requests.push({ ...input });
    const events = this.groups.get(input.logGroupName);
    if (!events) throw awsError("ResourceNotFoundException", "The specified log group does not exist.");
    const term = this.term(input.filterPattern);
    const query = JSON.stringify({ ...input, nextToken: undefined });
    let offset = 0;
    if (input.nextToken !== undefined) {
      const token = this.tokens.get(input.nextToken);
      if (!token || token.query !== query) throw awsError("InvalidParameterException", "The specified nextToken is invalid.");
      this.tokens.delete(input.nextToken);
      offset = token.offset;
    } else if (this.emptyFirstPage) {
      return { events: [], nextToken: this.token(query, 0) };
    }
    const matching = events.filter(
      (e) =>
        (input.startTime === undefined || e.timestamp >= input.startTime) &&
        (input.endTime === undefined || e.timestamp <= input.endTime) &&
        (term === null || e.message.includes(term)),
    );
    const page = matching.slice(offset, offset + this.pageSize);
    const next = offset + page.length;
    return next < matching.length ? { events: page, nextToken: this.token(query, next) } : { events: page };
  }

  private token(query: string, offset: number): string {
    const token = `tok-${this.tokens.size}-${offset}-${Math.random().toString(36).slice(2)}`;
    this.tokens.set(token, { query, offset });
    return token;
  }

  private term(pattern: string | undefined): string | null {
    if (pattern === undefined || pattern === "") return null;
    const m = /^"([^"]+)"$/.exec(pattern);
    if (!m) throw awsError("InvalidParameterException", `this fake implements only a quoted term as filterPattern, got ${pattern}`);
    return m[1]!;
  }
}
