/**
 * What every host's top-level component takes and exports (`GovernedEnvironmentArgs`,
 * `GovernedEnvironmentOutputs`), in a file of their own: the registry of hosts (./hosts.ts) imports
 * the hosts' components, which take these types, so the types live below both (no import circle).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { AccessPlan } from "../src/plan/types.ts";
import type { CatalogSnapshot } from "./postgres/catalog.ts";

/** What the Pulumi program gives the top-level component of any host. */
export interface GovernedEnvironmentArgs {
  /** The environment's access plan (from `planStack`): the only source of what is granted. */
  plan: AccessPlan;
  /** Column lists of the tables read with an `all-except` rule (`<spec folder>/catalog/<env>.json`, see `loadPlan`). */
  catalog: CatalogSnapshot;
  /** Names the catalog in error messages; default `stacks/catalog/<env>.json` (`loadPlan` gives the file it read). */
  catalogSource?: string;
}

/**
 * What the top-level component of any host exports: the stack outputs of `pulumi up`, named for
 * what they are on every host (operators read them with `pulumi stack output`, and the component
 * provider publishes them: a rename is an upgrade note). Nothing secret.
 */
export interface GovernedEnvironmentOutputs {
  /** Where agents connect. */
  mcpUrl: pulumi.Output<string>;
  /** The host name the MCP endpoint answers on (ECS: the load balancer's DNS name): point the plan's hostnames (DNS) at it. */
  endpointHostname: pulumi.Output<string>;
  /** Secret id by login role (password credentials): its id in the host cloud's secret store (AWS: the ARN). */
  secretIds: pulumi.Output<Record<string, string>>;
  /** The secret operators put the MCP API key hashes in (`dbwarden keys` writes it), by its id in the secret store. */
  apiKeysSecretId: pulumi.Output<string>;
  /** Log groups: the MCP audit stream (`mcpAudit`) and each created replica's database log, by target. */
  logGroups: pulumi.Output<Record<string, string>>;
  /** Group and login role names per workflow. */
  roleNames: Record<string, { group: string; logins: string[] }>;
  /** Replica address per target. */
  replicaAddresses: pulumi.Output<Record<string, string>>;
}
