/**
 * One version per release: package.json's, everywhere it is written (src/version.ts, the contract,
 * the MCP server, the component provider, the dependency on the contract), in the CLI's
 * `--version`, in the default MCP server image, in CHANGELOG.md; and the release workflow pushes
 * the image the default names, with an SBOM, provenance and its digest recorded.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, cpSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { main } from "../../src/cli/main.ts";
import { DEFAULT_MCP_IMAGE, MCP_IMAGE_REPOSITORY, VERSION } from "../../src/version.ts";
import { versionProblems } from "../../scripts/build.mjs";

const ROOT = new URL("../..", import.meta.url).pathname;
const json = (file: string) => JSON.parse(readFileSync(join(ROOT, file), "utf8"));

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  id?: string;
}

describe("versions", () => {
  it("src/version.ts VERSION is package.json's version, a semantic version", () => {
    assert.equal(VERSION, json("package.json").version);
    assert.match(VERSION, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  });

  it("every other place that carries the version agrees (the build refuses otherwise)", () => {
    assert.deepEqual(versionProblems(), []);
    assert.equal(json("mcp-server/package.json").version, VERSION);
    assert.equal(json("mcp-server/package.json").dependencies["@dbwarden/contract"], VERSION);
  });

  it("versionProblems names each place that disagrees, and what it should be", () => {
    const copy = mkdtempSync(join(tmpdir(), "dbwarden-versions-"));
    try {
      for (const file of ["package.json", "src/version.ts", "packages/contract/package.json", "provider/package.json"])
        cpSync(join(ROOT, file), join(copy, file));
      writeFileSync(join(copy, "src/version.ts"), readFileSync(join(ROOT, "src/version.ts"), "utf8").replace(`"${VERSION}"`, '"9.9.9"'));
      assert.deepEqual(versionProblems(copy), [`src/version.ts VERSION is "9.9.9", package.json version is "${VERSION}"`]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it("the default MCP server image is the one released with this version", () => {
    assert.equal(DEFAULT_MCP_IMAGE, `ghcr.io/dbwarden/mcp-server:${VERSION}`);
    assert.equal(DEFAULT_MCP_IMAGE, `${MCP_IMAGE_REPOSITORY}:${VERSION}`);
  });

  it("dbwarden --version prints it", async () => {
    let out = "";
    const code = await main(["--version"], { out: (t) => (out += t), err: () => {}, progress: () => {}, now: () => new Date(), cwd: ROOT, env: {} });
    assert.equal(code, 0);
    assert.equal(out.trim(), VERSION);
  });

  it("CHANGELOG.md (Keep a Changelog) has a section for it, with a date, linked at the bottom", () => {
    const changelog = readFileSync(join(ROOT, "CHANGELOG.md"), "utf8");
    assert.match(changelog, /^## \[Unreleased\]$/m);
    assert.match(changelog, new RegExp(`^## \\[${VERSION.replaceAll(".", "\\.")}\\] - \\d{4}-\\d{2}-\\d{2}$`, "m"));
    assert.match(changelog, new RegExp(`^\\[${VERSION.replaceAll(".", "\\.")}\\]: https://`, "m"));
  });
});

describe("release workflow (.github/workflows/release.yml)", () => {
  const workflow = parse(readFileSync(join(ROOT, ".github/workflows/release.yml"), "utf8")) as {
    on: { push: { tags: string[] } };
    jobs: Record<string, { needs?: string[] | string; steps: Step[]; outputs?: Record<string, string> }>;
  };
  const steps = (job: string) => workflow.jobs[job]!.steps;

  it("runs on version tags and checks the tag is package.json's version before anything is published", () => {
    assert.deepEqual(workflow.on.push.tags, ["v*"]);
    const check = steps("verify").find((s) => s.id === "version")!;
    assert.match(check.run!, /"\$GITHUB_REF_NAME" != "v\$version"/);
    assert.ok(steps("verify").some((s) => s.run === "npm test"));
    assert.equal(workflow.jobs.image!.needs, "verify");
  });

  it("pushes ghcr.io/<owner>/mcp-server:<version>, the repository DEFAULT_MCP_IMAGE names, scanned first, with an SBOM and max provenance", () => {
    const name = steps("image").find((s) => s.id === "name")!;
    const repository = MCP_IMAGE_REPOSITORY.split("/").slice(-1)[0];
    assert.match(name.run!, new RegExp(`image=ghcr\\.io/\\$\\{OWNER,,\\}/${repository}"`));
    assert.equal(MCP_IMAGE_REPOSITORY, `ghcr.io/dbwarden/${repository}`, "the default is the dbwarden organisation's image");
    const scan = steps("image").findIndex((s) => s.uses?.startsWith("aquasecurity/trivy-action@"));
    const push = steps("image").findIndex((s) => s.id === "push");
    assert.ok(scan >= 0 && scan < push, "scanned before it is pushed");
    const pushed = steps("image")[push]!.with!;
    assert.equal(pushed.push, true);
    assert.equal(pushed.sbom, true);
    assert.equal(pushed.provenance, "mode=max");
    assert.equal(pushed.tags, "${{ steps.name.outputs.image }}:${{ env.VERSION }}");
    assert.equal(pushed.context, ".", "built from the repository root (the Dockerfile uses the root lockfile)");
  });

  it("builds the image from mcp-server/Dockerfile as it is (the file npm run test:image checks): no build arguments, secrets, contexts or CA mounts", () => {
    const builds = steps("image").filter((s) => s.uses?.startsWith("docker/build-push-action@"));
    assert.equal(builds.length, 2, "the scanned build and the pushed one");
    for (const build of builds) {
      assert.equal(build.with!.file, "mcp-server/Dockerfile");
      assert.equal(build.with!.context, ".");
      for (const input of ["build-args", "secrets", "secret-files", "secret-envs", "build-contexts", "allow"]) assert.ok(!(input in build.with!), input);
    }
    assert.doesNotMatch(
      readFileSync(join(ROOT, ".github/workflows/release.yml"), "utf8").replace(/^\s*#.*$/gm, ""),
      /ca-certificates|npmrc|cafile|NODE_EXTRA_CA_CERTS/,
    );
  });

  it("records the digest (artifact, release notes) and publishes both npm packages with provenance, the contract first", () => {
    assert.ok(steps("image").some((s) => s.uses?.startsWith("actions/upload-artifact@") && s.with?.name === "image-digest"));
    assert.equal(workflow.jobs.image!.outputs!.digest, "${{ steps.push.outputs.digest }}");
    const notes = steps("github-release").find((s) => s.run?.includes("notes.md") && s.run.includes("$DIGEST"));
    assert.ok(notes, "the release notes carry the digest");
    const publish = steps("npm").find((s) => s.run?.includes("npm publish"))!.run!;
    assert.match(publish, /cd packages\/contract\/dist && npm publish --provenance --access public[\s\S]*\nnpm publish --provenance --access public/);
  });
});
