/** A fake `pulumi` executable for drift tests: prints a recorded preview, exits with a given code, logs its arguments. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const PREVIEWS = new URL("../review/previews", import.meta.url).pathname;

export interface FakePulumi {
  /** The folder to put on PATH. */
  dir: string;
  /** Arguments of every call so far, one array per call. */
  calls(): string[][];
  remove(): void;
}

/** A `pulumi` that prints `sample` (a file under test/review/previews) on stdout and exits `exitCode`. */
export function fakePulumi(sample: string, exitCode: number, stderr = ""): FakePulumi {
  const dir = mkdtempSync(join(tmpdir(), "dbwarden-fake-pulumi-"));
  const log = join(dir, "calls.log");
  writeFileSync(log, "");
  const script = [
    "#!/bin/sh",
    `printf '%s\\037' "$@" >> '${log}'`,
    `printf '\\n' >> '${log}'`,
    `cat '${join(PREVIEWS, sample)}'`,
    stderr ? `printf '%s\\n' '${stderr.replaceAll("'", "")}' >&2` : "",
    `exit ${exitCode}`,
  ].join("\n");
  writeFileSync(join(dir, "pulumi"), `${script}\n`);
  chmodSync(join(dir, "pulumi"), 0o755);
  return {
    dir,
    calls: () =>
      readFileSync(log, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => line.split("\u001f").filter((a, i, all) => i < all.length - 1 || a !== "")),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
