/**
 * `dbwarden:gcp:QueryLogging`: Cloud Logging buckets with the spec's retention and the sinks that
 * route into them: the MCP audit (the Cloud Run service's stdout, `mcpServer.auditRetentionDays`)
 * and each target's database log (pgaudit / log_statement lines, `logging.retentionDays`). Cloud
 * Logging's `_Default` bucket keeps 30 days whatever the spec says; these buckets keep what it says.
 */
import * as pulumi from "@pulumi/pulumi";
import { ProjectBucketConfig } from "@pulumi/gcp/logging/projectBucketConfig.js";
import { ProjectSink } from "@pulumi/gcp/logging/projectSink.js";
import { fitName, logBucketId } from "../../src/names/gcp.ts";

/** The log filter of the MCP audit: the service's stdout. */
export function mcpAuditFilter(project: string, serviceName: string): string {
  return (
    `resource.type="cloud_run_revision" AND resource.labels.service_name="${serviceName}" ` +
    `AND logName="projects/${project}/logs/run.googleapis.com%2Fstdout"`
  );
}

/** A sink destination for a log bucket. */
export function logBucketDestination(project: string, location: string, bucketId: string): string {
  return `logging.googleapis.com/projects/${project}/locations/${location}/buckets/${bucketId}`;
}

export interface QueryLoggingArgs {
  project: string;
  region: string;
  environment: string;
  /** The MCP server's service name (its stdout is the audit). */
  serviceName: string;
  auditRetentionDays: number;
  /** Each target's database log filter and retention. */
  databases: { target: string; filter: string; retentionDays: number }[];
}

export class CloudRunQueryLogging extends pulumi.ComponentResource {
  /** Log bucket by what it holds: `mcpAudit` and each target's name. */
  public readonly buckets: Record<string, pulumi.Output<string>> = {};

  constructor(name: string, args: QueryLoggingArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:gcp:QueryLogging", name, {}, opts);
    this.route(name, args, "mcpAudit", "mcp-audit", mcpAuditFilter(args.project, args.serviceName), args.auditRetentionDays);
    for (const db of args.databases) this.route(name, args, db.target, `${db.target}-db`, db.filter, db.retentionDays);
    this.registerOutputs({ buckets: this.buckets });
  }

  private route(name: string, args: QueryLoggingArgs, key: string, what: string, filter: string, retentionDays: number): void {
    const bucketId = logBucketId(args.environment, what);
    const bucket = new ProjectBucketConfig(
      `${name}-${what}`,
      {
        project: args.project,
        location: args.region,
        bucketId,
        retentionDays,
        description: `dbwarden ${args.environment}: ${what}, kept ${retentionDays} days`,
      },
      { parent: this },
    );
    new ProjectSink(
      `${name}-${what}`,
      {
        project: args.project,
        name: fitName(["dbw", args.environment, what], 100),
        destination: logBucketDestination(args.project, args.region, bucketId),
        filter,
        uniqueWriterIdentity: true,
      },
      { parent: this, dependsOn: [bucket] },
    );
    this.buckets[key] = bucket.id;
  }
}
