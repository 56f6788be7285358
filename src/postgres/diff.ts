/**
 * The one comparison between the desired state of a target's database (the model, ./model.ts) and
 * its live catalog. The reconciler executes the statements it returns; drift detection reports the
 * same differences in words. So `drift` after `reconcile` is empty by construction, and
 * `drift --fix` is exactly `reconcile`; the one exception is what PUBLIC holds on a target whose
 * spec leaves PUBLIC alone: reported, with nothing to run (a decision for the database's owners).
 *
 * What the model says, checked here phase by phase:
 * - problems: the plan names a schema, table or column the database lacks, or a platform role
 *   (`rds_iam`) logins must join is missing: the reconciler refuses, drift reports;
 * - roles: each planned role exists with exactly the agent attributes, its connection limit, no
 *   password expiry, and the marker comment; roles marked for this environment and target but no
 *   longer planned are dropped;
 * - memberships: each login (and rotation clone) is a member of its group and the platform's IAM
 *   login roles only, inheriting, without ADMIN OPTION; nobody else is a member of an agent role;
 * - settings: exactly the planned `ALTER ROLE ... SET` values; ownership: agent roles own nothing;
 * - privileges: each group holds exactly its CONNECT, USAGE and table or column SELECTs, logins
 *   hold nothing directly; no default privileges give agents anything;
 * - PUBLIC: where the spec lets dbwarden change it (`revoke`), PUBLIC keeps what the model's
 *   `public` allows and default privileges give it nothing; where it does not (`leave`), nothing
 *   is run for PUBLIC and what it gives the agents is reported (./diff/public.ts);
 * - routines: agents execute nothing the plan does not give them (./diff/functions.ts).
 *
 * Where Pulumi applies the target, the marker comment and the settings `postgresql.Role` cannot
 * hold are advisory (`DesiredRole.advisory`): drift does not demand them, so drift after `pulumi up`
 * is empty by construction too; the reconciler still sets them where it runs.
 */
import { TARGET_PLATFORMS, workflowsOf, type AccessPlan } from "@dbwarden/contract";
import type pg from "pg";
import {
  desiredRoles,
  parseRoleMarker,
  plannedTables,
  postgresModel,
  postgresTarget,
  searchPathSchemas,
  searchPathValue,
  type DesiredRole,
  type PostgresModel,
} from "./model.ts";
import { ATTRIBUTE_KEYWORDS, ATTRIBUTE_RISKS, POWERFUL_ROLES, attributeKeywords, type AgentRoleAttribute } from "./rules.ts";
import { catalogColumns, readCatalog, type Catalog, type CatalogMembership, type CatalogRole } from "./catalog.ts";
import { byString, effectiveAccessFrom, type EffectiveRole } from "./effective.ts";
import { PHASE, plain, type AddDifference, type DiffContext, type Difference, type Statement } from "./diff/context.ts";
import { functionDifferences } from "./diff/functions.ts";
import { governedDifferences } from "./diff/governed.ts";
import { describeGrantee, diffPrivileges } from "./diff/privileges.ts";
import { leftPublicDifferences, leftToOwners } from "./diff/public.ts";
import { PUBLIC, REDACTED, grantee, ident, literal, scramMatches, scramVerifier } from "./sql.ts";

export { PHASE, type Difference, type DifferenceKind, type DifferenceLevel, type Statement } from "./diff/context.ts";

export interface DiffOptions {
  /** Login passwords to set where the stored verifier does not match. */
  passwords?: Record<string, string>;
}

