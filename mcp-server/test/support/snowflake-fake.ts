/**
 * A fake Snowflake account behind the engine's driver interface, answering as snowflake-sdk does
 * for the calls the engine makes: key-pair logins checked against the user's registered public
 * keys (RSA_PUBLIC_KEY and RSA_PUBLIC_KEY_2; a wrong key fails with 390144), a role that reads only
 * the objects granted to it (others fail with 002003 "does not exist or not authorized"), more than
 * one statement refused (000008), STATEMENT_TIMEOUT_IN_SECONDS enforced (000630), cancel (000604),
 * result metadata, `getNumRows()` and `streamRows({ start, end })` with an inclusive end.
 * It understands only what the engine sends: `SELECT 1`, a read of one granted object by its fully
 * qualified quoted name, INFORMATION_SCHEMA.COLUMNS by schema and name, EXPLAIN USING TEXT, and the
 * rotation job's `ALTER USER ... SET/UNSET RSA_PUBLIC_KEY[_2]` (by a role of `userAdmins` only).
 */
import { createPublicKey } from "node:crypto";
import { Readable } from "node:stream";
import type {
  SnowflakeConnectOptions,
  SnowflakeConnection,
  SnowflakeDriver,
  SnowflakeExecute,
  SnowflakeStatement,
} from "../../src/engines/snowflake/driver.ts";

export interface FakeObject {
  columns: Array<{ name: string; type: string }>;
  rows: Array<Record<string, unknown>>;
  /** A statement reading it runs until cancelled or timed out. */
  slow?: boolean;
}

/** Snowflake's driver errors carry a code string and a SQLSTATE. */
function snowflakeError(code: string, message: string, sqlState = "02000"): Error {
  return Object.assign(new Error(message), { code, sqlState });
}

export class FakeSnowflake implements SnowflakeDriver {
  /** Objects by `"DB"."SCHEMA"."NAME"`. */
  readonly objects = new Map<string, FakeObject>();
  /** Qualified names each role may SELECT. */
  readonly grants = new Map<string, Set<string>>();
  /** Registered public keys (SPKI PEM) per user: the two slots. */
  readonly users = new Map<string, { keys: [string | null, string | null] }>();
  readonly connects: Array<{ username: string; role: string; account: string; warehouse: string; database: string }> = [];
  readonly executed: Array<{ sqlText: string; binds: readonly unknown[]; parameters: Record<string, string | number> }> = [];
  readonly streamed: Array<{ start: number; end: number }> = [];
  /** Roles that may change users' keys (the role owning the service users: the deployer's). */
  readonly userAdmins = new Set<string>(["SECURITYADMIN"]);

  async connect(options: SnowflakeConnectOptions): Promise<SnowflakeConnection> {
    const user = this.users.get(options.username);
    const presented = createPublicKey(options.privateKey).export({ type: "spki", format: "pem" }).toString();
    if (!user || !user.keys.includes(presented)) throw snowflakeError("390144", "JWT token is invalid.", "08001");
    this.connects.push({ username: options.username, role: options.role, account: options.account, warehouse: options.warehouse, database: options.database });
    let up = true;
    return {
      execute: (request) => this.execute(options.role, request),
      isUp: () => up,
      destroy: async () => void (up = false),
    };
  }

