/**
 * The Cloud SQL rotator (src/clouds/gcp/rotator.ts) against a REAL PostgreSQL and a fake Secret
 * Manager that keeps versions as the service does (latest = newest enabled; disabled versions are
 * not served): a rotation changes the role's password, stores it as the new latest version,
 * disables the old one, and never sends the password itself in a statement; a rotation whose new
 * version cannot be stored is undone; a role dbwarden does not own is refused before anything runs.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { startTestPostgres, type TestPostgres } from "../../test/support/postgres.ts";
import {
  RotationError,
  parseLoginSecret,
  rotateLoginSecret,
  rotationNotice,
  scramVerifier,
  setPasswordStatement,
  type RotatorSecretStore,
} from "../src/clouds/gcp/rotator.ts";

/** Secret Manager's version semantics: numbered versions, `latest` is the newest enabled one. */
class FakeSecretManager implements RotatorSecretStore {
  readonly versions = new Map<string, { n: number; text: string; enabled: boolean }[]>();
  failAdds = false;

  put(secret: string, text: string): void {
    const list = this.versions.get(secret) ?? [];
    list.push({ n: list.length + 1, text, enabled: true });
    this.versions.set(secret, list);
  }

  async latest(secret: string) {
    const enabled = (this.versions.get(secret) ?? []).filter((v) => v.enabled);
    const newest = enabled.at(-1);
    if (!newest) throw Object.assign(new Error(`5 NOT_FOUND: Secret [${secret}] not found or has no versions.`), { code: 5 });
    return { text: newest.text, version: `${secret}/versions/${newest.n}` };
  }

  async addVersion(secret: string, text: string) {
    if (this.failAdds) throw Object.assign(new Error("7 PERMISSION_DENIED: Permission 'secretmanager.versions.add' denied"), { code: 7 });
    this.put(secret, text);
    return `${secret}/versions/${this.versions.get(secret)!.length}`;
  }

  async disableVersion(version: string) {
    const [secret, n] = version.split("/versions/") as [string, string];
    const found = this.versions.get(secret)?.find((v) => v.n === Number(n));
    if (!found) throw new Error(`5 NOT_FOUND: ${version}`);
    found.enabled = false;
  }
}

const SECRET = "projects/acme-data-prod/secrets/dbwarden--gcp--cs-usage-drop--claude-cs";
const LOGIN = "dbw_cs_usage_drop__claude_cs";

let db: TestPostgres;
let admin: pg.Client;
const statements: string[] = [];

