#!/usr/bin/env node
// The clients scripts/aws-acceptance.sh calls the MCP endpoint as, from the access plan on stdin
// (`dbwarden plan --stack <env> --json`): one tab-separated line per client of an active workflow,
//   workflow  client  auth  login-role  probe-sql  write-sql  source-cidrs
// probe-sql reads one planned column of one of the workflow's tables (so the call reaches the
// database with the client's own login); write-sql is a write on the same table, which must be
// refused; source-cidrs are the networks the client may call from ("-" for any). Nothing here is
// secret.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A SQL identifier, quoted when it is not a plain lower-case one. */
const ident = (name) => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`);

/** The first table of the workflow whose rule names a column, with that column; else the first table and no column. */
function probeTable(workflow) {
  for (const table of workflow.tables) {
    if (table.rule.access === "only") return { table, column: table.rule.columns[0] };
    const known = table.columns.find((c) => table.rule.access === "all" || !table.rule.except.includes(c.name));
    if (known && known.classification === "standard") return { table, column: known.name };
  }
  return { table: workflow.tables[0], column: null };
}

/**
 * Where the workflow's agents read `table`: its governed view when it has a mask or a row filter
 * (the contract's `readAs`, which this plain script cannot import from an installed package;
 * test/aws/acceptance.test.ts asserts the two agree on every example plan), else the table itself.
 */
export function readAs(workflow, table) {
  const governed = table.rowFilter !== null || table.columns.some((c) => c.mask !== null);
  return governed && workflow.governedSchema !== null ? { schema: workflow.governedSchema, name: table.table } : { schema: table.schema, name: table.table };
}

/** The lines for a plan. */
export function acceptanceClients(plan) {
  return plan.workflows.flatMap((workflow) => {
    const { table, column } = probeTable(workflow);
    const at = readAs(workflow, table);
    const qualified = `${ident(at.schema)}.${ident(at.name)}`;
    const probe = column ? `SELECT ${ident(column)} FROM ${qualified} LIMIT 1` : `SELECT count(*) FROM ${qualified}`;
    const write = `DELETE FROM ${qualified}`;
    return workflow.clients.map((client) =>
      [workflow.name, client.name, client.auth, client.loginRole, probe, write, client.sourceCidrs.join(",") || "-"].join("\t"),
    );
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const plan = JSON.parse(readFileSync(0, "utf8"));
  for (const line of acceptanceClients(plan)) process.stdout.write(`${line}\n`);
}