  private execute(role: string, request: SnowflakeExecute): Promise<SnowflakeStatement> {
    this.executed.push({ sqlText: request.sqlText, binds: request.binds, parameters: request.parameters });
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (action: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        action();
      };
      request.onStarted?.(async () => finish(() => reject(snowflakeError("000604", "SQL execution canceled", "57014"))));
      try {
        const object = this.answer(role, request);
        const timeout = Number(request.parameters.STATEMENT_TIMEOUT_IN_SECONDS ?? 172800);
        if (object.slow) {
          // Kept referenced, as a pending network request is; cancel settles the call first.
          timer = setTimeout(
            () =>
              finish(() =>
                reject(snowflakeError("000630", `Statement reached its statement or warehouse timeout of ${timeout} second(s) and was canceled.`, "57014")),
              ),
            timeout * 1000,
          );
          return;
        }
        finish(() => resolve(this.statement(object)));
      } catch (error) {
        finish(() => reject(error));
      }
    });
  }

  private statement(object: FakeObject): SnowflakeStatement {
    return {
      queryId: () => "01b2c3d4-0000-0000-0000-000000000001",
      columns: () => object.columns,
      numRows: () => object.rows.length,
      streamRows: ({ start, end }) => {
        this.streamed.push({ start, end });
        return Readable.from(object.rows.slice(start, end + 1));
      },
    };
  }

  /** `ALTER USER "U" SET RSA_PUBLIC_KEY[_2] = '<base64>'` / `UNSET ...`, as the role owning the users may. */
  private alterUser(role: string, text: string): FakeObject {
    const match = /^ALTER USER "([^"]+)" (?:SET (RSA_PUBLIC_KEY(?:_2)?) = '([A-Za-z0-9+/=]+)'|UNSET (RSA_PUBLIC_KEY(?:_2)?))$/.exec(text);
    if (!match) throw snowflakeError("001003", "SQL compilation error: syntax error line 1 at position 0 unexpected 'ALTER'.", "42000");
    const [, name, setColumn, key, unsetColumn] = match;
    const user = this.users.get(name!);
    if (!user || !this.userAdmins.has(role))
      throw snowflakeError("002003", `SQL compilation error: User '"${name}"' does not exist or not authorized.`, "02000");
    const body = key ? `-----BEGIN PUBLIC KEY-----\n${key.match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----\n` : null;
    user.keys[(setColumn ?? unsetColumn) === "RSA_PUBLIC_KEY" ? 0 : 1] = body;
    return { columns: [{ name: "status", type: "text" }], rows: [{ status: "Statement executed successfully." }] };
  }

  /** What Snowflake would answer the role for the statements the engine sends. */
  private answer(role: string, request: SnowflakeExecute): FakeObject {
    const text = request.sqlText.trim().replace(/;\s*$/, "");
    if (text.includes(";")) throw snowflakeError("000008", "Actual statement count 2 did not match the desired statement count 1.", "0A000");
    if (text === "SELECT 1") return { columns: [{ name: "1", type: "fixed" }], rows: [{ "1": 1 }] };
    if (text.startsWith("ALTER USER ")) return this.alterUser(role, text);
    const granted = this.grants.get(role) ?? new Set<string>();
    if (/INFORMATION_SCHEMA\.COLUMNS/.test(text)) {
      const database = /^SELECT .* FROM ("[^"]+")\.INFORMATION_SCHEMA/.exec(text)![1]!;
      const name = `${database}."${request.binds[0]}"."${request.binds[1]}"`;
      const object = granted.has(name) ? this.objects.get(name) : undefined;
      return {
        columns: [
          { name: "COLUMN_NAME", type: "text" },
          { name: "DATA_TYPE", type: "text" },
          { name: "COMMENT", type: "text" },
        ],
        rows: (object?.columns ?? []).map((c) => ({ COLUMN_NAME: c.name, DATA_TYPE: c.type.toUpperCase(), COMMENT: null })),
      };
    }
    const names = [...text.matchAll(/"(?:[^"]|"")+"\."(?:[^"]|"")+"\."(?:[^"]|"")+"/g)].map((m) => m[0]);
    if (names.length === 0) throw snowflakeError("001003", "SQL compilation error: syntax error line 1 at position 0 unexpected 'x'.", "42000");
    for (const name of names) {
      if (!granted.has(name) || !this.objects.has(name))
        throw snowflakeError("002003", `SQL compilation error: Object '${name}' does not exist or not authorized.`, "02000");
    }
    if (text.startsWith("EXPLAIN USING TEXT"))
      return { columns: [{ name: "content", type: "text" }], rows: [{ content: `GlobalStats: ... TableScan ${names[0]}` }] };
    return this.objects.get(names[0]!)!;
  }
}
