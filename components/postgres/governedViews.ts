/**
 * The governed views of one database (docs/masks.md): per workflow with masks, row filters or
 * reporting views, a schema of dbwarden-owned `security_barrier` views, and the internal schema
 * holding client attributes, hash keys and the views' definitions. `@pulumi/postgresql` has no
 * resource for a view or a row, so this is a dynamic resource: its provider runs, in one
 * transaction, the statements the Postgres model renders (src/postgres/model/governed.ts), the
 * same ones the reconciler runs, so drift after `pulumi up` is clean.
 *
 * - create: the statements; update: the previous state's teardown (its governed schemas, dropped
 *   with their views), then the statements; delete: the teardown and the internal schema. A
 *   schema of either name that dbwarden did not create fails the transaction, naming it.
 * - Every input a policy judges is plain data here (`views`, `attributes`), beside the statements.
 *
 * The provider is serialized into the state by Pulumi: it captures nothing but its arguments and
 * loads `pg` when it runs.
 */
import * as pulumi from "@pulumi/pulumi";

/** Marks the resource's inputs, so policies find it among dynamic resources. */
export const GOVERNED_VIEWS_KIND = "dbwarden:postgres:GovernedViews";

/** How the provider reaches the primary (the component's connection). */
export interface GovernedConnection {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** `disable` for tests on a local server only; the component passes its own (default `verify-full`). */
  sslmode: "disable" | "require" | "verify-ca" | "verify-full";
  /** Path of a PEM bundle of CAs, read when the provider runs. */
  sslrootcert?: string;
}

/** A view as policies read it. */
export interface GovernedViewInput {
  workflow: string;
  group: string;
  schema: string;
  name: string;
  kind: "table" | "report";
  /** The table a governed table's view reads; null for a reporting view. */
  source: { schema: string; table: string } | null;
  columns: Array<{ name: string; mask: string | null }>;
  /** The row filter: its predicate and the attributes it reads; null without one. */
  rowFilter: { predicate: string; attributes: string[] } | null;
  /** The tables and columns a reporting view reads (a governed table's view: its source's columns). */
  reads: Array<{ schema: string; table: string; columns: string[] }>;
}

/** The resource's inputs. */
export interface GovernedViewsInputs {
  kind: typeof GOVERNED_VIEWS_KIND;
  /** The database the views are in (the connection's, in the clear: policies read it). */
  database: string;
  connection: pulumi.Input<GovernedConnection>;
  views: GovernedViewInput[];
  /** The rows of `client_attributes`: every login (and clone) of a governed workflow. */
  attributes: Array<{ login: string; workflow: string; attributes: Record<string, string | number | boolean> }>;
  /** Run on create, and on update after the previous `teardown`. */
  statements: string[];
  /** Undo `statements` but the internal schema (its keys must survive an update). */
  teardown: string[];
  /** Undo everything: on delete. */
  destroy: string[];
}

type Outputs = Omit<GovernedViewsInputs, "connection"> & { connection: GovernedConnection };

/** Run statements in one transaction on the connection given (the provider's only I/O). */
async function runStatements(connection: GovernedConnection, statements: readonly string[]): Promise<void> {
  if (statements.length === 0) return;
  const { readFileSync } = await import("node:fs");
  const pg = (await import("pg")).default;
  const ca = connection.sslrootcert ? readFileSync(connection.sslrootcert, "utf8") : undefined;
  const ssl =
    connection.sslmode === "disable"
      ? false
      : connection.sslmode === "require"
        ? { rejectUnauthorized: false }
        : connection.sslmode === "verify-ca"
          ? { ca, checkServerIdentity: () => undefined }
          : { ca };
  const client = new pg.Client({
    host: connection.host,
    port: connection.port,
    database: connection.database,
    user: connection.user,
    password: connection.password,
    ssl,
  });
  await client.connect();
  try {
    await client.query("BEGIN");
    for (const sql of statements) await client.query(sql);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    // The message, never the statement: a statement holds no secret, but the error is what says why.
    throw new Error(`governed views of database ${connection.database}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    await client.end().catch(() => {});
  }
}

/** The dynamic provider: create, diff, update and delete from the statements of the inputs. */
export const governedViewsProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Outputs) {
    await runStatements(inputs.connection, inputs.statements);
    return { id: `${inputs.connection.database}/governed-views`, outs: inputs };
  },
  async diff(_id: string, olds: Outputs, news: Outputs) {
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const changed =
      !same(olds.statements, news.statements) ||
      !same(olds.teardown, news.teardown) ||
      !same({ ...olds.connection, password: "" }, { ...news.connection, password: "" });
    return { changes: changed, replaces: olds.connection.database !== news.connection.database ? ["connection"] : [], deleteBeforeReplace: true };
  },
  async update(_id: string, olds: Outputs, news: Outputs) {
    await runStatements(news.connection, [...olds.teardown, ...news.statements]);
    return { outs: news };
  },
  async delete(_id: string, props: Outputs) {
    await runStatements(props.connection, props.destroy);
  },
};

/** One database's governed views, created by the dynamic provider above. */
export class GovernedViews extends pulumi.dynamic.Resource {
  constructor(name: string, args: GovernedViewsInputs, opts?: pulumi.CustomResourceOptions) {
    super(governedViewsProvider, name, { ...args, connection: pulumi.secret(args.connection) }, opts);
  }
}
