/**
 * `sensitive-columns-masked-or-justified`: a column the data owner classified sensitive
 * (`sensitiveColumns`, by database) reaches an agent through a governed view (docs/masks.md) only
 * masked, or with a written justification in its workflow's spec (`workflows[].justifiedColumns`):
 * a masked or filtered table's view may show it in the clear only when justified, and a reporting
 * view may read it only when the view is justified. The tables' own grants are judged by
 * `sensitive-columns-justified`; this judges the governed views resource of each database.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { configOf, configSchema } from "../lib/config.ts";
import { governedViewsOf } from "../lib/governed.ts";
import { qualified } from "../lib/inputs.ts";

const CONFIG = ["workflows", "sensitiveColumns"] as const;

export const sensitiveColumnsMaskedOrJustified: ResourceValidationPolicy = {
  name: "sensitive-columns-masked-or-justified",
  description:
    "A column the data owner classified sensitive reaches an agent through a masked, filtered " +
    "or reporting view only masked, or with a written justification in its workflow's spec.",
  enforcementLevel: "mandatory",
  severity: "critical",
  configSchema: configSchema(...CONFIG),
  remediationSteps:
    "Give the column a `mask:` in the workflow's spec (`redact`, `hash`, `email-domain`, `last:N`, `year`: docs/masks.md), leave it out, or describe it with " +
    "`justification:` saying why this workflow needs it in the clear; for a reporting " +
    "view, leave the column out of its SELECT or give the view a `justification:`.",
  validateResource: (args, report) => {
    const governed = governedViewsOf(args);
    if (!governed) return;
    const config = configOf(args, ...CONFIG);
    const sensitive = new Set(config.sensitiveColumns[governed.database] ?? []);
    const justified = new Map(config.workflows.map((w) => [w.name, new Set(w.justifiedColumns)]));
    for (const view of governed.views) {
      const ok = justified.get(view.workflow) ?? new Set<string>();
      const clear =
        view.kind === "table"
          ? view.columns.filter((c) => c.mask === null).map((c) => qualified(view.source!.schema, view.source!.table, c.name))
          : view.reads.flatMap((r) => r.columns.map((c) => qualified(r.schema, r.table, c)));
      const unjustified = clear.filter((c) => sensitive.has(c) && !ok.has(c));
      if (unjustified.length === 0) continue;
      report(
        `${view.kind === "table" ? "view" : "reporting view"} ${view.schema}.${view.name} of workflow ${view.workflow} gives its agents sensitive ` +
          `column${unjustified.length > 1 ? "s" : ""} ${unjustified.join(", ")} of database ${governed.database} unmasked, without a justification`,
      );
    }
  },
};
