/**
 * Container image references, as the MCP server's allow-list reads them (the `mcp-image-allowed`
 * rule) and as the access review judges an image change: an image is allowed by its repository
 * (the reference without its tag and digest), so any tag or digest of an allowed repository is
 * allowed, and nothing else is.
 */
import { MCP_IMAGE_REPOSITORY } from "../../src/version.ts";

/** The repositories allowed when nothing else is configured: dbwarden's released image. */
export const DEFAULT_ALLOWED_IMAGES: readonly string[] = [MCP_IMAGE_REPOSITORY];

/** An image reference's repository: `registry/path` without `:tag` and `@digest`. */
export function imageRepository(reference: string): string {
  const named = reference.split("@")[0]!;
  const slash = named.lastIndexOf("/");
  const colon = named.lastIndexOf(":");
  return colon > slash ? named.slice(0, colon) : named;
}

/**
 * Is the image's repository one of `allowed`? An entry is a repository (`ghcr.io/dbwarden/mcp-server`);
 * `*` in an entry stands for any characters but `/` (`*.dkr.ecr.us-east-1.amazonaws.com/dbwarden/prod/mcp-server`).
 */
export function imageAllowed(reference: string, allowed: readonly string[]): boolean {
  const repository = imageRepository(reference.trim());
  return allowed.some((entry) => {
    const pattern = entry
      .trim()
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join("[^/]*");
    return new RegExp(`^${pattern}$`).test(repository);
  });
}
