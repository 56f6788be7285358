/**
 * `dbwarden:snowflake:ReadOnlyAccess`: a Snowflake target's roles, grants, secure views, network
 * policy and service users, created from the one pure list of children.ts through a Snowflake
 * provider of its own that enables, explicitly, the preview features those children use.
 */
import * as pulumi from "@pulumi/pulumi";
import { AccountRole } from "@pulumi/snowflake/accountRole.js";
import { GrantAccountRole } from "@pulumi/snowflake/grantAccountRole.js";
import { GrantPrivilegesToAccountRole } from "@pulumi/snowflake/grantPrivilegesToAccountRole.js";
import { NetworkPolicy } from "@pulumi/snowflake/networkPolicy.js";
import { NetworkRule } from "@pulumi/snowflake/networkRule.js";
import { Provider } from "@pulumi/snowflake/provider.js";
import { Schema } from "@pulumi/snowflake/schema.js";
import { ServiceUser } from "@pulumi/snowflake/serviceUser.js";
import { View } from "@pulumi/snowflake/view.js";
import type { AccessPlan } from "../../src/plan/types.ts";
import type { CatalogSnapshot } from "../postgres/catalog.ts";
import { SNOWFLAKE_TYPES, previewFeaturesOf, snowflakeAccessChildren, type SnowflakeChild, type SnowflakeTarget } from "./children.ts";

export interface SnowflakeReadOnlyAccessArgs {
  /** The access plan: the only source of what is granted. */
  plan: AccessPlan;
  /** The Snowflake target (plan `targets[]`) whose access this renders. */
  target: SnowflakeTarget;
  /** Column lists of tables read with "all columns but these" (their secure views name the rest). */
  catalog: CatalogSnapshot;
  /** Each login's first public key (one-line base64, no PEM header), by plan login role; the rotation job swaps keys after. */
  publicKeys: Record<string, pulumi.Input<string>>;
  /** The host's reserved egress addresses (`/32` CIDRs) the network policy admits, beside `network.allowedCidrs` (Cloud Run: its NAT's). */
  egressAddresses?: pulumi.Input<string[]>;
}

/** Organization and account of a `<org>-<account>` identifier, as the provider takes them. */
export function accountParts(account: string, field: string): { organizationName: string; accountName: string } {
  const match = /^([A-Za-z0-9]+)-([A-Za-z0-9_]+)$/.exec(account);
  if (!match) throw new Error(`${field}: "${account}" is not a Snowflake account identifier "<organization>-<account>"`);
  return { organizationName: match[1]!.toUpperCase(), accountName: match[2]!.toUpperCase() };
}

const CONSTRUCTORS: { [T in SnowflakeChild["type"]]: new (name: string, args: never, opts: pulumi.CustomResourceOptions) => pulumi.CustomResource } = {
  [SNOWFLAKE_TYPES.schema]: Schema,
  [SNOWFLAKE_TYPES.networkRule]: NetworkRule,
  [SNOWFLAKE_TYPES.networkPolicy]: NetworkPolicy,
  [SNOWFLAKE_TYPES.role]: AccountRole,
  [SNOWFLAKE_TYPES.grant]: GrantPrivilegesToAccountRole,
  [SNOWFLAKE_TYPES.view]: View,
  [SNOWFLAKE_TYPES.user]: ServiceUser,
  [SNOWFLAKE_TYPES.roleGrant]: GrantAccountRole,
};

export class SnowflakeReadOnlyAccess extends pulumi.ComponentResource {
  /** The provider every child uses, with the children's preview features enabled. */
  public readonly provider: Provider;
  /** Service user names by plan login role. */
  public readonly users: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: SnowflakeReadOnlyAccessArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:snowflake:ReadOnlyAccess", name, {}, opts);
    if (!args.plan) throw new Error(`${name}: plan is required`);
    if (!args.target || args.target.platform !== "snowflake") throw new Error(`${name}: target must be a Snowflake target of the plan`);
    if (!args.catalog) throw new Error(`${name}: catalog is required`);
    const children = snowflakeAccessChildren(args.plan, args.target, args.catalog, name);
    const { account, warehouse } = args.target.platformSettings;
    this.provider = new Provider(
      `${name}-provider`,
      { ...accountParts(account, `targets.${args.target.name}.account`), warehouse, previewFeaturesEnabled: previewFeaturesOf(children) },
      { parent: this },
    );
    const created = new Map<string, pulumi.CustomResource>();
    this.users = {};
    for (const child of children) {
      const inputs: Record<string, unknown> = { ...child.args };
      const login = child.fromContext && "rsaPublicKey" in child.fromContext ? child.fromContext.rsaPublicKey : null;
      if (login !== null) {
        const key = args.publicKeys[login];
        if (key === undefined) throw new Error(`${name}: no public key for login ${login}`);
        inputs.rsaPublicKey = key;
      }
      // The host's reserved egress addresses (Cloud Run's NAT), with any the spec lists.
      if (child.fromContext && "valueLists" in child.fromContext && args.egressAddresses) {
        inputs.valueLists = pulumi.output(args.egressAddresses).apply((cidrs) => [...new Set([...(child.args.valueLists as string[]), ...cidrs])]);
      }
      const resource = new CONSTRUCTORS[child.type](child.name, inputs as never, {
        parent: this,
        provider: this.provider,
        dependsOn: child.dependsOn.map((d) => created.get(d)!),
        ...(child.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
        ...(child.ignoreChanges ? { ignoreChanges: child.ignoreChanges } : {}),
      });
      created.set(child.name, resource);
      if (login !== null) this.users[login] = (resource as ServiceUser).name;
    }
    this.registerOutputs({ users: this.users });
  }
}
