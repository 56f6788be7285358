/**
 * Tags on every taggable AWS resource of an environment, as the policy pack's
 * `owner-and-workflow-tags` rule requires (mandatory): who owns it and which workflow it serves.
 * - Resources serving every workflow (load balancer, service, replica, endpoints...) are tagged
 *   `dbwarden:workflow: shared` and the environment's owner (plan `owner`), by one transformation
 *   on the top-level component (`sharedTagsTransformation`), so no child can forget them.
 * - A login's secret serves one workflow: `loginSecretTags` (its workflow, that workflow's owner,
 *   the client, the login role, and `dbwarden:expires` when the workflow expires).
 * The tag keys are defined once, in src/tags.ts, for these components and the policy pack's rules.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AccessPlan, WorkflowPlan } from "../../src/plan/types.ts";
import {
  CLIENT_TAG,
  ENVIRONMENT_TAG,
  EXPIRES_TAG,
  LOGIN_TAG,
  OWNER_TAG,
  SHARED_WORKFLOW,
  TARGET_TAG,
  WORKFLOW_TAG,
  isTaggableAwsType,
} from "../../src/tags.ts";

export { CLIENT_TAG, ENVIRONMENT_TAG, EXPIRES_TAG, LOGIN_TAG, OWNER_TAG, SHARED_WORKFLOW, TARGET_TAG, WORKFLOW_TAG };

/** Tags of what serves every workflow of the environment. */
export function sharedTags(plan: Pick<AccessPlan, "environment" | "owner">): Record<string, string> {
  return { [ENVIRONMENT_TAG]: plan.environment, [OWNER_TAG]: plan.owner, [WORKFLOW_TAG]: SHARED_WORKFLOW };
}

/** Tags of one login's secret: its workflow and owner, client, login role, target, and expiry. */
export function loginSecretTags(
  environment: string,
  workflow: Pick<WorkflowPlan, "name" | "owner" | "expires">,
  login: { client: string; role: string },
  target: string,
): Record<string, string> {
  return {
    [ENVIRONMENT_TAG]: environment,
    [OWNER_TAG]: workflow.owner,
    [WORKFLOW_TAG]: workflow.name,
    [CLIENT_TAG]: login.client,
    [LOGIN_TAG]: login.role,
    [TARGET_TAG]: target,
    ...(workflow.expires ? { [EXPIRES_TAG]: workflow.expires } : {}),
  };
}

/**
 * A transformation adding `tags` to every taggable AWS resource below the component it is set on:
 * the resource's own tags win (a login secret keeps its workflow), the shared ones fill the rest.
 * Resource types without a `tags` input are left alone (the provider would refuse the property).
 */
export function sharedTagsTransformation(tags: Record<string, string>): pulumi.ResourceTransformation {
  return (args) => {
    if (!(args.resource instanceof pulumi.CustomResource) || !isTaggableAwsType(args.type)) return undefined;
    const own = args.props.tags as pulumi.Input<Record<string, pulumi.Input<string>>> | undefined;
    const merged = own === undefined ? tags : pulumi.output(own).apply((o) => ({ ...tags, ...o }));
    return { props: { ...args.props, tags: merged }, opts: args.opts };
  };
}
