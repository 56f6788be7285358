/**
 * Routines are access too. A SECURITY DEFINER function runs with its owner's privileges: if an
 * agent role can execute one, it reads whatever the owner can, excluded columns included, and no
 * column grant stops it. PostgreSQL gives PUBLIC EXECUTE on every new function by default, so a
 * DBA's function created after `up` in a schema the workflows use is, by default, the agents'.
 *
 * The plan grants no EXECUTE to anyone. So:
 * - an agent role holding EXECUTE itself is drift (revoked);
 * - where the spec lets dbwarden change PUBLIC (`revoke`): PUBLIC executes no routine in the
 *   planned schemas, nor a SECURITY DEFINER routine anywhere an agent can reach (revoked), and the
 *   owners of the planned schemas give PUBLIC no EXECUTE on the functions they create from now on
 *   (`ALTER DEFAULT PRIVILEGES FOR ROLE <owner> REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`: the
 *   database-wide form, because a per-schema REVOKE cannot remove PostgreSQL's built-in default);
 * - where it does not (`leave`): a SECURITY DEFINER routine an agent can reach through PUBLIC is
 *   drift with nothing run for it (a DBA's decision); routines that run with the caller's rights,
 *   and the owners' built-in default, are notices.
 * "Reach" means the agent can use the routine's schema (./public.ts `agentSchemas`).
 */
import type { CatalogFunction } from "../catalog.ts";
import { byString } from "../effective.ts";
import { PUBLIC, grantee, ident, qualified } from "../sql.ts";
import { PHASE, plain, type DiffContext } from "./context.ts";
import { describeGrantee } from "./privileges.ts";
import { agentSchemas, leftToOwners } from "./public.ts";

const KINDS: Record<string, string> = { f: "function", p: "procedure", a: "aggregate", w: "window function" };

/** `schema.name(args)` for messages. */
export function routineName(f: CatalogFunction): string {
  return `${f.schema}.${f.name}(${f.args})`;
}

/** The routine in SQL: quoted name, and the server's own rendering of its arguments. */
function routineSql(f: CatalogFunction): string {
  return `ROUTINE ${qualified(f.schema, f.name)}(${f.args})`;
}

function describeRoutine(f: CatalogFunction): string {
  const kind = KINDS[f.kind] ?? "routine";
  const from = f.extension ? ` (from extension ${f.extension})` : "";
  return f.definer
    ? `${kind} ${routineName(f)}${from}, which runs with the privileges of its owner ${f.owner} ` +
        `(SECURITY DEFINER) and so reads whatever ${f.owner} can, excluded columns included`
    : `${kind} ${routineName(f)}${from}`;
}

/** Every routine an agent role can execute that the plan does not give it, and the owners' defaults for new ones. */
export function functionDifferences(ctx: DiffContext): void {
  const usable = agentSchemas(ctx);
  const planned = new Set(ctx.model.public.plannedSchemas);
  const revoke = ctx.model.public.mode === "revoke";
  const invokerBySchema = new Map<string, CatalogFunction[]>();
  for (const f of [...ctx.catalog.functions].sort((a, b) => byString(routineName(a), routineName(b)))) {
    const executes = (g: string) => f.acl.some((e) => e.grantee === g && e.privilege === "EXECUTE");
    for (const role of ctx.model.roles) {
      if (!executes(role.name)) continue;
      ctx.add("function", role.name, `${role.name} can execute ${describeRoutine(f)} (not in the plan: agents execute nothing)`, PHASE.revokes, [
        plain(`REVOKE EXECUTE ON ${routineSql(f)} FROM ${ident(role.name)}`),
      ]);
    }
    if (!executes(PUBLIC)) continue;
    const reached = usable.has(f.schema);
    if (revoke && (planned.has(f.schema) || (reached && f.definer))) {
      ctx.add("function", PUBLIC, `${describeGrantee(PUBLIC)} can execute ${describeRoutine(f)} (granted to PUBLIC)`, PHASE.revokes, [
        plain(`REVOKE EXECUTE ON ${routineSql(f)} FROM ${grantee(PUBLIC)}`),
      ]);
    } else if (reached && f.definer) {
      ctx.add("function", PUBLIC, `${describeGrantee(PUBLIC)} can execute ${describeRoutine(f)} (${leftToOwners(ctx.model.target)})`, PHASE.revokes);
    } else if (reached) {
      invokerBySchema.set(f.schema, [...(invokerBySchema.get(f.schema) ?? []), f]);
    }
  }
  for (const [schema, functions] of [...invokerBySchema].sort(([a], [b]) => byString(a, b))) {
    const names = functions.map(routineName);
    const shown = `${names.slice(0, 5).join(", ")}${names.length > 5 ? ` and ${names.length - 5} more` : ""}`;
    ctx.add(
      "function",
      PUBLIC,
      `every agent can execute ${functions.length} routine${functions.length > 1 ? "s" : ""} of schema ` +
        `${schema} through PUBLIC, each with the agent's own privileges (SECURITY INVOKER): ${shown}`,
      PHASE.revokes,
      [],
      "notice",
    );
  }
  functionDefaultDifferences(ctx, usable);
}

/** PUBLIC's EXECUTE on the functions schema owners create from now on (built in, or granted by default privileges). */
function functionDefaultDifferences(ctx: DiffContext, usable: ReadonlySet<string>): void {
  const { catalog, model } = ctx;
  const ownedSchemas = (owner: string, among: ReadonlySet<string>) =>
    [...catalog.schemas]
      .filter(([name, s]) => s.owner === owner && among.has(name))
      .map(([name]) => name)
      .sort(byString);
  const planned = new Set(model.public.plannedSchemas);
  const publicExecute = catalog.defaultAcl.filter((d) => d.objectType === "f" && d.grantee === PUBLIC && d.privilege === "EXECUTE");
  for (const d of publicExecute) {
    const scope =
      d.schema === null
        ? ownedSchemas(d.owner, model.public.mode === "revoke" ? planned : usable)
        : [d.schema].filter((s) => (model.public.mode === "revoke" ? planned : usable).has(s));
    if (scope.length === 0) continue;
    const where = `in schema${scope.length > 1 ? "s" : ""} ${scope.join(", ")}`;
    const why = d.builtIn ? "PostgreSQL's default" : "default privileges";
    const message = `${describeGrantee(PUBLIC)} will be able to execute every new function that ${d.owner} creates ${where} (${why})`;
    if (model.public.mode === "revoke") {
      const inSchema = d.schema === null ? "" : ` IN SCHEMA ${ident(d.schema)}`;
      ctx.add("default-privilege", PUBLIC, message, PHASE.revokes, [
        plain(`ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(d.owner)}${inSchema} REVOKE EXECUTE ON FUNCTIONS FROM ${grantee(PUBLIC)}`),
      ]);
    } else {
      ctx.add("default-privilege", PUBLIC, `${message}; drift reports each one that runs with its owner's rights`, PHASE.revokes, [], "notice");
    }
  }
}
