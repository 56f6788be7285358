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
  /**
   * Where a host has several independent ways in from the internet (Cloud Run: a load balancer,
   * allUsers as invoker), each of them: one added while another was already open is a widening too,
   * one taken away a narrowing. Absent: `publicVia` is the one way.
   */
  ways?: readonly string[];
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
  // Two ways in from the internet: an external load balancer (Cloud Armor admits allowedCidrs), and
  // allUsers as invoker (no Google identity needed). Either is a widening; both fields are compared here.
  "gcp-cloudrun": (h) => {
    const ways = [
      ...(h.ingress === "load-balancer" ? ["an external HTTPS load balancer"] : []),
      ...(h.publicInvokerJustification !== null ? [`unauthenticated invocation (allUsers as run.invoker: ${h.publicInvokerJustification})`] : []),
    ];
    return {
      entry: "Cloud Run service",
      publicVia: ways.length > 0 ? ways.join(" and ") : null,
      internal: "internal ingress only, invokers need a Google identity",
      fields: ["ingress", "publicInvokerJustification"],
      ways,
    };
  },
};

/** The ingress of a host, by its platform's row. */
export function hostIngress(host: HostPlan): HostIngress {
  return forHost(HOST_INGRESS, host);
}
