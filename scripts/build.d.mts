/** Every place whose version differs from package.json's, in words (empty: they agree). */
export function versionProblems(root?: string): string[];
/** Where the publishable @dbwarden/mcp-server is assembled by the build (absolute). */
export const SERVER_PACKAGE_DIR: string;
