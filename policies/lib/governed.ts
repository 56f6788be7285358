/**
 * The governed views resource as the rules read it: the dynamic resource the Postgres component
 * creates per database (components/postgres/governedViews.ts), recognised by its `kind` input.
 */
import type { ResourceValidationArgs } from "@pulumi/policy";
import { GOVERNED_VIEWS_KIND, type GovernedViewsInputs } from "../../components/postgres/governedViews.ts";

/** Dynamic resources share one type token; dbwarden's governed views say what they are in `kind`. */
export const DYNAMIC_RESOURCE_TYPE = "pulumi-nodejs:dynamic:Resource";

/** The governed views' inputs a rule judges, when `args` is that resource; else null. */
export function governedViewsOf(args: Pick<ResourceValidationArgs, "type" | "props">): Omit<GovernedViewsInputs, "connection"> | null {
  if (args.type !== DYNAMIC_RESOURCE_TYPE || args.props.kind !== GOVERNED_VIEWS_KIND) return null;
  return args.props as Omit<GovernedViewsInputs, "connection">;
}
