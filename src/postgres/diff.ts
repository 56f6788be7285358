/**
 * The one comparison between an access plan and a live catalog. The reconciler executes the
 * statements it returns; drift detection reports the same differences in words. So `drift` after
 * `reconcile` is empty by construction, and `drift --fix` is exactly `reconcile`.
 *
 * What the plan means in the database (for the workflows of one target):
 * - group role per workflow: NOLOGIN, no other attribute, member of nothing, holds exactly the
 *   planned privileges directly (CONNECT, USAGE, table or column SELECT), owns nothing, no settings;
 * - login role per client: LOGIN + INHERIT only, the planned connection limit and settings, member
 *   of its group only (inheriting), no direct privileges, owns nothing;
 * - nobody else is a member of these roles; no default privileges give them anything;
 * - PUBLIC holds nothing on the database, nothing on the planned schemas, CREATE on no schema, and
 *   nothing on any table or column (what PUBLIC holds, every agent holds);
 * - roles marked as managed for this environment and target but no longer planned are dropped.
 */
import { isPostgresPlatform, workflowsOf, type AccessPlan, type TargetPlan, type WorkflowPlan } from "../plan/types.ts";
import { loginConnectionLimit, loginSettings, workflowPrivileges, type Privilege } from "./model.ts";
import { POWERFUL_ROLES, privilegeWords } from "./rules.ts";
import { tableKey, type AclEntry, type Catalog } from "./catalog.ts";
import { byString, effectiveAccessFrom, type EffectiveRole } from "./effective.ts";
import { PUBLIC, REDACTED, grantee, ident, literal, qualified, scramMatches, scramVerifier } from "./sql.ts";

export type DifferenceKind =
  | "missing-object"
  | "missing-role"
  | "role-attribute"
  | "role-marker"
  | "password"
  | "membership"
  | "member"
  | "setting"
  | "ownership"
  | "privilege"
  | "public"
  | "default-privilege"
  | "stale-role";

/** A statement to run, and how it may be shown (passwords redacted). */
export interface Statement {
  sql: string;
  shown: string;
}

export interface Difference {
  kind: DifferenceKind;
  /** The role concerned, or "PUBLIC". */
  role: string;
  /** In words a reviewer understands. */
  message: string;
  /** What the reconciler runs to remove the difference (empty for `missing-object`). */
  statements: Statement[];
  /** Execution order: roles, memberships, settings, ownership, revokes, grants, drops. */
  phase: number;
}

export interface ManagedRole {
  name: string;
  kind: "group" | "login";
  workflow: string;
  group: string;
  connectionLimit: number;
  settings: Record<string, string>;
}

/** Marker stored as the role's comment: how reconcile and drift recognise their own roles. */
export function roleMarker(environment: string, target: string, workflow: string, kind: "group" | "login"): string {
  return `dbwarden-managed environment=${environment} target=${target} workflow=${workflow} kind=${kind}; changes by hand are reverted`;
}
const MARKER_PATTERN = /^dbwarden-managed environment=(\S+) target=(\S+) workflow=(\S+) kind=(group|login)\b/;

export function managedRoles(plan: AccessPlan, target: string): ManagedRole[] {
  const roles: ManagedRole[] = [];
  for (const w of workflowsOf(plan, target)) {
    roles.push({ name: w.roles.group, kind: "group", workflow: w.name, group: w.roles.group, connectionLimit: -1, settings: {} });
    for (const l of w.roles.logins) {
      roles.push({
        name: l.role,
        kind: "login",
        workflow: w.name,
        group: w.roles.group,
        connectionLimit: loginConnectionLimit(plan, w),
        settings: loginSettings(plan, w),
      });
    }
  }
  return roles;
}

export function plannedTables(plan: AccessPlan, target: string): Array<{ schema: string; table: string }> {
  const seen = new Map<string, { schema: string; table: string }>();
  for (const w of workflowsOf(plan, target)) {
    for (const p of workflowPrivileges(w, findDatabase(plan, target))) {
      if (p.objectType === "table" || p.objectType === "column") seen.set(tableKey(p.schema, p.table), { schema: p.schema, table: p.table });
    }
  }
  return [...seen.values()];
}