/** Compare the live catalog with the model: every difference, in execution order. Pure. */
export function diffLiveDatabase(catalog: Catalog, model: PostgresModel, options: DiffOptions = {}): Difference[] {
  const differences: Difference[] = [];
  const add: AddDifference = (kind, role, message, phase, statements = [], level = "drift") =>
    differences.push({ kind, role, message, statements, phase, level });
  if (catalog.database !== model.database) {
    add("missing-object", PUBLIC, `connected to database "${catalog.database}", but target "${model.target}" is database "${model.database}"`, PHASE.problems);
    return differences;
  }
  const ctx: DiffContext = {
    catalog,
    model,
    managed: new Map(model.roles.map((r) => [r.name, r])),
    pg16: catalog.serverVersion >= 160000,
    db: ident(catalog.database),
    add,
    rebuilt: { schemas: new Set(), views: new Set() },
  };
  problemDifferences(ctx);
  roleDifferences(ctx, options.passwords);
  staleRoleDifferences(ctx);
  membershipDifferences(ctx);
  settingDifferences(ctx);
  ownershipDifferences(ctx);
  governedDifferences(ctx);
  diffPrivileges(ctx);
  if (model.public.mode === "leave") leftPublicDifferences(ctx);
  functionDifferences(ctx);
  defaultPrivilegeDifferences(ctx);
  // A stable sort: within a phase, the order the phases found them in.
  return differences.sort((a, b) => a.phase - b.phase);
}

/** The model's problems, and platform roles logins must join that the database lacks. */
function problemDifferences({ catalog, model, add }: DiffContext): void {
  const groupOf = new Map(model.groups.map((g) => [g.workflow, g.role]));
  for (const p of model.problems) add("missing-object", (p.workflow && groupOf.get(p.workflow)) || PUBLIC, p.message, PHASE.problems);
  for (const role of model.platformRoles) {
    if (catalog.roles.has(role)) continue;
    add(
      "missing-object",
      PUBLIC,
      `the logins of target ${model.target} join ${role}, the role ${TARGET_PLATFORMS[model.platform].title} ` +
        `provides for IAM authentication, which does not exist in database ${catalog.database}`,
      PHASE.problems,
    );
  }
}

/** `CREATE ROLE ... WITH` keywords of a planned role. */
function roleKeywords(r: DesiredRole): string {
  return [r.login ? "LOGIN" : "NOLOGIN", ...attributeKeywords(r.attributes), `CONNECTION LIMIT ${r.connectionLimit}`].join(" ");
}

function passwordStatement(role: string, password: string): Statement {
  return {
    sql: `ALTER ROLE ${ident(role)} WITH PASSWORD ${literal(scramVerifier(password))}`,
    shown: `ALTER ROLE ${ident(role)} WITH PASSWORD ${REDACTED}`,
  };
}

/** Each planned role: exists, with its attributes, marker and (where given) password. */
function roleDifferences(ctx: DiffContext, passwords: Record<string, string> | undefined): void {
  const { catalog, add } = ctx;
  for (const r of ctx.model.roles) {
    const live = catalog.roles.get(r.name);
    const password = passwords?.[r.name];
    const name = ident(r.name);
    if (!live) {
      const statements = [plain(`CREATE ROLE ${name} WITH ${roleKeywords(r)}`), plain(`COMMENT ON ROLE ${name} IS ${literal(r.marker)}`)];
      if (password !== undefined) statements.push(passwordStatement(r.name, password));
      add("missing-role", r.name, `${r.kind} role ${r.name} of workflow ${r.workflow} does not exist`, PHASE.roles, statements);
      continue;
    }
    attributeDifferences(ctx, r, live);
    if (live.comment !== r.marker) {
      add(
        "role-marker",
        r.name,
        `${r.name} is not marked as managed by dbwarden for workflow ${r.workflow}`,
        PHASE.roles,
        [plain(`COMMENT ON ROLE ${name} IS ${literal(r.marker)}`)],
        r.advisory.marker ? "advisory" : "drift",
      );
    }
    if (password !== undefined && !(catalog.passwords && scramMatches(catalog.passwords.get(r.name) ?? null, password))) {
      add("password", r.name, `${r.name}'s password is not the one in the secret store`, PHASE.roles, [passwordStatement(r.name, password)]);
    }
  }
}

