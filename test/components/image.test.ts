/**
 * The MCP server's image (components/aws-ecs/image.ts): its tag is the hash of what Docker sends, so
 * the same sources give the same tag (a second `up` pushes nothing) and changed sources a new one
 * (an immutable ECR tag is never pushed twice); and which ECR repository an image URI names.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MCP_SERVER_CONTEXT_DIR, buildContextTag, dockerfileSources, ecrRepositoryOfImage } from "../../components/aws-ecs/image.ts";

describe("buildContextTag", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbwarden-context-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  const dockerfile = (from: string) => `FROM ${from} AS build\nCOPY package.json ./\nCOPY src src\nFROM ${from}\nCOPY --from=build /app/dist ./dist\n`;
  write("mcp-server/Dockerfile", dockerfile("node:20"));
  write("package.json", "{}");
  write("src/main.ts", "console.log(1)");
  write("node_modules/x/index.js", "1");
  write("test/a.test.ts", "1");
  write("README.md", "1");

  it("hashes exactly what the Dockerfile copies from the context: COPY sources, not --from stages", () => {
    assert.deepEqual(dockerfileSources(join(dir, "mcp-server/Dockerfile")), ["package.json", "src"]);
  });

  it("is stable for the same sources and changes with any file the Dockerfile copies, its mode, or the Dockerfile", () => {
    const first = buildContextTag(dir);
    assert.match(first, /^src-[0-9a-f]{20}$/);
    assert.equal(buildContextTag(dir), first);
    write("src/main.ts", "console.log(2)");
    const second = buildContextTag(dir);
    assert.notEqual(second, first);
    write("mcp-server/Dockerfile", dockerfile("node:22"));
    const third = buildContextTag(dir);
    assert.notEqual(third, second);
    chmodSync(join(dir, "package.json"), 0o755);
    assert.notEqual(buildContextTag(dir), third, "a file's mode is part of what is built");
  });

  it("does not change with files the image never sees, and refuses a COPY of a path the context lacks", () => {
    const before = buildContextTag(dir);
    write("node_modules/x/index.js", "2");
    write("test/a.test.ts", "2");
    write("README.md", "2");
    assert.equal(buildContextTag(dir), before, "an unrelated edit does not push a new image");
    write("mcp-server/Dockerfile", `${dockerfile("node:20")}COPY missing/ ./\n`);
    assert.throws(() => buildContextTag(dir), /copies missing, which does not exist/);
  });

  it("tags this repository's MCP server image (context: the repository root, mcp-server/Dockerfile)", () => {
    assert.match(buildContextTag(MCP_SERVER_CONTEXT_DIR), /^src-[0-9a-f]{20}$/);
  });
});

describe("ecrRepositoryOfImage", () => {
  it("names the repository of an ECR image, with or without tag or digest, and null elsewhere", () => {
    assert.deepEqual(ecrRepositoryOfImage("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/dbwarden-mcp:0.1.0"), {
      arn: "arn:aws:ecr:eu-west-1:123456789012:repository/team/dbwarden-mcp",
      region: "eu-west-1",
      accountId: "123456789012",
      name: "team/dbwarden-mcp",
    });
    assert.equal(
      ecrRepositoryOfImage(`123456789012.dkr.ecr.us-east-1.amazonaws.com/mcp@sha256:${"a".repeat(64)}`)?.arn,
      "arn:aws:ecr:us-east-1:123456789012:repository/mcp",
    );
    assert.equal(ecrRepositoryOfImage("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/mcp:1")?.arn, "arn:aws-cn:ecr:cn-north-1:123456789012:repository/mcp");
    assert.equal(ecrRepositoryOfImage("ghcr.io/dbwarden/mcp-server:0.1.0"), null);
    assert.equal(ecrRepositoryOfImage("public.ecr.aws/dbwarden/mcp:0.1.0"), null, "ECR Public is pulled from the internet");
  });
});
