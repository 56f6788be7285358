/**
 * The packages an image installs, read from its files: every package under `<root>/node_modules`
 * (scoped and nested ones too) by its path, workspace links as such, and the ones the root
 * lockfile does not pin at that path and version. Plain JavaScript with node's own modules only:
 * the Dockerfile replay (../image.test.ts) reads a folder with it, and the real image's checks
 * (test/image/container.image.ts) run it inside the container with the image's own node:
 *   node installed.mjs /app   prints the list as JSON.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** Every package under `<root>/<prefix>`, depth first, each with its nested node_modules. */
export function installedPackages(root, prefix = "node_modules") {
  const dir = join(root, prefix);
  if (!existsSync(dir)) return [];
  const found = [];
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith(".")) continue;
    const names = entry.startsWith("@") ? readdirSync(join(dir, entry)).map((n) => `${entry}/${n}`) : [entry];
    for (const name of names) {
      const path = `${prefix}/${name}`;
      const link = lstatSync(join(root, path)).isSymbolicLink();
      const { version } = JSON.parse(readFileSync(join(root, path, "package.json"), "utf8"));
      found.push({ path, name, version, link }, ...(link ? [] : installedPackages(root, `${path}/node_modules`)));
    }
  }
  return found;
}

/**
 * `path@version` of each installed package the lockfile does not pin there: a workspace (the
 * server, the contract) must be a link the lockfile records as one; every other package must have
 * the lockfile's version at that very path.
 */
export function unpinnedPackages(packages, lock) {
  return packages
    .filter((p) => (p.link ? lock.packages[p.path]?.link !== true : lock.packages[p.path]?.version !== p.version))
    .map((p) => `${p.path}@${p.version}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(installedPackages(process.argv[2] ?? ".")));
}
