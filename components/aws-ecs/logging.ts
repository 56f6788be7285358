/**
 * `dbwarden:aws:QueryLogging`: CloudWatch log groups created BEFORE anything writes to them, so
 * they carry the plan's retention (a group RDS or ECS creates on its own never expires).
 * - each target's database log, named by its platform (RDS: the replica's `postgresql` log export,
 *   pgaudit / log_statement lines, `/aws/rds/instance/<id>/postgresql`, components/aws-rds);
 * - the MCP server's audit stream (who, which client, what SQL, outcome): its own group.
 * Both are kept when the stack is deleted (`retainOnDelete`): the record of what agents read must
 * outlive the access; CloudWatch deletes the events after their retention. A later stack of the
 * same environment must then import them (`pulumi import`) or they are deleted first.
 */
import * as pulumi from "@pulumi/pulumi";
import { LogGroup } from "@pulumi/aws/cloudwatch/logGroup.js";
import { mcpAuditLogGroupName } from "../../src/names/aws.ts";
import { ENVIRONMENT_TAG, TARGET_TAG, resourceTags } from "../aws/tags.ts";

export { mcpAuditLogGroupName };

/** Retention values CloudWatch Logs accepts. */
export const CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/**
 * The CloudWatch retention for a planned one: the same value, or the next longer one CloudWatch
 * accepts (keeping logs longer than asked, never shorter). Throws beyond 10 years.
 */
export function cloudWatchRetentionDays(days: number, field: string): number {
  if (!Number.isInteger(days) || days < 1) throw new Error(`${field}: retention must be a positive number of days, got ${days}`);
  const accepted = CLOUDWATCH_RETENTION_DAYS.find((d) => d >= days);
  if (accepted === undefined) throw new Error(`${field}: ${days} days is longer than CloudWatch's longest retention (3653 days)`);
  return accepted;
}

export interface QueryLoggingArgs {
  /** Environment name (names the MCP audit group). */
  environment: string;
  /** Retention of the MCP audit stream, days (plan `mcpServer.auditRetentionDays`). */
  auditRetentionDays: number;
  /** The targets' database logs this stack exports (each target's platform names them), with the plan's retention. */
  databases: {
    /** Target name (names the resource and tags it). */
    target: string;
    /** The log's name (the resource is `<name>-<target>-<log>`), e.g. `postgresql`. */
    log: string;
    /** The log group the database writes to, e.g. `/aws/rds/instance/<id>/postgresql`. */
    logGroupName: string;
    /** Retention, days (plan `targets.<name>.logging.retentionDays`). */
    retentionDays: number;
  }[];
  /** The environment's shared tags (`sharedTags`), on each taggable resource under its own; GovernedAccess gives them. */
  tags?: Record<string, string>;
}

export class QueryLogging extends pulumi.ComponentResource {
  /** The MCP audit log group. */
  public readonly auditLogGroup: LogGroup;
  /** Each target's database log group, by target. */
  public readonly databaseLogGroups: Record<string, LogGroup>;

  constructor(name: string, args: QueryLoggingArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:aws:QueryLogging", name, {}, opts);
    if (!args.environment) throw new Error(`${name}: environment is required`);
    const auditDays = cloudWatchRetentionDays(args.auditRetentionDays, `${name}: auditRetentionDays (mcpServer.auditRetentionDays)`);

    this.auditLogGroup = new LogGroup(
      `${name}-mcp-audit`,
      { name: mcpAuditLogGroupName(args.environment), retentionInDays: auditDays, tags: resourceTags(args.tags, { [ENVIRONMENT_TAG]: args.environment }) },
      { parent: this, retainOnDelete: true },
    );
    this.databaseLogGroups = {};
    for (const database of args.databases) {
      const days = cloudWatchRetentionDays(
        database.retentionDays,
        `${name}: databases.${database.target}.retentionDays (targets.${database.target}.logging.retentionDays)`,
      );
      this.databaseLogGroups[database.target] = new LogGroup(
        `${name}-${database.target}-${database.log}`,
        {
          name: database.logGroupName,
          retentionInDays: days,
          tags: resourceTags(args.tags, { [ENVIRONMENT_TAG]: args.environment, [TARGET_TAG]: database.target }),
        },
        { parent: this, retainOnDelete: true },
      );
    }
    this.registerOutputs({
      auditLogGroup: this.auditLogGroup.name,
      databaseLogGroups: Object.fromEntries(Object.entries(this.databaseLogGroups).map(([k, v]) => [k, v.name])),
    });
  }
}
