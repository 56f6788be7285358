/**
 * `node dist/rotator.js`: the Cloud SQL rotator as a Cloud Run service (components/gcp-cloudsql/
 * rotator.ts deploys it from the MCP server's image). Pub/Sub pushes Secret Manager's rotation
 * notices to it (authenticated by Cloud Run: only the pusher's identity may invoke it); each
 * `SECRET_ROTATE` rotates that secret (clouds/gcp/rotator.ts). Answers 204 when done or not a
 * rotation notice, 500 when the rotation failed (Pub/Sub retries with backoff).
 */
import { createServer } from "node:http";
import pg from "pg";
import { CloudSqlConnectorSource } from "./clouds/gcp/cloudsql.js";
import { GcpSecretManagerSource, SecretManagerRest } from "./clouds/gcp/secrets.js";
import { RotationError, parseLoginSecret, rotateLoginSecret, rotationNotice, type RotatorSecretStore } from "./clouds/gcp/rotator.js";

const instance = process.env.DBWARDEN_ROTATOR_INSTANCE;
const adminSecret = process.env.DBWARDEN_ROTATOR_ADMIN_SECRET;
const database = process.env.DBWARDEN_ROTATOR_DATABASE;
if (!instance || !adminSecret || !database) {
  process.stderr.write("dbwarden rotator: DBWARDEN_ROTATOR_INSTANCE, DBWARDEN_ROTATOR_ADMIN_SECRET and DBWARDEN_ROTATOR_DATABASE are required\n");
  process.exit(1);
}

/** Secret Manager over its REST API, with the rotator's own service account. */
function secretStore(): RotatorSecretStore {
  const api = new SecretManagerRest();
  return {
    async latest(secret) {
      const { name, text } = await api.accessLatest(secret).catch((error: Error) => {
        throw new RotationError(`${secret} has no enabled version (${error.message})`);
      });
      return { text, version: name };
    },
    addVersion: (secret, text) => api.addVersion(secret, text),
    disableVersion: (version) => api.disableVersion(version),
  };
}

const connectors = new CloudSqlConnectorSource();
const secrets = secretStore();
const adminSecrets = new GcpSecretManagerSource();

/** A client on the primary through the Cloud SQL connector (password authentication). */
async function connect(user: string, password: string): Promise<pg.Client> {
  const { stream } = await connectors.getOptions({ instanceConnectionName: instance!, ipType: "PRIVATE", authType: "PASSWORD" });
  const client = new pg.Client({ stream: stream as never, user, password, database, ssl: false });
  await client.connect();
  return client;
}

async function rotate(secret: string): Promise<void> {
  const admin = parseLoginSecret(await adminSecrets.accessLatest(adminSecret!, { fresh: true }), "the admin secret");
  const adminClient = await connect(admin.username, admin.password);
  try {
    await rotateLoginSecret(secret, {
      secrets,
      admin: adminClient,
      verifyLogin: async (user, password) => {
        const client = await connect(user, password);
        await client.query("SELECT 1");
        await client.end();
      },
    });
  } finally {
    await adminClient.end();
  }
}

const port = Number(process.env.PORT ?? 8080);
createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    let secret: string | null;
    try {
      secret = request.method === "POST" ? rotationNotice(JSON.parse(Buffer.concat(chunks).toString("utf8") || "null")) : null;
    } catch (error) {
      process.stdout.write(`${JSON.stringify({ rotator: "refused", reason: (error as Error).message })}\n`);
      response.writeHead(204).end();
      return;
    }
    if (secret === null) return void response.writeHead(204).end();
    rotate(secret).then(
      () => {
        process.stdout.write(`${JSON.stringify({ rotator: "rotated", secret })}\n`);
        response.writeHead(204).end();
      },
      (error: Error) => {
        process.stdout.write(`${JSON.stringify({ rotator: "failed", secret, reason: error.message.split("\n")[0] })}\n`);
        response.writeHead(500).end();
      },
    );
  });
}).listen(port);
