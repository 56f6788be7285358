/**
 * The version of this dbwarden and the MCP server image released with it. `VERSION` is
 * package.json's `version`, written here by `npm version` (scripts/build-version.mjs, the
 * `version` lifecycle script) and checked by the build and by test/package/version.test.ts, so a
 * program reads it without touching the file system (the same in ESM, CommonJS and from sources).
 */

/** This package's version (semantic versioning; see CHANGELOG.md). */
export const VERSION = "0.3.0";

/** Where the release workflow (.github/workflows/release.yml) publishes the MCP server image. */
export const MCP_IMAGE_REPOSITORY = "ghcr.io/dbwarden/mcp-server";

/** The MCP server image released with this version: the default when a spec names none. */
export const DEFAULT_MCP_IMAGE = `${MCP_IMAGE_REPOSITORY}:${VERSION}`;
