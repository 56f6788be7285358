/**
 * An admin session on a target's database for one CLI command (`drift`, `catalog`): the target's
 * connection (see ../local/target.ts), then the database, each failure a `CliError` (exit 1) that
 * never shows the URL; both are closed again however `use` ends.
 */
import type pg from "pg";
import type { AccessPlan, TargetPlan } from "../plan/types.ts";
import { connectAdmin } from "../local/postgres.ts";
import { openTarget } from "../local/target.ts";
import { CliError, EXIT } from "./errors.ts";
import type { CliIO } from "./io.ts";

/** `what` begins the message when no connection can be opened, e.g. "cannot check drift". */
export async function withTargetClient<T>(
  io: CliIO,
  options: { plan: AccessPlan; target: TargetPlan; url: string | undefined; root: string; what: string },
  use: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const { plan, target, url, root, what } = options;
  let opened;
  try {
    opened = await openTarget({ plan, target, url, env: io.env, root, progress: (l) => io.progress(l) });
  } catch (error) {
    throw new CliError(`${what}: ${(error as Error).message}`, EXIT.invalidInput);
  }
  try {
    const client = await connectAdmin(opened.conn, target.database).catch((error: Error) => {
      throw new CliError(`cannot connect to database ${target.database} (${opened.source}): ${error.message}`, EXIT.invalidInput);
    });
    try {
      return await use(client);
    } finally {
      await client.end().catch(() => {});
    }
  } finally {
    await opened.close();
  }
}