/** Attributes, LOGIN, connection limit and expiry of one existing role: one ALTER ROLE fixes them all. */
function attributeDifferences({ add }: DiffContext, r: DesiredRole, live: CatalogRole): void {
  const wrong: string[] = [];
  const fix: string[] = [];
  const expect = (ok: boolean, problem: string, keyword: string) => {
    if (!ok) {
      wrong.push(problem);
      fix.push(keyword);
    }
  };
  for (const attribute of Object.keys(ATTRIBUTE_KEYWORDS) as AgentRoleAttribute[]) {
    const { on, off } = ATTRIBUTE_KEYWORDS[attribute];
    const has = live[attribute];
    const problem = has ? `${attribute === "superuser" ? "is" : "has"} ${on}` : `lacks ${on}`;
    expect(has === r.attributes[attribute], `${problem}: ${ATTRIBUTE_RISKS[attribute]}`, r.attributes[attribute] ? on : off);
  }
  if (r.login) expect(live.login, "cannot LOG IN", "LOGIN");
  else expect(!live.login, "can LOG IN, but a group role must not", "NOLOGIN");
  expect(
    live.connectionLimit === r.connectionLimit,
    `has connection limit ${live.connectionLimit} (the plan says ${r.connectionLimit})`,
    `CONNECTION LIMIT ${r.connectionLimit}`,
  );
  expect(
    live.validUntil === null || live.validUntil === "infinity",
    `has a password expiry (VALID UNTIL ${live.validUntil}) that the plan does not set`,
    `VALID UNTIL 'infinity'`,
  );
  if (wrong.length > 0)
    add("role-attribute", r.name, `${r.name} ${wrong.join("; ")}`, PHASE.roles, [plain(`ALTER ROLE ${ident(r.name)} WITH ${fix.join(" ")}`)]);
}

/** Roles marked for this environment and target that the plan no longer has. */
function staleRoleDifferences({ catalog, model, managed, add }: DiffContext): void {
  for (const live of catalog.roles.values()) {
    const marker = parseRoleMarker(live.comment);
    if (!marker || marker.environment !== model.environment || marker.target !== model.target || managed.has(live.name)) continue;
    const role = ident(live.name);
    add(
      "stale-role",
      live.name,
      `${live.name} is left over from workflow ${marker.workflow}, which the plan no longer has (expired or removed): it should not exist`,
      PHASE.drops,
      [plain(`REASSIGN OWNED BY ${role} TO CURRENT_USER`), plain(`DROP OWNED BY ${role}`), plain(`DROP ROLE ${role}`)],
    );
  }
}

/** Memberships: the planned ones (inheriting, no ADMIN OPTION), and no other of or in an agent role. */
function membershipDifferences(ctx: DiffContext): void {
  const { catalog, managed, pg16, add } = ctx;
  const gains = membershipGains(ctx);
  for (const m of catalog.memberships) {
    const memberPlan = managed.get(m.member);
    const grantedBy = pg16 && m.grantor ? ` GRANTED BY ${ident(m.grantor)}` : "";
    const revoke = [plain(`REVOKE ${ident(m.role)} FROM ${ident(m.member)}${grantedBy}`)];
    if (memberPlan?.memberOf.includes(m.role)) {
      plannedMembershipDifferences(ctx, m, grantedBy);
    } else if (memberPlan) {
      const what = gains(m);
      add(
        "membership",
        m.member,
        `${m.member} is a member of ${m.role}, which the plan does not give it${what.length ? `: ${what.join("; ")}` : ""}`,
        PHASE.memberships,
        revoke,
      );
    } else if (managed.has(m.role) && m.member !== catalog.currentUser && !(managed.get(m.role)!.platformMembers ?? []).includes(m.member)) {
      add("member", m.member, `${m.member} is a member of ${m.role} and so gets the agents' access; the plan has no such member`, PHASE.memberships, revoke);
    }
  }
  for (const r of ctx.model.roles) {
    for (const role of r.memberOf) {
      // A platform role the database lacks is a problem already; a planned group is created first.
      if (!catalog.roles.has(role) && !managed.has(role)) continue;
      if (catalog.memberships.some((m) => m.member === r.name && m.role === role)) continue;
      const why = role === r.group ? `its group ${role}, so it cannot use the workflow's access` : `${role}, which the platform's IAM authentication needs`;
      add("membership", r.name, `${r.name} is not a member of ${why}`, PHASE.memberships, [
        plain(`GRANT ${ident(role)} TO ${ident(r.name)}${pg16 ? " WITH INHERIT TRUE" : ""}`),
      ]);
    }
  }
}

