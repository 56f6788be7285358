/**
 * `owner-and-workflow-tags` (mandatory): every taggable AWS resource says who owns it and which
 * workflow it serves (`requiredTags`, default `dbwarden:owner` and `dbwarden:workflow`; the
 * workflow tag is a workflow of the environment, or `shared` for what serves them all). Tags set
 * on the AWS provider (`defaultTags`) count. Missing tags expose nothing by themselves, but they
 * are how a cost report, an access review or an incident finds who to ask, and dbwarden's
 * components tag everything (components/aws/tags.ts): an untagged resource is one written by
 * hand that nobody answers for. An environment can lower it in policies/config/<env>.json.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { workflowsByName } from "../lib/agents.ts";
import { configOf, configSchema } from "../lib/config.ts";
import { isRecord, tagsOf } from "../lib/inputs.ts";
import { OWNER_TAG, SHARED_WORKFLOW, WORKFLOW_TAG, isTaggableAwsType } from "../../src/tags.ts";

const CONFIG = ["requiredTags", "workflows"] as const;

/** Re-exported for test/components/governed-access-deploy.test.ts; the definition is src/tags.ts. */
export { isTaggableAwsType };

export const ownerAndWorkflowTags: ResourceValidationPolicy = {
  name: "owner-and-workflow-tags",
  description:
    "Every taggable resource names its owner and the workflow it serves, so costs, access reviews and incidents lead to the team that answers for it.",
  enforcementLevel: "mandatory",
  severity: "low",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    `Tag the resource with ${OWNER_TAG} (the accountable team) and ${WORKFLOW_TAG} (the workflow it serves, or "${SHARED_WORKFLOW}" ` +
    `for resources that serve every workflow of the environment), on the resource or through the AWS provider's defaultTags.`,
  validateResource: (args, report) => {
    if (!isTaggableAwsType(args.type)) return;
    const { requiredTags, workflows } = configOf(args, ...CONFIG);
    const providerDefaults = args.provider?.props?.defaultTags?.tags;
    const tags = { ...(isRecord(providerDefaults) ? providerDefaults : {}), ...tagsOf(args.props) };
    const missing = requiredTags.filter((key) => typeof tags[key] !== "string" || tags[key] === "");
    if (missing.length > 0) report(`lacks tag${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`);
    const workflow = tags[WORKFLOW_TAG];
    if (typeof workflow === "string" && workflow !== "" && workflow !== SHARED_WORKFLOW && workflows.length > 0 && !workflowsByName(workflows).has(workflow)) {
      report(`tagged ${WORKFLOW_TAG}: ${workflow}, which is no workflow of this environment (or "${SHARED_WORKFLOW}")`);
    }
  },
};
