/** Every place whose version differs from package.json's, in words (empty: they agree). */
export function versionProblems(root?: string): string[];