async function canLogIn(user: string, password: string): Promise<boolean> {
  const client = new pg.Client({ host: "127.0.0.1", port: db.port, user, password, database: "postgres" });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const recordingAdmin = { query: async (sql: string) => (statements.push(sql), admin.query(sql)) };
const verifyLogin = async (user: string, password: string) => {
  if (!(await canLogIn(user, password))) throw new Error(`password authentication failed for user "${user}"`);
};

before(async () => {
  db = await startTestPostgres({ postgresFlags: ["-c", "password_encryption=scram-sha-256"] });
  admin = await db.admin();
  await admin.query(`CREATE ROLE ${LOGIN} LOGIN PASSWORD 'initial-password-1'`);
  await admin.query(`CREATE ROLE app_owner LOGIN PASSWORD 'not-dbwardens'`);
});
after(() => db.stop());

describe("the Cloud SQL rotator", () => {
  test("rotates: the role takes a new password, the secret's latest version holds it, the old version is disabled", async () => {
    const secrets = new FakeSecretManager();
    secrets.put(SECRET, JSON.stringify({ username: LOGIN, password: "initial-password-1" }));
    assert.ok(await canLogIn(LOGIN, "initial-password-1"), "the role starts with the secret's password");
    statements.length = 0;
    const version = await rotateLoginSecret(SECRET, { secrets, admin: recordingAdmin, verifyLogin, newPassword: () => "rotated-password-2" });
    assert.equal(version, `${SECRET}/versions/2`);
    assert.deepEqual(parseLoginSecret((await secrets.latest(SECRET)).text, SECRET), { username: LOGIN, password: "rotated-password-2" });
    assert.equal(secrets.versions.get(SECRET)![0]!.enabled, false, "the old password's version is disabled");
    assert.ok(await canLogIn(LOGIN, "rotated-password-2"));
    assert.ok(!(await canLogIn(LOGIN, "initial-password-1")), "the old password no longer logs in");
    assert.equal(statements.length, 1);
    assert.match(statements[0]!, /^ALTER ROLE "dbw_cs_usage_drop__claude_cs" WITH PASSWORD 'SCRAM-SHA-256\$4096:/);
    assert.ok(!statements.join("\n").includes("rotated-password-2"), "the password itself never reaches a statement (or the statement log)");
  });

  test("a second rotation with the default generator gives a fresh 40-character password", async () => {
    const secrets = new FakeSecretManager();
    secrets.put(SECRET, JSON.stringify({ username: LOGIN, password: "rotated-password-2" }));
    await rotateLoginSecret(SECRET, { secrets, admin: recordingAdmin, verifyLogin });
    const { password } = parseLoginSecret((await secrets.latest(SECRET)).text, SECRET);
    assert.match(password, /^[A-Za-z0-9_-]{40}$/);
    assert.ok(await canLogIn(LOGIN, password));
    await admin.query(`ALTER ROLE ${LOGIN} PASSWORD 'rotated-password-2'`);
  });

  test("a new version that cannot be stored undoes the rotation: the role keeps the secret's password", async () => {
    const secrets = new FakeSecretManager();
    secrets.put(SECRET, JSON.stringify({ username: LOGIN, password: "rotated-password-2" }));
    secrets.failAdds = true;
    await assert.rejects(
      rotateLoginSecret(SECRET, { secrets, admin: recordingAdmin, verifyLogin, newPassword: () => "never-stored-3" }),
      (error: Error) =>
        error instanceof RotationError && /failed and was undone \(7 PERMISSION_DENIED/.test(error.message) && !error.message.includes("never-stored-3"),
    );
    assert.ok(await canLogIn(LOGIN, "rotated-password-2"), "the old password works again");
    assert.ok(!(await canLogIn(LOGIN, "never-stored-3")));
    assert.equal(secrets.versions.get(SECRET)!.length, 1, "no version was added");
    assert.equal(secrets.versions.get(SECRET)![0]!.enabled, true, "the current version stays enabled");
  });

  test("a secret naming a role dbwarden does not own is refused before any statement runs", async () => {
    const secrets = new FakeSecretManager();
    secrets.put(SECRET, JSON.stringify({ username: "app_owner", password: "not-dbwardens" }));
    statements.length = 0;
    await assert.rejects(rotateLoginSecret(SECRET, { secrets, admin: recordingAdmin, verifyLogin }), /refusing to rotate "app_owner": not a dbwarden login/);
    assert.deepEqual(statements, []);
    assert.ok(await canLogIn("app_owner", "not-dbwardens"));
  });

  test("a secret that is not login JSON is refused without echoing its text", async () => {
    const secrets = new FakeSecretManager();
    secrets.put(SECRET, "hunter2-plain-text");
    await assert.rejects(
      rotateLoginSecret(SECRET, { secrets, admin: recordingAdmin, verifyLogin }),
      (error: Error) => !error.message.includes("hunter2") && /is not JSON/.test(error.message),
    );
  });

  test("the SCRAM verifier is the one PostgreSQL computes for the same password and salt", async () => {
    await admin.query(`SET password_encryption = 'scram-sha-256'`);
    await admin.query(`CREATE ROLE dbw_verifier_check LOGIN PASSWORD 'correct horse battery staple'`);
    const { rows } = await admin.query<{ rolpassword: string }>(`SELECT rolpassword FROM pg_authid WHERE rolname = 'dbw_verifier_check'`);
    const stored = rows[0]!.rolpassword;
    const salt = Buffer.from(/^SCRAM-SHA-256\$4096:([^$]+)\$/.exec(stored)![1]!, "base64");
    assert.equal(scramVerifier("correct horse battery staple", salt), stored);
  });

  test("statements: only dbw_ logins, only verifiers", () => {
    assert.throws(() => setPasswordStatement('dbw_x"; DROP ROLE admin; --', scramVerifier("p")), /not a dbwarden login/);
    assert.throws(() => setPasswordStatement("dbw_x", "plain-password"), /not a SCRAM-SHA-256 verifier/);
  });

  test("Pub/Sub notices: SECRET_ROTATE names the secret; other events are acknowledged without work", () => {
    const push = (attributes: Record<string, string>) => ({ message: { attributes, data: "", messageId: "1" }, subscription: "projects/p/subscriptions/s" });
    assert.equal(rotationNotice(push({ eventType: "SECRET_ROTATE", secretId: SECRET })), SECRET);
    assert.equal(rotationNotice(push({ eventType: "SECRET_VERSION_ADD", secretId: SECRET })), null);
    assert.throws(() => rotationNotice(push({ eventType: "SECRET_ROTATE", secretId: "../../etc" })), /without a secretId/);
  });
});
