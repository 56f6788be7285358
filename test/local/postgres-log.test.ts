/**
 * The local stack's PostgreSQL log file held open (src/local/postgres-log.ts): chunks appended in
 * order, the file private, and log rotation followed (a renamed or removed file is replaced by a
 * new one at the path within the follow interval).
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { PostgresLogFile } from "../../src/local/postgres-log.ts";

const dir = mkdtempSync(join(tmpdir(), "dbwarden-pglog-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("chunks are appended in order to a private file, after what it held", () => {
  const path = join(dir, "append.log");
  writeFileSync(path, "earlier\n", { mode: 0o600 });
  const log = new PostgresLogFile(path);
  log.write("LOG:  statement: SELECT 1\n");
  log.write("LOG:  statement: SELECT 2\n");
  log.close();
  assert.equal(readFileSync(path, "utf8"), "earlier\nLOG:  statement: SELECT 1\nLOG:  statement: SELECT 2\n");
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test("a renamed file is followed: within the interval lines still reach it, after it a new private file at the path", () => {
  const path = join(dir, "rotated.log");
  let now = 0;
  const log = new PostgresLogFile(path, 1_000, () => now);
  log.write("one\n");
  renameSync(path, `${path}.1`);
  now = 999;
  log.write("two\n");
  now = 1_000;
  log.write("three\n");
  log.close();
  assert.equal(readFileSync(`${path}.1`, "utf8"), "one\ntwo\n");
  assert.equal(readFileSync(path, "utf8"), "three\n");
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test("a removed file is created again; after close a late chunk is still appended", () => {
  const path = join(dir, "removed.log");
  let now = 0;
  const log = new PostgresLogFile(path, 1_000, () => now);
  log.write("one\n");
  unlinkSync(path);
  now = 5_000;
  log.write("two\n");
  log.close();
  log.write("late\n");
  assert.equal(readFileSync(path, "utf8"), "two\nlate\n");
});
