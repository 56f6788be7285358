/**
 * `filtered-clients-have-attributes`: every login of a workflow with row filters (docs/masks.md)
 * carries every client attribute its filters read (`client.<name>`). A login without one reads no
 * row through that filter (a comparison with null holds for none): a client that was never given
 * its tenant is a client that silently sees nothing, or a spec that forgot whose rows it meant.
 * Judges the governed views resource of each database: its views' filters against its attribute
 * rows, and against the workflow's logins (`workflows[].logins`) where the facts know them.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { configOf, configSchema } from "../lib/config.ts";
import { governedViewsOf } from "../lib/governed.ts";

const CONFIG = ["workflows"] as const;

export const filteredClientsHaveAttributes: ResourceValidationPolicy = {
  name: "filtered-clients-have-attributes",
  description:
    "Every client of a workflow with row filters carries every attribute its filters read, so each reads its own rows and no client is left without a rule.",
  enforcementLevel: "mandatory",
  severity: "high",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Give each client of the workflow `attributes:` naming every attribute its row filters read (e.g. " +
    "`attributes: { account_id: 42 }`), or remove the client, or the filter's use of the attribute.",
  validateResource: (args, report) => {
    const governed = governedViewsOf(args);
    if (!governed) return;
    const config = configOf(args, ...CONFIG);
    const rows = new Map(governed.attributes.map((a) => [a.login, a]));
    const needed = new Map<string, Set<string>>();
    for (const view of governed.views) {
      if (!view.rowFilter) continue;
      const set = needed.get(view.workflow) ?? new Set<string>();
      for (const attribute of view.rowFilter.attributes) set.add(attribute);
      needed.set(view.workflow, set);
    }
    for (const [workflow, attributes] of needed) {
      const logins = new Set([
        ...governed.attributes.filter((a) => a.workflow === workflow).map((a) => a.login),
        ...(config.workflows.find((w) => w.name === workflow)?.logins.map((l) => l.role) ?? []),
      ]);
      for (const login of [...logins].sort()) {
        const has = rows.get(login)?.attributes ?? {};
        const missing = [...attributes].filter((a) => !Object.hasOwn(has, a)).sort();
        if (missing.length > 0)
          report(
            `login ${login} of workflow ${workflow} lacks attribute${missing.length > 1 ? "s" : ""} ` +
              `${missing.join(", ")} that its row filters read: it reads no row of the filtered tables`,
          );
      }
    }
  },
};
