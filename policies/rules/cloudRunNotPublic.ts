/**
 * `cloud-run-not-public` (mandatory): the MCP server on Cloud Run is not open to the internet by
 * accident. Its ingress is internal (`INGRESS_TRAFFIC_INTERNAL_ONLY`) or through a load balancer
 * (`INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER`, where Cloud Armor admits the spec's networks), never
 * `INGRESS_TRAFFIC_ALL`; and `run.invoker` goes to `allUsers` / `allAuthenticatedUsers` (or
 * invoker IAM is switched off) only on a service whose annotation says why, in words, as the spec's
 * `allowUnauthenticated` puts it there.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { Service } from "@pulumi/gcp/cloudrunv2/service.js";
import { ServiceIamBinding } from "@pulumi/gcp/cloudrunv2/serviceIamBinding.js";
import { ServiceIamMember } from "@pulumi/gcp/cloudrunv2/serviceIamMember.js";

import { PUBLIC_INVOKER_ANNOTATION } from "../../src/tags.ts";

export { PUBLIC_INVOKER_ANNOTATION };
/** Members that let anyone invoke. */
export const PUBLIC_MEMBERS: readonly string[] = ["allUsers", "allAuthenticatedUsers"];

const reasonOf = (service: { props: Record<string, unknown> }): string => {
  const annotations = (service.props.annotations ?? {}) as Record<string, unknown>;
  const reason = annotations[PUBLIC_INVOKER_ANNOTATION];
  return typeof reason === "string" ? reason.trim() : "";
};

export const cloudRunNotPublic: StackValidationPolicy = {
  name: "cloud-run-not-public",
  description:
    "The MCP server on Cloud Run is reachable only as the spec says: ingress internal or through the " +
    "load balancer (never all traffic), and no allUsers invoker unless the spec says why in words.",
  enforcementLevel: "mandatory",
  severity: "critical",
  remediationSteps:
    "Keep `mcpServer.host.ingress: internal` (VPC only) or `load-balancer` (Cloud Armor admits " +
    "mcpServer.allowedCidrs). Callers present a Google identity with run.invoker (X-Serverless-Authorization). " +
    "Only if callers cannot, say why in `mcpServer.host.allowUnauthenticated` (a sentence): " +
    "dbwarden then grants allUsers run.invoker and the review marks it as a widening.",
  validateStack: (args, report) => {
    const services = args.resources.filter((r) => r.isType(Service));
    const byName = new Map(services.map((s) => [String(s.props.name), s]));
    for (const service of services) {
      if (service.props.ingress === undefined || service.props.ingress === "INGRESS_TRAFFIC_ALL") {
        report(
          `Cloud Run service ${String(service.props.name ?? service.name)} takes traffic from the internet ` +
            `directly (ingress ${String(service.props.ingress ?? "INGRESS_TRAFFIC_ALL (the default)")})`,
          service.urn,
        );
      }
      if (service.props.invokerIamDisabled === true && reasonOf(service).length < 20) {
        report(
          `Cloud Run service ${String(service.props.name ?? service.name)} has invoker IAM disabled (anyone ` +
            `who reaches it may call it) and no reason for it in annotation ${PUBLIC_INVOKER_ANNOTATION}`,
          service.urn,
        );
      }
    }
    for (const grant of args.resources) {
      if (!grant.isType(ServiceIamMember) && !grant.isType(ServiceIamBinding)) continue;
      const members = grant.isType(ServiceIamMember) ? [String(grant.props.member)] : ((grant.props.members ?? []) as string[]);
      const open = members.filter((m) => PUBLIC_MEMBERS.includes(m));
      if (open.length === 0 || grant.props.role !== "roles/run.invoker") continue;
      const service = byName.get(String(grant.props.name));
      if (!service || reasonOf(service).length < 20) {
        report(
          `${open.join(" and ")} may invoke Cloud Run service ${String(grant.props.name)}, ` +
            `and the service's annotation ${PUBLIC_INVOKER_ANNOTATION} does not say why`,
          grant.urn,
        );
      }
    }
  },
};
