/**
 * The SQL `@pulumi/postgresql` (cyrilgdn/terraform-provider-postgresql) runs to create the
 * resources a component registered, from their recorded inputs. Only what the components use:
 * Role (attributes, memberships, statement/idle timeouts, write-only password), Grant
 * (database, schema, table, column and every-routine-of-a-schema grants: REVOKE then GRANT in one
 * transaction, as the provider's create does) and DefaultPrivileges (ALTER DEFAULT PRIVILEGES FOR
 * ROLE <owner> REVOKE ALL, then GRANT). Extensions are reported back, not applied (pgaudit cannot load into
 * the embedded PostgreSQL used by tests).
 */
import { isSecretValue, type RecordedResource } from "../../../src/testing/index.ts";

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;
const unwrap = (value: unknown) => (isSecretValue(value) ? (value as { value: unknown }).value : value);

export interface ProviderSql {
  /** Statement groups, each run in one transaction, in registration order. */
  transactions: string[][];
  /** Resources of other types that were not translated (e.g. Extension). */
  skipped: RecordedResource[];
}

export function providerSql(resources: readonly RecordedResource[]): ProviderSql {
  const transactions: string[][] = [];
  const skipped: RecordedResource[] = [];
  for (const resource of resources) {
    const i = resource.inputs;
    switch (resource.type) {
      case "postgresql:index/role:Role": {
        const name = ident(String(i.name));
        const password = unwrap(i.passwordWo);
        const attributes = [
          i.login ? "LOGIN" : "NOLOGIN",
          i.superuser ? "SUPERUSER" : "NOSUPERUSER",
          i.createDatabase ? "CREATEDB" : "NOCREATEDB",
          i.createRole ? "CREATEROLE" : "NOCREATEROLE",
          i.inherit === false ? "NOINHERIT" : "INHERIT",
          i.replication ? "REPLICATION" : "NOREPLICATION",
          i.bypassRowLevelSecurity ? "BYPASSRLS" : "NOBYPASSRLS",
          `CONNECTION LIMIT ${i.connectionLimit ?? -1}`,
          ...(typeof password === "string" ? [`PASSWORD ${literal(password)}`] : []),
        ];
        const statements = [`CREATE ROLE ${name} WITH ${attributes.join(" ")}`];
        for (const member of (i.roles as string[] | undefined) ?? []) statements.push(`GRANT ${ident(member)} TO ${name}`);
        if (i.statementTimeout !== undefined) statements.push(`ALTER ROLE ${name} SET statement_timeout TO ${Number(i.statementTimeout)}`);
        if (i.idleInTransactionSessionTimeout !== undefined) {
          statements.push(`ALTER ROLE ${name} SET idle_in_transaction_session_timeout TO ${Number(i.idleInTransactionSessionTimeout)}`);
        }
        transactions.push(statements);
        break;
      }
      case "postgresql:index/grant:Grant": {
        // The provider's "public" is the PUBLIC pseudo-role; empty privileges mean revoke only.
        const role = i.role === "public" ? "PUBLIC" : ident(String(i.role));
        const both = (revoke: string, grant: string) => ((i.privileges as string[]).length > 0 ? [revoke, grant] : [revoke]);
        const privileges = (i.privileges as string[]).join(", ");
        const objects = (i.objects as string[] | undefined) ?? [];
        const schema = i.schema === undefined ? "" : ident(String(i.schema));
        switch (i.objectType) {
          case "database":
            transactions.push(
              both(
                `REVOKE ALL PRIVILEGES ON DATABASE ${ident(String(i.database))} FROM ${role}`,
                `GRANT ${privileges} ON DATABASE ${ident(String(i.database))} TO ${role}`,
              ),
            );
            break;
          case "schema":
            transactions.push(both(`REVOKE ALL PRIVILEGES ON SCHEMA ${schema} FROM ${role}`, `GRANT ${privileges} ON SCHEMA ${schema} TO ${role}`));
            break;
          case "table": {
            if (objects.length === 0) throw new Error(`${resource.name}: objects: [] would grant ALL TABLES IN SCHEMA`);
            const tables = objects.map((t) => `${schema}.${ident(t)}`).join(", ");
            transactions.push(both(`REVOKE ALL PRIVILEGES ON TABLE ${tables} FROM ${role}`, `GRANT ${privileges} ON TABLE ${tables} TO ${role}`));
            break;
          }
          case "routine": {
            if (objects.length > 0) throw new Error(`${resource.name}: routine grants are only used for every routine of a schema`);
            transactions.push(
              both(
                `REVOKE ALL PRIVILEGES ON ALL ROUTINES IN SCHEMA ${schema} FROM ${role}`,
                `GRANT ${privileges} ON ALL ROUTINES IN SCHEMA ${schema} TO ${role}`,
              ),
            );
            break;
          }
          case "column": {
            if (objects.length !== 1) throw new Error(`${resource.name}: a column grant needs exactly one table`);
            const table = `${schema}.${ident(objects[0]!)}`;
            const columns = (i.columns as string[]).map(ident).join(", ");
            if (!privileges) throw new Error(`${resource.name}: a column grant needs one privilege`);
            transactions.push([
              `REVOKE ${privileges} (${columns}) ON TABLE ${table} FROM ${role}`,
              `GRANT ${privileges} (${columns}) ON TABLE ${table} TO ${role}`,
            ]);
            break;
          }
          default:
            throw new Error(`${resource.name}: objectType ${String(i.objectType)} is not translated`);
        }
        if (i.withGrantOption) throw new Error(`${resource.name}: WITH GRANT OPTION is never expected`);
        break;
      }
      case "postgresql:index/defaultPrivileges:DefaultPrivileges": {
        const role = i.role === "public" ? "PUBLIC" : ident(String(i.role));
        const inSchema = i.schema === undefined ? "" : ` IN SCHEMA ${ident(String(i.schema))}`;
        const on = `${String(i.objectType).toUpperCase()}S`;
        const privileges = i.privileges as string[];
        const prefix = `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(String(i.owner))}${inSchema}`;
        transactions.push([
          `${prefix} REVOKE ALL ON ${on} FROM ${role}`,
          ...(privileges.length > 0 ? [`${prefix} GRANT ${privileges.join(", ")} ON ${on} TO ${role}`] : []),
        ]);
        break;
      }
      default:
        if (resource.type.startsWith("postgresql:index/")) skipped.push(resource);
    }
  }
  return { transactions, skipped };
}
