/**
 * `dbwarden:aws:McpImage`: the MCP server's container image and what the task's execution role
 * needs to pull it.
 * - `{ source: "build" }` (spec `image: { build: true }`): an ECR repository (scan on push,
 *   immutable tags, encrypted, the last images kept) and the image built from `mcp-server/` by
 *   `@pulumi/docker-build` with the deployer's Docker, pushed under a tag that is the hash of the
 *   build context: the same sources give the same tag (a second `up` builds nothing), changed
 *   sources a new one (an immutable tag is never pushed twice).
 * - `{ source: "registry", uri }`: the deployer's image; when it is in ECR, the repository it names
 *   is the one the execution role may pull from.
 * The service runs the image by digest where the build gives one, so a task never runs something
 * else than what was pushed.
 */
import { createHash } from "node:crypto";
import { lstatSync, readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { Image } from "@pulumi/docker-build/image.js";
import { getAuthorizationTokenOutput } from "@pulumi/aws/ecr/getAuthorizationToken.js";
import { LifecyclePolicy } from "@pulumi/aws/ecr/lifecyclePolicy.js";
import { Repository } from "@pulumi/aws/ecr/repository.js";
import type { ImagePlan } from "../../src/plan/types.ts";
import { imageRepositoryName } from "./names.ts";

/** The MCP server's build context, relative to the project root (`pulumi up` runs there). */
export const MCP_SERVER_CONTEXT = "mcp-server";
/** The same folder on this machine (its files give the image tag). */
export const MCP_SERVER_CONTEXT_DIR = fileURLToPath(new URL(`../../${MCP_SERVER_CONTEXT}/`, import.meta.url));
/** Fargate runs the task on x86-64 (`runtimePlatform` of the task definition). */
export const IMAGE_PLATFORM = "linux/amd64";
/** Images kept in the repository: older ones expire (a rollback needs only the last few). */
export const KEPT_IMAGES = 20;

/** An ECR image URI: `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag][@digest]`. */
const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9][a-z0-9._/-]*?)(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

/** The ECR repository an image URI names (its ARN), or null for an image outside ECR. */
export function ecrRepositoryOfImage(uri: string): { arn: string; region: string; accountId: string; name: string } | null {
  const match = ECR_IMAGE.exec(uri);
  if (!match) return null;
  const [, accountId, region, name] = match as unknown as [string, string, string, string];
  const partition = uri.includes(".amazonaws.com.cn/") ? "aws-cn" : "aws";
  return { arn: `arn:${partition}:ecr:${region}:${accountId}:repository/${name}`, region, accountId, name };
}

/**
 * `.dockerignore` patterns this hash understands (root-anchored names and `*` within a path
 * segment). Others (`**`, `?`, `[`) are not applied, and none is when an exception (`!`) could
 * bring a file back: hashing a file Docker leaves out only changes the tag more often than needed,
 * while leaving out a file Docker sends could push new content under an old, immutable tag.
 */
function ignoreMatchers(contextDir: string): RegExp[] {
  let text: string;
  try {
    text = readFileSync(join(contextDir, ".dockerignore"), "utf8");
  } catch {
    return [];
  }
  const lines = text
    .split("\n")
    .map((line) => line.trim().replace(/^\/+/, "").replace(/\/+$/, ""))
    .filter((line) => line && !line.startsWith("#"));
  if (lines.some((line) => line.startsWith("!"))) return [];
  return lines
    .filter((line) => !/[?[\]]|\*\*/.test(line))
    .map(
      (pattern) =>
        new RegExp(
          `^${pattern
            .split("*")
            .map((part) => part.replace(/[.+^${}()|\\]/g, "\\$&"))
            .join("[^/]*")}(/|$)`,
        ),
    );
}

/**
 * The image tag for a build context: a hash of every file Docker would send (path, mode and
 * content) and of the Dockerfile, so the tag changes whenever the built image can.
 */
export function buildContextTag(contextDir: string, dockerfile = join(contextDir, "Dockerfile")): string {
  const ignored = ignoreMatchers(contextDir);
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      const rel = relative(contextDir, path).split("\\").join("/");
      if (ignored.some((pattern) => pattern.test(rel))) continue;
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile())
        hash
          .update(`${rel}\u0000${stat.mode & 0o777}\u0000`)
          .update(readFileSync(path))
          .update("\u0000");
      else if (stat.isSymbolicLink()) hash.update(`${rel}\u0000symlink\u0000`);
    }
  };
  walk(contextDir);
  hash.update("Dockerfile\u0000").update(readFileSync(dockerfile));
  return `src-${hash.digest("hex").slice(0, 20)}`;
}

/** The repository's lifecycle policy: keep the last `KEPT_IMAGES` images. */
export function lifecyclePolicyDocument(): string {
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: `keep the last ${KEPT_IMAGES} images`,
        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: KEPT_IMAGES },
        action: { type: "expire" },
      },
    ],
  });
}

export interface McpImageArgs {
  /** Where the image comes from (plan `mcpServer.image`). */
  image: ImagePlan;
  /** Environment name (names the repository). */
  environment: string;
  /** Build context relative to where `pulumi up` runs; default `mcp-server`. */
  context?: string;
  /** The same folder on this machine, hashed for the tag; default this repository's `mcp-server/`. */
  contextDir?: string;
}

export class McpImage extends pulumi.ComponentResource {
  /** What the task runs: `<repository>@sha256:<digest>` for a build, else the spec's URI. */
  public readonly imageUri: pulumi.Output<string>;
  /** The ECR repository the execution role may pull from, or null for an image outside ECR. */
  public readonly repositoryArn: pulumi.Output<string | null>;
  /** The built image (the service waits for its push), when the stack builds it. */
  public readonly built: Image | null;

  constructor(name: string, args: McpImageArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("dbwarden:aws:McpImage", name, {}, opts);
    if (args.image.source === "registry") {
      this.imageUri = pulumi.output(args.image.uri);
      this.repositoryArn = pulumi.output(ecrRepositoryOfImage(args.image.uri)?.arn ?? null);
      this.built = null;
    } else {
      const parent = { parent: this };
      const repository = new Repository(
        `${name}-repository`,
        {
          name: imageRepositoryName(args.environment),
          imageTagMutability: "IMMUTABLE",
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfigurations: [{ encryptionType: "AES256" }],
          // `pulumi destroy` removes the repository with its images (they are rebuilt from source).
          forceDelete: true,
        },
        parent,
      );
      new LifecyclePolicy(`${name}-lifecycle`, { repository: repository.name, policy: lifecyclePolicyDocument() }, parent);
      const token = getAuthorizationTokenOutput({ registryId: repository.registryId }, parent);
      const context = args.context ?? MCP_SERVER_CONTEXT;
      const tag = buildContextTag(args.contextDir ?? MCP_SERVER_CONTEXT_DIR);
      this.built = new Image(
        `${name}-build`,
        {
          context: { location: context },
          dockerfile: { location: `${context}/Dockerfile` },
          platforms: [IMAGE_PLATFORM],
          push: true,
          tags: [pulumi.interpolate`${repository.repositoryUrl}:${tag}`],
          registries: [{ address: repository.repositoryUrl, username: token.userName, password: pulumi.secret(token.password) }],
        },
        parent,
      );
      this.imageUri = pulumi.interpolate`${repository.repositoryUrl}@${this.built.digest}`;
      this.repositoryArn = repository.arn;
    }
    this.registerOutputs({ imageUri: this.imageUri, repositoryArn: this.repositoryArn });
  }
}