const words = privilegeWords;

const plain = (sql: string): Statement => ({ sql, shown: sql });

/** A (possibly dotted) setting name, each part quoted. */
function settingName(name: string): string {
  return name.split(".").map(ident).join(".");
}

interface DesiredAccess {
  database: Set<string>;
  schemas: Map<string, Set<string>>;
  /** tableKey -> the table and its table-level privileges. */
  tables: Map<string, { schema: string; table: string; privileges: Set<string> }>;
  /** tableKey -> the table and, per privilege, its columns. */
  columns: Map<string, { schema: string; table: string; privileges: Map<string, Set<string>> }>;
}

export interface DiffOptions {
  target: string;
  /** Login passwords to set where the stored verifier does not match. */
  passwords?: Record<string, string>;
}

export interface DiffResult {
  differences: Difference[];
}

/** Is the target a PostgreSQL database (plain, RDS or Cloud SQL): one this module can compare? */
export function isPostgresTarget(target: TargetPlan): boolean {
  return isPostgresPlatform(target.platform);
}

function findDatabase(plan: AccessPlan, target: string): string {
  return plan.targets.find((t) => t.name === target)?.database ?? "";
}

export function diffPlan(catalog: Catalog, plan: AccessPlan, options: DiffOptions): DiffResult {
  const targetPlan = plan.targets.find((t) => t.name === options.target);
  if (!targetPlan) throw new Error(`the plan has no target "${options.target}" (it has: ${plan.targets.map((t) => t.name).join(", ") || "none"})`);
  if (!isPostgresTarget(targetPlan)) {
    throw new Error(`target "${options.target}" is on ${targetPlan.platform}, not PostgreSQL`);
  }
  const differences: Difference[] = [];
  const add = (kind: DifferenceKind, role: string, message: string, phase: number, statements: Statement[] = []) =>
    differences.push({ kind, role, message, statements, phase });

  if (catalog.database !== targetPlan.database) {
    add(
      "missing-object",
      PUBLIC,
      `connected to database "${catalog.database}", but target "${options.target}" is database "${targetPlan.database}"`,
      0,
    );
    return { differences };
  }
  const db = ident(catalog.database);
  const roles = managedRoles(plan, options.target);
  const managed = new Map(roles.map((r) => [r.name, r]));
  const pg16 = catalog.serverVersion >= 160000;

  // ---- desired access of each group role, with allColumnsExcept resolved against the catalog ----
  const desired = new Map<string, DesiredAccess>();
  const plannedSchemas = new Set<string>();
  for (const w of workflowsOf(plan, options.target)) {
    const access: DesiredAccess = { database: new Set(), schemas: new Map(), tables: new Map(), columns: new Map() };
    desired.set(w.roles.group, access);
    for (const p of workflowPrivileges(w, targetPlan.database)) resolvePrivilege(p, access, plannedSchemas, catalog, w, add);
  }
  const nothing: DesiredAccess = { database: new Set(), schemas: new Map(), tables: new Map(), columns: new Map() };
  const desiredOf = (role: string) => desired.get(role) ?? nothing;

  // ---- roles: existence, attributes, marker, password ----
  for (const r of roles) {
    const live = catalog.roles.get(r.name);
    const marker = roleMarker(plan.environment, options.target, r.workflow, r.kind);
    const attrs =
      r.kind === "login"
        ? `LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT ${r.connectionLimit}`
        : `NOLOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT -1`;
    const password = options.passwords?.[r.name];
    if (!live) {
      const statements = [plain(`CREATE ROLE ${ident(r.name)} WITH ${attrs}`), plain(`COMMENT ON ROLE ${ident(r.name)} IS ${literal(marker)}`)];
      if (password !== undefined) statements.push(passwordStatement(r.name, password));
      add("missing-role", r.name, `${r.kind} role ${r.name} of workflow ${r.workflow} does not exist`, 1, statements);
      continue;
    }
    const wrong: string[] = [];
    const fix: string[] = [];
    const expect = (ok: boolean, problem: string, keyword: string) => {
      if (!ok) {
        wrong.push(problem);
        fix.push(keyword);
      }
    };
    expect(!live.superuser, "is SUPERUSER: it bypasses every privilege check", "NOSUPERUSER");
    expect(!live.createrole, "has CREATEROLE: it can create roles and grant itself their memberships", "NOCREATEROLE");
    expect(!live.createdb, "has CREATEDB: it can create databases", "NOCREATEDB");
    expect(!live.replication, "has REPLICATION: it can stream every row of the database", "NOREPLICATION");
    expect(!live.bypassrls, "has BYPASSRLS: row-level security does not apply to it", "NOBYPASSRLS");
    expect(live.inherit, "does not INHERIT: it cannot use its group's privileges", "INHERIT");
    if (r.kind === "login") expect(live.login, "cannot LOG IN", "LOGIN");
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
    if (wrong.length > 0) {
      add("role-attribute", r.name, `${r.name} ${wrong.join("; ")}`, 1, [plain(`ALTER ROLE ${ident(r.name)} WITH ${fix.join(" ")}`)]);
    }
    if (live.comment !== marker) {
      add(
        "role-marker",
        r.name,
        `${r.name} is not marked as managed by dbwarden for workflow ${r.workflow}`,
        1,
        [plain(`COMMENT ON ROLE ${ident(r.name)} IS ${literal(marker)}`)],
      );
    }
    if (password !== undefined && !(catalog.passwords && scramMatches(catalog.passwords.get(r.name) ?? null, password))) {
      add("password", r.name, `${r.name}'s password is not the one in the secret store`, 1, [passwordStatement(r.name, password)]);
    }
  }

  // ---- stale roles: marked for this environment and target, no longer planned ----
  for (const live of catalog.roles.values()) {
    const m = live.comment ? MARKER_PATTERN.exec(live.comment) : null;
    if (!m || m[1] !== plan.environment || m[2] !== options.target || managed.has(live.name)) continue;
    const role = ident(live.name);
    add(
      "stale-role",
      live.name,
      `${live.name} is left over from workflow ${m[3]}, which the plan no longer has (expired or removed): it should not exist`,
      7,
      [plain(`REASSIGN OWNED BY ${role} TO CURRENT_USER`), plain(`DROP OWNED BY ${role}`), plain(`DROP ROLE ${role}`)],
    );
  }

  // ---- memberships ----
  // What a managed role reaches through a membership the plan does not give it: only needed (and
  // only computed) when such a membership exists, once per member role.
  const effectiveByName = new Map<string, EffectiveRole | undefined>();
  const effectiveOf = (role: string) => {
    if (!effectiveByName.has(role)) effectiveByName.set(role, effectiveAccessFrom(catalog, [role]).roles[0]);
    return effectiveByName.get(role);
  };
  for (const m of catalog.memberships) {
    const memberPlan = managed.get(m.member);
    const rolePlan = managed.get(m.role);
    const planned = memberPlan?.kind === "login" && memberPlan.group === m.role;
    const grantedBy = pg16 && m.grantor ? ` GRANTED BY ${ident(m.grantor)}` : "";
    if (planned) {
      if (m.admin) {
        add("membership", m.member, `${m.member} can grant ${m.role} to other roles (ADMIN OPTION)`, 2, [
          plain(`REVOKE ADMIN OPTION FOR ${ident(m.role)} FROM ${ident(m.member)}${grantedBy}`),
        ]);
      }
      if (!m.inherit && pg16) {
        add("membership", m.member, `${m.member} is a member of ${m.role} without INHERIT: it cannot use the group's privileges`, 2, [
          plain(`GRANT ${ident(m.role)} TO ${ident(m.member)} WITH INHERIT TRUE${grantedBy}`),
        ]);
      }
      continue;
    }
    if (memberPlan) {
      const live = catalog.roles.get(m.role);
      const power = POWERFUL_ROLES[m.role] ?? (live?.superuser ? "become a superuser with SET ROLE" : null);
      const through = effectiveOf(m.member)
        ?.tables.filter((t) => t.privileges.some((p) => p.via.includes(m.role)) || t.columns.some((c) => c.privileges.some((p) => p.via.includes(m.role))))
        .map((t) => `${t.schema}.${t.table}`);
      const gains = [
        power ? `it can ${power}` : null,
        through && through.length > 0
          ? `through it, it reaches ${through.slice(0, 5).join(", ")}${through.length > 5 ? ` and ${through.length - 5} more tables` : ""}`
          : null,
      ].filter(Boolean);
      add(
        "membership",
        m.member,
        `${m.member} is a member of ${m.role}, which the plan does not give it${gains.length ? `: ${gains.join("; ")}` : ""}`,
        2,
        [plain(`REVOKE ${ident(m.role)} FROM ${ident(m.member)}${grantedBy}`)],
      );
      continue;
    }
    if (rolePlan && m.member !== catalog.currentUser) {
      add("member", m.member, `${m.member} is a member of ${m.role} and so gets the agents' access; the plan has no such member`, 2, [
        plain(`REVOKE ${ident(m.role)} FROM ${ident(m.member)}${grantedBy}`),
      ]);
    }
  }
  for (const r of roles) {
    if (r.kind !== "login") continue;
    const has = catalog.memberships.some((m) => m.member === r.name && m.role === r.group);
    if (!has) {
      add("membership", r.name, `${r.name} is not a member of its group ${r.group}, so it cannot use the workflow's access`, 2, [
        plain(`GRANT ${ident(r.group)} TO ${ident(r.name)}${pg16 ? " WITH INHERIT TRUE" : ""}`),
      ]);
    }
  }

  // ---- settings ----
  for (const r of roles) {
    const live = catalog.settings.filter((s) => s.role === r.name);
    for (const s of live) {
      if (s.database !== null) {
        add("setting", r.name, `${r.name} has ${s.name} = ${s.value} in database ${s.database}, which the plan does not set`, 3, [
          plain(`ALTER ROLE ${ident(r.name)} IN DATABASE ${db} RESET ${settingName(s.name)}`),
        ]);
      } else if (!(s.name in r.settings)) {
        add("setting", r.name, `${r.name} has ${s.name} = ${s.value}, which the plan does not set`, 3, [
          plain(`ALTER ROLE ${ident(r.name)} RESET ${settingName(s.name)}`),
        ]);
      }
    }
    for (const [name, value] of Object.entries(r.settings)) {
      const current = live.find((s) => s.database === null && s.name === name);
      if (current?.value === value) continue;
      add(
        "setting",
        r.name,
        current ? `${r.name} has ${name} = ${current.value} (the plan says ${value})` : `${r.name} does not have ${name} = ${value} set`,
        3,
        [plain(`ALTER ROLE ${ident(r.name)} SET ${settingName(name)} = ${literal(value)}`)],
      );
    }
  }

  // ---- ownership ----
  for (const r of roles) {
    const owned = catalog.ownership.filter((o) => o.role === r.name).map((o) => o.object).sort(byString);
    if (owned.length === 0) continue;
    add(
      "ownership",
      r.name,
      `${r.name} owns ${owned.slice(0, 5).join(", ")}${owned.length > 5 ? ` and ${owned.length - 5} more` : ""}: an owner has every privilege on what it owns, and agent roles must own nothing`,
      4,
      [plain(`REASSIGN OWNED BY ${ident(r.name)} TO CURRENT_USER`)],
    );
  }

  // ---- privileges of every managed role and of PUBLIC ----
  const grantees = [...roles.map((r) => r.name).filter((n) => catalog.roles.has(n) || desired.has(n)), PUBLIC];
  const who = (g: string) => (g === PUBLIC ? "PUBLIC (every role, so every agent too)" : g);
  const why = (g: string) =>
    g === PUBLIC
      ? "granted to PUBLIC"
      : managed.get(g)?.kind === "login"
        ? `granted directly to the login; the plan grants access only through ${managed.get(g)!.group}`
        : "not in the plan";
  const pick = <T extends AclEntry>(entries: T[], g: string) => entries.filter((e) => e.grantee === g);

  for (const g of grantees) {
    const want = desiredOf(g);
    // Database.
    diffObject(
      pick(catalog.databaseAcl, g),
      want.database,
      (privs) => `REVOKE ${privs} ON DATABASE ${db} FROM ${grantee(g)}`,
      (privs) => `GRANT ${privs} ON DATABASE ${db} TO ${grantee(g)}`,
      (privs) => `REVOKE GRANT OPTION FOR ${privs} ON DATABASE ${db} FROM ${grantee(g)}`,
      `database ${catalog.database}`,
    );
    // Schemas.
    const schemaEntries = pick(catalog.schemaAcl, g);
    const schemaNames = new Set([...schemaEntries.map((e) => e.schema), ...want.schemas.keys()]);
    for (const schema of [...schemaNames].sort(byString)) {
      let entries = schemaEntries.filter((e) => e.schema === schema);
      // PUBLIC may keep USAGE on schemas no workflow reads: without table privileges it reveals nothing.
      if (g === PUBLIC && !plannedSchemas.has(schema)) entries = entries.filter((e) => e.privilege !== "USAGE");
      diffObject(
        entries,
        want.schemas.get(schema) ?? new Set(),
        (privs) => `REVOKE ${privs} ON SCHEMA ${ident(schema)} FROM ${grantee(g)}`,
        (privs) => `GRANT ${privs} ON SCHEMA ${ident(schema)} TO ${grantee(g)}`,
        (privs) => `REVOKE GRANT OPTION FOR ${privs} ON SCHEMA ${ident(schema)} FROM ${grantee(g)}`,
        `schema ${schema}`,
      );
    }
    // Tables and columns.
    const tableEntries = pick(catalog.tableAcl, g);
    const columnEntries = pick(catalog.columnAcl, g);
    const byTable = new Map<string, { schema: string; table: string; kind: string }>();
    for (const e of [...tableEntries, ...columnEntries]) {
      const k = tableKey(e.schema, e.table);
      if (!byTable.has(k)) byTable.set(k, { schema: e.schema, table: e.table, kind: "kind" in e ? e.kind : "r" });
      else if ("kind" in e) byTable.get(k)!.kind = e.kind;
    }
    for (const [k, t] of [...want.tables, ...want.columns]) {
      if (!byTable.has(k)) byTable.set(k, { schema: t.schema, table: t.table, kind: catalog.tableColumns.get(k)?.kind ?? "r" });
    }
    for (const k of [...byTable.keys()].sort(byString)) {
      const { schema, table, kind } = byTable.get(k)!;
      const on = `${kind === "S" ? "SEQUENCE" : "TABLE"} ${qualified(schema, table)}`;
      const name = `${schema}.${table}`;
      const tEntries = tableEntries.filter((e) => e.schema === schema && e.table === table);
      const cleared = diffObject(
        tEntries,
        want.tables.get(k)?.privileges ?? new Set(),
        (privs) => `REVOKE ${privs} ON ${on} FROM ${grantee(g)}`,
        (privs) => `GRANT ${privs} ON ${on} TO ${grantee(g)}`,
        (privs) => `REVOKE GRANT OPTION FOR ${privs} ON ${on} FROM ${grantee(g)}`,
        name,
      );
      // Column privileges. Revoking a table-level privilege also revokes it on every column.
      const cEntries = columnEntries.filter((e) => e.schema === schema && e.table === table && !cleared.has(e.privilege));
      const wantCols = want.columns.get(k)?.privileges ?? new Map<string, Set<string>>();
      const privileges = new Set([...cEntries.map((e) => e.privilege), ...wantCols.keys()]);
      for (const privilege of [...privileges].sort(byString)) {
        const have = cEntries.filter((e) => e.privilege === privilege);
        const wanted = wantCols.get(privilege) ?? new Set<string>();
        const extra = [...new Set(have.filter((e) => !wanted.has(e.column)).map((e) => e.column))].sort(byString);
        const missing = [...wanted].filter((c) => !have.some((e) => e.column === c)).sort(byString);
        const grantable = have.filter((e) => wanted.has(e.column) && e.grantable).map((e) => e.column).sort(byString);
        const cols = (list: string[]) => list.map(ident).join(", ");
        if (extra.length > 0) {
          add(
            g === PUBLIC ? "public" : "privilege",
            g,
            `${who(g)} can ${words(privilege)} column${extra.length > 1 ? "s" : ""} ${extra.map((c) => `${name}.${c}`).join(", ")} (${why(g)})`,
            5,
            [plain(`REVOKE ${privilege} (${cols(extra)}) ON ${on} FROM ${grantee(g)}`)],
          );
        }
        if (missing.length > 0) {
          add(
            "privilege",
            g,
            `${g} cannot ${words(privilege)} ${missing.map((c) => `${name}.${c}`).join(", ")}: the plan grants it`,
            6,
            [plain(`GRANT ${privilege} (${cols(missing)}) ON ${on} TO ${grantee(g)}`)],
          );
        }
        if (grantable.length > 0) {
          add("privilege", g, `${g} can pass on ${privilege} on ${grantable.map((c) => `${name}.${c}`).join(", ")} to others (WITH GRANT OPTION)`, 5, [
            plain(`REVOKE GRANT OPTION FOR ${privilege} (${cols(grantable)}) ON ${on} FROM ${grantee(g)}`),
          ]);
        }
      }
    }

    /** Compare one object's privileges; returns the privileges revoked. */
    function diffObject(
      entries: AclEntry[],
      wanted: Set<string>,
      revoke: (privs: string) => string,
      grant: (privs: string) => string,
      revokeOption: (privs: string) => string,
      object: string,
    ): Set<string> {
      const have = new Set(entries.map((e) => e.privilege));
      const extra = [...have].filter((p) => !wanted.has(p)).sort(byString);
      const missing = [...wanted].filter((p) => !have.has(p)).sort(byString);
      const grantable = [...new Set(entries.filter((e) => e.grantable && wanted.has(e.privilege)).map((e) => e.privilege))].sort(byString);
      if (extra.length > 0) {
        add(
          g === PUBLIC ? "public" : "privilege",
          g,
          `${who(g)} can ${extra.map(words).join(", ")} ${object} (${why(g)})`,
          5,
          [plain(revoke(extra.join(", ")))],
        );
      }
      if (missing.length > 0) {
        add("privilege", g, `${g} cannot ${missing.map(words).join(", ")} ${object}: the plan grants it`, 6, [plain(grant(missing.join(", ")))]);
      }
      if (grantable.length > 0) {
        add("privilege", g, `${g} can pass on ${grantable.join(", ")} on ${object} to others (WITH GRANT OPTION)`, 5, [
          plain(revokeOption(grantable.join(", "))),
        ]);
      }
      return new Set(extra);
    }
  }

  // ---- default privileges that would hand future objects to agents or PUBLIC ----
  const defaultTypes: Record<string, string> = { r: "TABLES", S: "SEQUENCES", f: "FUNCTIONS", T: "TYPES", n: "SCHEMAS" };
  const defaults = new Map<string, { owner: string; schema: string | null; objectType: string; grantee: string; privileges: Set<string> }>();
  for (const d of catalog.defaultAcl) {
    const relevant = managed.has(d.grantee) || (d.grantee === PUBLIC && (d.objectType === "r" || d.objectType === "S" || d.objectType === "n"));
    if (!relevant) continue;
    const k = `${d.owner}\u0000${d.schema ?? ""}\u0000${d.objectType}\u0000${d.grantee}`;
    if (!defaults.has(k)) defaults.set(k, { owner: d.owner, schema: d.schema, objectType: d.objectType, grantee: d.grantee, privileges: new Set() });
    defaults.get(k)!.privileges.add(d.privilege);
  }
  for (const d of [...defaults.values()]) {
    const type = defaultTypes[d.objectType] ?? d.objectType;
    const privs = [...d.privileges].sort(byString);
    add(
      "default-privilege",
      d.grantee,
      `${who(d.grantee)} will get ${privs.join(", ")} on every new ${type.toLowerCase().replace(/s$/, "")} that ${d.owner} creates${d.schema ? ` in schema ${d.schema}` : ""} (default privileges; not in the plan)`,
      5,
      [
        plain(
          `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(d.owner)}${d.schema ? ` IN SCHEMA ${ident(d.schema)}` : ""} REVOKE ${privs.join(", ")} ON ${type} FROM ${grantee(d.grantee)}`,
        ),
      ],
    );
  }

  differences.sort((a, b) => a.phase - b.phase);
  return { differences };
}

