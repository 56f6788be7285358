/**
 * Renames, recognised from evidence rather than guessed from names.
 *
 * A workflow present only at base and one present only at head are the same workflow renamed
 * when everything that decides access is identical: owner, target, expiry, every table with its
 * column rule and every known column's classification and justification, limits, tools, and
 * every client (name, auth, subject or group, source networks). Names derived from the workflow
 * name (roles, logins, secret names) and descriptions (what the model reads, not what it may
 * read) are left out of the comparison: a rename changes the former and often rewords the
 * latter. The pairing must be one-to-one: when two removed workflows match one added workflow
 * (or the reverse) nothing is paired and the reviewer sees removals and additions.
 *
 * Within a workflow (the same name, or a renamed pair), a client present only at base and one
 * present only at head are one client renamed when auth, OIDC subject and group and source
 * networks are identical, again one-to-one. For an OIDC client that means the same principal
 * under a new name. An api-key client is identified by its key alone: a rename issues a new key
 * and database login under the new name and removes the old ones, which the summary says.
 */
import type { ClientPlan, WorkflowPlan } from "@dbwarden/contract";

/** Everything of a client that decides who it is and where it may call from. */
export function clientFingerprint(client: ClientPlan): string {
  return JSON.stringify([client.auth, client.subject, client.group, [...client.sourceCidrs].sort(), client.attributes]);
}

/** Everything of a workflow that decides access, without its name and what derives from it. */
export function workflowFingerprint(workflow: WorkflowPlan): string {
  return JSON.stringify([
    workflow.owner,
    workflow.target,
    workflow.expires,
    workflow.tables.map((t) => [t.schema, t.table, t.rule, t.columns.map((c) => [c.name, c.classification, c.justification, c.mask]), t.rowFilter]),
    workflow.reportingViews.map((v) => [v.name, v.sql, v.justification]),
    workflow.limits,
    workflow.tools,
    workflow.clients.map((c) => [c.name, clientFingerprint(c)]),
  ]);
}

/** Pair items of `removed` with items of `added` whose fingerprints are equal and unique on both sides. */
export function pairUnique<T>(removed: readonly T[], added: readonly T[], fingerprint: (item: T) => string): Array<[T, T]> {
  const group = (items: readonly T[]) => {
    const byPrint = new Map<string, T[]>();
    for (const item of items) {
      const print = fingerprint(item);
      byPrint.set(print, [...(byPrint.get(print) ?? []), item]);
    }
    return byPrint;
  };
  const before = group(removed);
  const after = group(added);
  const pairs: Array<[T, T]> = [];
  for (const [print, olds] of before) {
    const news = after.get(print);
    if (olds.length === 1 && news?.length === 1) pairs.push([olds[0]!, news[0]!]);
  }
  return pairs;
}

export const WORKFLOW_RENAME_EVIDENCE =
  "same owner, target, expiry, tables, column rules and classifications, masks, row filters, reporting " +
  "views, limits, tools and clients; only the name (and the role and secret names made from it) differs";

export function clientRenameEvidence(client: ClientPlan): string {
  const identity = client.auth === "oidc" ? `the same OIDC ${client.subject !== null ? `subject ${client.subject}` : `group ${client.group}`}` : "api-key auth";
  return (
    `${identity} and the same source networks (${client.sourceCidrs.length ? client.sourceCidrs.join(", ") : "any"}); ` +
    `no other client was removed or added with them`
  );
}
