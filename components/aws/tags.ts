/**
 * Tags on every taggable AWS resource of an environment, as the policy pack's
 * `owner-and-workflow-tags` rule requires (mandatory): who owns it and which workflow it serves.
 * - Resources serving every workflow (load balancer, service, replica, endpoints...) are tagged
 *   `dbwarden:workflow: shared` and the environment's owner (plan `owner`): the top-level component
 *   gives `sharedTags` to each child component (its `tags` argument), which sets them on each of its
 *   taggable resources (`resourceTags`). Explicit arguments, not a Pulumi transformation: transformations
 *   are deprecated, and their successor (`transforms`) is refused under mocks, where the tests run. The
 *   tests check that every taggable resource carries them.
 * - A login's secret serves one workflow: `loginSecretTags` (its workflow, that workflow's owner,
 *   the client, the login role, and `dbwarden:expires` when the workflow expires).
 * The tag keys are defined once, in src/tags.ts, for these components and the policy pack's rules.
 */
import type { AccessPlan, WorkflowPlan } from "../../src/plan/types.ts";
import { CLIENT_TAG, ENVIRONMENT_TAG, EXPIRES_TAG, LOGIN_TAG, OWNER_TAG, SHARED_WORKFLOW, TARGET_TAG, WORKFLOW_TAG } from "../../src/tags.ts";

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
 * The `tags` of a taggable resource with tags of its own: the environment's shared tags (`sharedTags`,
 * given to its component as the `tags` argument; none for a component used on its own) under its own,
 * which win (a login secret keeps its workflow). A resource without tags of its own takes `tags` as given.
 */
export function resourceTags(shared: Readonly<Record<string, string>> | undefined, own: Record<string, string>): Record<string, string> {
  return { ...shared, ...own };
}
