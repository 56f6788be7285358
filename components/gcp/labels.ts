/**
 * Labels on the GCP resources of an environment: the same facts the AWS tags carry (src/tags.ts,
 * `GCP_LABEL_KEYS`), spelled as GCP label keys (`dbwarden-owner`...), their values made valid
 * label values (`labelValue`: lowercase, `_` for anything else, at most 63). Components pass them
 * explicitly to every resource that takes labels (Cloud SQL's are `settings.userLabels`).
 */
import type { AccessPlan, WorkflowPlan } from "../../src/plan/types.ts";
import { GCP_LABEL_KEYS, SHARED_WORKFLOW } from "../../src/tags.ts";
import { labelValue } from "../../src/names/gcp.ts";

/** Labels of what serves every workflow of the environment. */
export function sharedLabels(plan: Pick<AccessPlan, "environment" | "owner">, target?: string): Record<string, string> {
  return {
    [GCP_LABEL_KEYS.environment]: labelValue(plan.environment),
    [GCP_LABEL_KEYS.owner]: labelValue(plan.owner),
    [GCP_LABEL_KEYS.workflow]: SHARED_WORKFLOW,
    ...(target ? { [GCP_LABEL_KEYS.target]: labelValue(target) } : {}),
  };
}

/** Labels of one login's secret: its workflow and owner, client, login role, target and expiry. */
export function loginLabels(
  environment: string,
  workflow: Pick<WorkflowPlan, "name" | "owner" | "expires">,
  login: { client: string; role: string },
  target: string,
): Record<string, string> {
  return {
    [GCP_LABEL_KEYS.environment]: labelValue(environment),
    [GCP_LABEL_KEYS.owner]: labelValue(workflow.owner),
    [GCP_LABEL_KEYS.workflow]: labelValue(workflow.name),
    [GCP_LABEL_KEYS.client]: labelValue(login.client),
    [GCP_LABEL_KEYS.login]: labelValue(login.role),
    [GCP_LABEL_KEYS.target]: labelValue(target),
    ...(workflow.expires ? { [GCP_LABEL_KEYS.expires]: workflow.expires } : {}),
  };
}
