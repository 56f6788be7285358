/**
 * How each host platform admits traffic from the internet, for the review (./diff.ts): a server
 * becoming reachable from the internet is a widening on every host, also when the platform itself
 * changes.
 */
import { forHost, type HostPlan, type PerHost } from "@dbwarden/contract";

const list = (items: readonly string[]) => items.join(", ");

/** How a host admits traffic from the internet, in a reviewer's words. */
export interface HostIngress {
  /** What takes the traffic in, e.g. "load balancer". */
  entry: string;
  /** How it is reachable from the internet (e.g. "public subnets a, b"), or null when it is internal only. */
  publicVia: string | null;
  /** What internal means there, e.g. "no public subnets". */
  internal: string;
  /** The host fields that decide it: compared here, left out of the other host changes. */
  fields: readonly string[];
}

/**
 * Each host platform's ingress: a server becoming reachable from the internet is a widening on
 * every host, including when the platform itself changes. A new host does not type-check until it
 * says how it can become public.
 */
export const HOST_INGRESS: PerHost<HostIngress> = {
  local: () => ({ entry: "listener", publicVia: null, internal: "loopback only", fields: [] }),
  "aws-ecs": (h) => ({
    entry: "load balancer",
    publicVia: h.publicSubnetIds.length > 0 ? `public subnets ${list(h.publicSubnetIds)}` : null,
    internal: "no public subnets",
    fields: ["publicSubnetIds"],
  }),
};

/** The ingress of a host, by its platform's row. */
export function hostIngress(host: HostPlan): HostIngress {
  return forHost(HOST_INGRESS, host);
}