/** A planned membership held with ADMIN OPTION, or without INHERIT. */
function plannedMembershipDifferences({ pg16, add }: DiffContext, m: CatalogMembership, grantedBy: string): void {
  if (m.admin) {
    add("membership", m.member, `${m.member} can grant ${m.role} to other roles (ADMIN OPTION)`, PHASE.memberships, [
      plain(`REVOKE ADMIN OPTION FOR ${ident(m.role)} FROM ${ident(m.member)}${grantedBy}`),
    ]);
  }
  if (!m.inherit && pg16) {
    add("membership", m.member, `${m.member} is a member of ${m.role} without INHERIT: it cannot use the group's privileges`, PHASE.memberships, [
      plain(`GRANT ${ident(m.role)} TO ${ident(m.member)} WITH INHERIT TRUE${grantedBy}`),
    ]);
  }
}

/**
 * What an unplanned membership gives an agent role, in words: the role's power, and the tables it
 * reaches through it. Effective access is computed only when such a membership exists, once per member.
 */
function membershipGains({ catalog }: DiffContext): (m: CatalogMembership) => string[] {
  const effectiveByName = new Map<string, EffectiveRole | undefined>();
  const effectiveOf = (role: string) => {
    if (!effectiveByName.has(role)) effectiveByName.set(role, effectiveAccessFrom(catalog, [role]).roles[0]);
    return effectiveByName.get(role);
  };
  return (m) => {
    const power = POWERFUL_ROLES[m.role] ?? (catalog.roles.get(m.role)?.superuser ? "become a superuser with SET ROLE" : null);
    const through = effectiveOf(m.member)
      ?.tables.filter((t) => t.privileges.some((p) => p.via.includes(m.role)) || t.columns.some((c) => c.privileges.some((p) => p.via.includes(m.role))))
      .map((t) => `${t.schema}.${t.table}`);
    return [
      power ? `it can ${power}` : null,
      through && through.length > 0
        ? `through it, it reaches ${through.slice(0, 5).join(", ")}${through.length > 5 ? ` and ${through.length - 5} more tables` : ""}`
        : null,
    ].filter((x): x is string => x !== null);
  };
}

/** A (possibly dotted) setting name, each part quoted. */
function settingName(name: string): string {
  return name.split(".").map(ident).join(".");
}

/**
 * A setting's value in `ALTER ROLE ... SET`: a literal, except a `search_path`, which the model
 * holds as a list of quoted schemas (one literal would be one schema named "a, b").
 */
function settingValue(name: string, value: string): string {
  return name === "search_path" ? searchPathValue(searchPathSchemas(value)) : literal(value);
}

/** Does a live value hold the planned one? A `search_path` is compared schema by schema (PostgreSQL quotes only where needed). */
function sameSetting(name: string, live: string, planned: string): boolean {
  return name === "search_path" ? searchPathSchemas(live).join("\u0000") === searchPathSchemas(planned).join("\u0000") : live === planned;
}

/** Exactly the planned `ALTER ROLE ... SET` values, in every database, and none in this one. */
function settingDifferences({ catalog, model, db, add }: DiffContext): void {
  for (const r of model.roles) {
    const role = ident(r.name);
    const live = catalog.settings.filter((s) => s.role === r.name);
    for (const s of live) {
      if (s.database !== null) {
        add("setting", r.name, `${r.name} has ${s.name} = ${s.value} in database ${s.database}, which the plan does not set`, PHASE.settings, [
          plain(`ALTER ROLE ${role} IN DATABASE ${db} RESET ${settingName(s.name)}`),
        ]);
      } else if (!(s.name in r.settings)) {
        add("setting", r.name, `${r.name} has ${s.name} = ${s.value}, which the plan does not set`, PHASE.settings, [
          plain(`ALTER ROLE ${role} RESET ${settingName(s.name)}`),
        ]);
      }
    }
    for (const [name, value] of Object.entries(r.settings)) {
      const current = live.find((s) => s.database === null && s.name === name);
      if (current && sameSetting(name, current.value, value)) continue;
      add(
        "setting",
        r.name,
        current ? `${r.name} has ${name} = ${current.value} (the plan says ${value})` : `${r.name} does not have ${name} = ${value} set`,
        PHASE.settings,
        [plain(`ALTER ROLE ${role} SET ${settingName(name)} = ${settingValue(name, value)}`)],
        !current && r.advisory.settings.includes(name) ? "advisory" : "drift",
      );
    }
  }
}

