/**
 * `dbwarden catalog --stack <env> --url <admin url>`: write `stacks/catalog/<env>.json`, the
 * committed column snapshot the Pulumi component grants from (src/postgres/snapshot.ts), from the
 * live database: the columns of exactly the tables the stack's workflows read, sorted, one table a
 * line, so the same database always gives the same file and a change reads as a small diff. A
 * planned table the database lacks is an error naming it, and nothing is written. The URL holds a
 * password: it is never printed.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, relative } from "node:path";
import type { Command } from "commander";
import { planStack } from "../../plan/index.ts";
import { postgresTargets } from "../../postgres/drift.ts";
import { catalogPath, formatCatalog } from "../../postgres/snapshot.ts";
import { liveSnapshot } from "../../postgres/liveSnapshot.ts";
import { DATABASE_URL_ENV, findTarget } from "../../local/target.ts";
import { workflowsOf } from "../../plan/types.ts";
import type { SnowflakeTarget } from "../../../components/snowflake/children.ts";
import { openSnowflakeAdmin } from "../../snowflake/admin.ts";
import { snowflakeCatalog } from "../../snowflake/drift.ts";
import { CliError, EXIT } from "../errors.ts";
import { withTargetClient } from "../target.ts";
import { bigqueryColumnReader, bigquerySnapshot, type BigQueryColumnReader } from "../../bigquery/catalog.ts";
import type { CliIO } from "../io.ts";

/** How `dbwarden catalog` reads a BigQuery project's columns (tests give a reader of their own). */
export const bigqueryReaders = { open: (project: string): BigQueryColumnReader => bigqueryColumnReader(project) };

export function register(program: Command, io: CliIO): void {
  program
    .command("catalog")
    .description("Write stacks/catalog/<env>.json, the column snapshot the Pulumi component grants from, from the live database.")
    .requiredOption("-s, --stack <env>", "stack (environment): stacks/environments/<env>.yaml")
    .option("--url <url>", `admin connection URL (default: the target's connectionUrlEnv, then $${DATABASE_URL_ENV}, then the local stack); never printed`)
    .addHelpText(
      "after",
      "\nReads the columns of exactly the tables the stack's workflows read, on every PostgreSQL " +
        "target (connect to the\nprimary: the replica has the same columns). Review the diff and " +
        "commit it. `dbwarden drift` reports when it is stale.\nExit codes: 0 written, 1 a planned " +
        "table is missing, invalid spec or unreachable database (nothing written), 2 usage error.",
    )
    .action(async (options: { stack: string; url?: string }) => {
      const plan = planStack(options.stack, { root: io.cwd, now: io.now() });
      const names = postgresTargets(plan);
      const warehouses = plan.targets.filter((t) => t.platform === "bigquery").map((t) => t.name);
      const snowflake = plan.targets.filter((t): t is SnowflakeTarget => t.platform === "snowflake");
      if (names.length + warehouses.length + snowflake.length === 0) {
        throw new CliError(`stack ${plan.environment} has no PostgreSQL, BigQuery or Snowflake target to read columns from`, EXIT.invalidInput);
      }
      const snapshot: Record<string, Record<string, string>> = {};
      const problems: string[] = [];
      for (const target of snowflake) {
        let admin;
        try {
          admin = await openSnowflakeAdmin(target, io.env);
        } catch (error) {
          throw new CliError(`cannot read the catalog: ${(error as Error).message}`, EXIT.invalidInput);
        }
        try {
          const read = await snowflakeCatalog(admin.query, plan, target);
          for (const t of workflowsOf(plan, target.name).flatMap((w) => w.tables)) {
            if (!read[`${t.schema}.${t.table}`])
              problems.push(`table ${t.schema}.${t.table} does not exist in Snowflake database ${target.database} (target ${target.name})`);
          }
          Object.assign(snapshot, read);
        } finally {
          await admin.close();
        }
      }
      for (const name of [...names, ...warehouses]) {
        const target = findTarget(plan, name);
        const read =
          target.platform === "bigquery"
            ? await bigquerySnapshot(plan, target, bigqueryReaders.open(target.database))
            : await withTargetClient(io, { plan, target, url: options.url, root: io.cwd, what: "cannot read the catalog" }, (client) =>
                liveSnapshot(client, plan, target.name),
              );
        for (const m of read.missing) {
          problems.push(
            `table ${m.table}, read by workflow${m.workflows.length > 1 ? "s" : ""} ` +
              `${m.workflows.join(", ")}, does not exist in database ${target.database} (target ${name})`,
          );
        }
        for (const [key, columns] of Object.entries(read.catalog)) {
          const other = snapshot[key];
          if (other && JSON.stringify(Object.entries(other)) !== JSON.stringify(Object.entries(columns)))
            problems.push(`table ${key} has different columns in two targets' databases; one snapshot cannot hold both`);
          snapshot[key] = columns;
        }
      }
      const file = catalogPath(plan.environment, io.cwd);
      const shown = relative(io.cwd, file);
      if (problems.length > 0) {
        throw new CliError(
          `cannot write ${shown}; nothing was written:\n  - ${problems.join("\n  - ")}\nCreate the table, or correct the workflow's scope.`,
          EXIT.invalidInput,
        );
      }
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, formatCatalog(snapshot));
      const count = Object.keys(snapshot).length;
      io.out(
        `Wrote ${shown}: the columns of ${count} table${count === 1 ? "" : "s"} the workflows of ${plan.environment} read. Review the diff and commit it.\n`,
      );
    });
}