function passwordStatement(role: string, password: string): Statement {
  return {
    sql: `ALTER ROLE ${ident(role)} WITH PASSWORD ${literal(scramVerifier(password))}`,
    shown: `ALTER ROLE ${ident(role)} WITH PASSWORD ${REDACTED}`,
  };
}

function resolvePrivilege(
  p: Privilege,
  access: DesiredAccess,
  plannedSchemas: Set<string>,
  catalog: Catalog,
  w: WorkflowPlan,
  add: (kind: DifferenceKind, role: string, message: string, phase: number) => void,
): void {
  const group = w.roles.group;
  if (p.objectType === "database") {
    access.database.add(p.privilege);
    return;
  }
  if (p.objectType === "schema") {
    plannedSchemas.add(p.schema);
    if (!catalog.schemas.has(p.schema)) {
      add("missing-object", group, `workflow ${w.name} reads schema ${p.schema}, which does not exist in database ${catalog.database}`, 0);
      return;
    }
    if (!access.schemas.has(p.schema)) access.schemas.set(p.schema, new Set());
    access.schemas.get(p.schema)!.add(p.privilege);
    return;
  }
  const k = tableKey(p.schema, p.table);
  const name = `${p.schema}.${p.table}`;
  const live = catalog.tableColumns.get(k);
  if (!live) {
    add("missing-object", group, `workflow ${w.name} reads table ${name}, which does not exist in database ${catalog.database}`, 0);
    return;
  }
  if (p.objectType === "table") {
    if (!access.tables.has(k)) access.tables.set(k, { schema: p.schema, table: p.table, privileges: new Set() });
    access.tables.get(k)!.privileges.add(p.privilege);
    return;
  }
  let columns: string[];
  if ("columns" in p) {
    const unknown = p.columns.filter((c) => !live.columns.includes(c));
    if (unknown.length > 0) {
      add("missing-object", group, `workflow ${w.name} reads column${unknown.length > 1 ? "s" : ""} ${unknown.map((c) => `${name}.${c}`).join(", ")}, which ${unknown.length > 1 ? "do" : "does"} not exist`, 0);
    }
    columns = p.columns.filter((c) => live.columns.includes(c));
  } else {
    const excluded = new Set(p.allColumnsExcept);
    columns = live.columns.filter((c) => !excluded.has(c));
    if (columns.length === 0) {
      add("missing-object", group, `workflow ${w.name} reads ${name} except ${p.allColumnsExcept.join(", ")}, which leaves no column`, 0);
    }
  }
  if (!access.columns.has(k)) access.columns.set(k, { schema: p.schema, table: p.table, privileges: new Map() });
  const byPrivilege = access.columns.get(k)!.privileges;
  if (!byPrivilege.has(p.privilege)) byPrivilege.set(p.privilege, new Set());
  for (const c of columns) byPrivilege.get(p.privilege)!.add(c);
}
