/** Types of ./installed.mjs (plain JavaScript, so the image's own node can run it). */
export interface InstalledPackage {
  /** Relative to the root: `node_modules/<name>[/node_modules/<name>...]`, as the lockfile keys it. */
  path: string;
  name: string;
  version: string;
  /** A symbolic link (a workspace). */
  link: boolean;
}

export interface Lockfile {
  packages: Record<string, { version?: string; link?: boolean }>;
}

export function installedPackages(root: string, prefix?: string): InstalledPackage[];
export function unpinnedPackages(packages: readonly InstalledPackage[], lock: Lockfile): string[];
