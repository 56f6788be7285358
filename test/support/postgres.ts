/**
 * A throwaway real PostgreSQL for one test file: started in a temp directory, deleted on stop.
 *
 *   const db = await startTestPostgres();
 *   after(() => db.stop());
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "../../src/postgres/embedded.ts";

export interface TestPostgres extends EmbeddedPostgresHandle {
  /** A connected admin client on `database` (default `postgres`); closed by `stop()`. */
  admin(database?: string): Promise<pg.Client>;
  /** Create a database and return its name. */
  createDatabase(name: string): Promise<string>;
}

export async function startTestPostgres(options: { postgresFlags?: string[]; onLog?: (line: string) => void } = {}): Promise<TestPostgres> {
  const dataDir = mkdtempSync(join(tmpdir(), "dbwarden-pg-"));
  const handle = await startEmbeddedPostgres({ dataDir, persistent: true, ...options });
  const clients: pg.Client[] = [];
  const admin = async (database = "postgres") => {
    const client = new pg.Client({ connectionString: handle.url(database) });
    await client.connect();
    clients.push(client);
    return client;
  };
  return {
    ...handle,
    admin,
    async createDatabase(name) {
      const client = await admin();
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      return name;
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.end()));
      await handle.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