/** Agent roles own nothing: an owner has every privilege on what it owns. */
function ownershipDifferences({ catalog, model, add }: DiffContext): void {
  for (const r of model.roles) {
    const owned = catalog.ownership
      .filter((o) => o.role === r.name)
      .map((o) => o.object)
      .sort(byString);
    if (owned.length === 0) continue;
    add(
      "ownership",
      r.name,
      `${r.name} owns ${owned.slice(0, 5).join(", ")}${owned.length > 5 ? ` and ${owned.length - 5} more` : ""}: ` +
        `an owner has every privilege on what it owns, and agent roles must own nothing`,
      PHASE.ownership,
      [plain(`REASSIGN OWNED BY ${ident(r.name)} TO CURRENT_USER`)],
    );
  }
}

const DEFAULT_ACL_TYPES: Record<string, string> = { r: "TABLES", S: "SEQUENCES", f: "FUNCTIONS", T: "TYPES", n: "SCHEMAS" };

/**
 * Default privileges that would hand future objects to an agent role, or future tables, sequences
 * and schemas to PUBLIC (future functions: ./diff/functions.ts). Where the spec leaves PUBLIC
 * alone, PUBLIC's are reported with nothing to run.
 */
function defaultPrivilegeDifferences({ catalog, model, managed, add }: DiffContext): void {
  const defaults = new Map<string, { owner: string; schema: string | null; objectType: string; grantee: string; privileges: Set<string> }>();
  for (const d of catalog.defaultAcl) {
    const relevant = managed.has(d.grantee) || (d.grantee === PUBLIC && (d.objectType === "r" || d.objectType === "S" || d.objectType === "n"));
    if (!relevant) continue;
    const k = `${d.owner}\u0000${d.schema ?? ""}\u0000${d.objectType}\u0000${d.grantee}`;
    if (!defaults.has(k)) defaults.set(k, { owner: d.owner, schema: d.schema, objectType: d.objectType, grantee: d.grantee, privileges: new Set() });
    defaults.get(k)!.privileges.add(d.privilege);
  }
  for (const d of defaults.values()) {
    const type = DEFAULT_ACL_TYPES[d.objectType] ?? d.objectType;
    const privs = [...d.privileges].sort(byString);
    const left = d.grantee === PUBLIC && model.public.mode === "leave";
    const message =
      `${describeGrantee(d.grantee)} will get ${privs.join(", ")} on every new ${type.toLowerCase().replace(/s$/, "")} that ${d.owner} ` +
      `creates${d.schema ? ` in schema ${d.schema}` : ""} (default privileges; not in the plan${left ? `; ${leftToOwners(model.target)}` : ""})`;
    const fix =
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(d.owner)}${d.schema ? ` IN SCHEMA ${ident(d.schema)}` : ""} ` +
      `REVOKE ${privs.join(", ")} ON ${type} FROM ${grantee(d.grantee)}`;
    add("default-privilege", d.grantee, message, PHASE.revokes, left ? [] : [plain(fix)]);
  }
}

export interface LiveComparison {
  model: PostgresModel;
  /** The catalog read (its live columns were the model's column source). */
  catalog: Catalog;
  differences: Difference[];
}

/**
 * Read the live catalog of `target`'s database and compare it with the plan's model, the live
 * columns as the column source (no change is made). With `withPasswords`, stored password
 * verifiers are read too, to compare with `passwords` (superuser connections only).
 */
export async function compareLiveDatabase(
  client: pg.ClientBase,
  plan: AccessPlan,
  options: { target: string; passwords?: Record<string, string> },
  withPasswords = false,
): Promise<LiveComparison> {
  const target = postgresTarget(plan, options.target);
  const catalog = await readCatalog(client, {
    roles: desiredRoles(plan, target).roles.map((r) => r.name),
    tables: plannedTables(plan, target.name),
    passwords: withPasswords && options.passwords !== undefined,
    governedSchemas: workflowsOf(plan, target.name).flatMap((w) => (w.governedSchema === null ? [] : [w.governedSchema])),
  });
  const model = postgresModel(plan, target.name, catalogColumns(catalog));
  return { model, catalog, differences: diffLiveDatabase(catalog, model, options.passwords ? { passwords: options.passwords } : {}) };
}
