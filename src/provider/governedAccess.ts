/**
 * `dbwarden:index:GovernedAccess`, the component the dbwarden component provider (provider/)
 * serves to Python, Go, YAML, C# and Java programs. Their programs cannot build an access plan, so
 * this component takes where the spec is and reads it itself, exactly as the bundled program and
 * `loadPlan` do; it then instantiates the top-level component of the plan's MCP server host as its
 * child. Its args and outputs are what the provider's schema (provider/schema.json) publishes: the
 * analyzer reads this file, so every type here is one the schema can express.
 */
import * as pulumi from "@pulumi/pulumi";
import { deployStackNow } from "../program.ts";

/** Type token of the component the provider serves. */
export const PROVIDER_GOVERNED_ACCESS_TYPE = "dbwarden:index:GovernedAccess";

/** The arguments of `GovernedAccess`: where the spec of the stack to deploy is. */
export interface GovernedAccessArgs {
  /**
   * The stack (environment) to deploy: `<spec folder>/environments/<stack>.yaml`. Default: the
   * Pulumi stack's name.
   */
  stack?: string;
  /**
   * The spec folder (holding environments/, workflows/ and catalog/), absolute or relative to the
   * Pulumi program's folder. Default: found from the program's folder as the dbwarden CLI finds
   * it: a package.json `"dbwarden": { "specs": ... }`, else a `dbwarden/` or `stacks/` folder.
   */
  specs?: string;
}

/** The roles of one workflow. */
export interface WorkflowRoles {
  /** The NOLOGIN group role holding the workflow's privileges. */
  group: string;
  /** One LOGIN role per client, each inheriting from the group. */
  logins: string[];
}

/**
 * A governed environment: the access plan of one stack deployed on its MCP server host (AWS:
 * read replica, network boundary, least-privilege roles, per-client credentials, query logging
 * and the MCP service). Nothing it outputs is secret.
 */
export class GovernedAccess extends pulumi.ComponentResource {
  /** Where agents connect. */
  public readonly mcpUrl: pulumi.Output<string>;
  /** The host name the MCP endpoint answers on (ECS: the load balancer's DNS name): point the plan's hostnames (DNS) at it. */
  public readonly endpointHostname: pulumi.Output<string>;
  /** Secret id by login role (password credentials): its id in the host cloud's secret store (AWS: the ARN). */
  public readonly secretIds: pulumi.Output<Record<string, string>>;
  /** The secret operators put the MCP API key hashes in, by its id in the secret store. */
  public readonly apiKeysSecretId: pulumi.Output<string>;
  /** Log groups: the MCP audit stream (`mcpAudit`) and each created replica's database log, by target. */
  public readonly logGroups: pulumi.Output<Record<string, string>>;
  /** Group and login role names per workflow. */
  public readonly roleNames: pulumi.Output<Record<string, WorkflowRoles>>;
  /** Replica address per target. */
  public readonly replicaAddresses: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: GovernedAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PROVIDER_GOVERNED_ACCESS_TYPE, name, {}, opts);
    const options = checkedArgs(args ?? {});
    const environment = deployStackNow({ ...options, name }, { parent: this });
    this.mcpUrl = environment.mcpUrl;
    this.endpointHostname = environment.endpointHostname;
    this.secretIds = environment.secretIds;
    this.apiKeysSecretId = environment.apiKeysSecretId;
    this.logGroups = environment.logGroups;
    this.roleNames = pulumi.output(environment.roleNames);
    this.replicaAddresses = environment.replicaAddresses;
    this.registerOutputs({
      // A failed preflight (what the cloud would refuse) fails the preview here, so `up` creates nothing.
      preflight: pulumi.output(environment.preflight.then(() => "passed")),
      mcpUrl: this.mcpUrl,
      endpointHostname: this.endpointHostname,
      secretIds: this.secretIds,
      apiKeysSecretId: this.apiKeysSecretId,
      logGroups: this.logGroups,
      roleNames: this.roleNames,
      replicaAddresses: this.replicaAddresses,
    });
  }
}

/**
 * The args as `deployStack` options. They are plain strings in the schema; anything else (an
 * output of another resource, a number) is refused naming the field, before anything is created.
 */
export function checkedArgs(args: GovernedAccessArgs): { stack?: string; specDir?: string } {
  const options: { stack?: string; specDir?: string } = {};
  for (const [field, value] of Object.entries(args)) {
    if (value === undefined || value === null) continue;
    if (field !== "stack" && field !== "specs") throw new Error(`GovernedAccess: unknown argument "${field}" (arguments: stack, specs)`);
    if (typeof value !== "string" || value.length === 0)
      throw new Error(
        `GovernedAccess: ${field} must be a non-empty plain string (a path or a stack name known ` +
          `before deployment), got ${pulumi.Output.isInstance(value) ? "an output" : typeof value}`,
      );
    if (field === "stack") options.stack = value;
    else options.specDir = value;
  }
  return options;
}
