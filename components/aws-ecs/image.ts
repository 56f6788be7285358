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
import { existsSync, lstatSync, readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Image } from "@pulumi/docker-build/image.js";
import { getAuthorizationTokenOutput } from "@pulumi/aws/ecr/getAuthorizationToken.js";
import { LifecyclePolicy } from "@pulumi/aws/ecr/lifecyclePolicy.js";
import { Repository } from "@pulumi/aws/ecr/repository.js";
import { DEFAULT_MCP_IMAGE } from "../../src/version.ts";
import { packageRoot } from "../../src/package.ts";
import type { ImagePlan } from "../../src/plan/types.ts";
import { imageRepositoryName } from "../../src/names/aws.ts";

/**
 * The MCP server's build context, relative to where `pulumi up` runs (the project root): the
 * repository root, as the image installs exactly the root lockfile's versions and packages/contract.
 */
export const MCP_SERVER_CONTEXT = ".";
/** Its Dockerfile, relative to the context. */
export const MCP_SERVER_DOCKERFILE = "mcp-server/Dockerfile";
/** The same context on this machine (the files the Dockerfile copies give the image tag): a clone of dbwarden. */
export const MCP_SERVER_CONTEXT_DIR = packageRoot();
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
 * The paths a Dockerfile copies from its build context (`COPY <src>... <dest>` without `--from`):
 * exactly what can change the built image besides the Dockerfile itself.
 */
export function dockerfileSources(dockerfile: string): string[] {
  const sources = new Set<string>();
  for (const raw of readFileSync(dockerfile, "utf8").split("\n")) {
    const words = raw.trim().split(/\s+/);
    if (words[0]?.toUpperCase() !== "COPY" && words[0]?.toUpperCase() !== "ADD") continue;
    const args = words.slice(1).filter((w) => !w.startsWith("--"));
    if (words.some((w) => w.startsWith("--from="))) continue;
    for (const source of args.slice(0, -1)) sources.add(source.replace(/\/+$/, ""));
  }
  return [...sources].sort();
}

/**
 * The image tag for a build: a hash of every file the Dockerfile copies from the context (path,
 * mode and content) and of the Dockerfile, so the tag changes whenever the built image can, and
 * an unrelated edit elsewhere in the repository does not push a new image.
 */
export function buildContextTag(contextDir: string, dockerfile = join(contextDir, MCP_SERVER_DOCKERFILE)): string {
  const hash = createHash("sha256");
  const add = (path: string) => {
    const rel = relative(contextDir, path).split("\\").join("/");
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat) throw new Error(`${dockerfile} copies ${rel}, which does not exist in ${contextDir}`);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) add(join(path, entry));
    } else if (stat.isFile()) {
      hash
        .update(`${rel}\u0000${stat.mode & 0o777}\u0000`)
        .update(readFileSync(path))
        .update("\u0000");
    } else if (stat.isSymbolicLink()) hash.update(`${rel}\u0000symlink\u0000`);
  };
  for (const source of dockerfileSources(dockerfile)) add(join(contextDir, source));
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
  /** Build context relative to where `pulumi up` runs; default `.` (a clone of dbwarden: the Dockerfile is `mcp-server/Dockerfile`). */
  context?: string;
  /** The same folder on this machine, hashed for the tag; default this package's root. */
  contextDir?: string;
  /** The environment's shared tags (`sharedTags`), on each taggable resource under its own; GovernedAccess gives them. */
  tags?: Record<string, string>;
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
          tags: args.tags,
        },
        parent,
      );
      new LifecyclePolicy(`${name}-lifecycle`, { repository: repository.name, policy: lifecyclePolicyDocument() }, parent);
      const token = getAuthorizationTokenOutput({ registryId: repository.registryId }, parent);
      const context = args.context ?? MCP_SERVER_CONTEXT;
      const contextDir = args.contextDir ?? MCP_SERVER_CONTEXT_DIR;
      if (!existsSync(join(contextDir, MCP_SERVER_DOCKERFILE))) {
        throw new Error(
          `${name}: mcpServer.image is { build: true }, which builds dbwarden's own MCP server sources (${MCP_SERVER_DOCKERFILE}): ` +
            `only a clone of dbwarden has them, not the npm package. Use the released image ` +
            `(${DEFAULT_MCP_IMAGE}, or leave mcpServer.image out) or your registry's copy of it`,
        );
      }
      const tag = buildContextTag(contextDir);
      this.built = new Image(
        `${name}-build`,
        {
          context: { location: context },
          dockerfile: { location: context === "." ? MCP_SERVER_DOCKERFILE : `${context}/${MCP_SERVER_DOCKERFILE}` },
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
