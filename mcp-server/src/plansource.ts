/**
 * Where the server's two documents come from, the same way for both (the contract's PLAN_ENV and
 * RUNTIME_ENV): the access plan from `--plan <file>` or exactly one of DBWARDEN_PLAN (the JSON
 * text), DBWARDEN_PLAN_FILE (a file) and one variable per object store of the contract's
 * `DOCUMENT_OBJECT_STORES` (DBWARDEN_PLAN_S3, `s3://bucket/key`), read once at start through the
 * cloud serving that store (clouds/): for documents too large for a task definition's
 * environment. The runtime config likewise from `--runtime` or DBWARDEN_RUNTIME / _FILE / _S3.
 * With the matching _SHA256 variable the bytes must hash to it, or the server does not start.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { DOCUMENT_OBJECT_STORES, PLAN_ENV, RUNTIME_ENV, type DocumentEnv, type ObjectStoreKind } from "@dbwarden/contract";
import type { CloudSources } from "./clouds/cloud.js";
import { openClouds, type CloudClients } from "./clouds/registry.js";
import { ConfigError } from "./config.js";

/** One of the server's documents: what it is called and which variables give it. */
interface DocumentSource {
  what: "access plan" | "runtime config";
  flag: "--plan" | "--runtime";
  env: DocumentEnv;
}

/** The object stores, in the contract's order. */
const OBJECT_STORES = Object.keys(DOCUMENT_OBJECT_STORES) as ObjectStoreKind[];

const PLAN: DocumentSource = { what: "access plan", flag: "--plan", env: PLAN_ENV };
const RUNTIME: DocumentSource = { what: "runtime config", flag: "--runtime", env: RUNTIME_ENV };

/** Where to look for one document: the flag's file when given, else the environment's variables (objects through `stores`). */
interface DocumentLookup {
  source: DocumentSource;
  flagFile: string | undefined;
  env: NodeJS.ProcessEnv;
  stores: CloudSources["objectStores"];
}

/** A document's bytes and where they came from, for messages. */
async function documentBytes({ source, flagFile, env, stores }: DocumentLookup): Promise<{ bytes: Buffer; origin: string; file?: string }> {
  const { what, flag, env: names } = source;
  if (flagFile) return { bytes: await readDocumentFile(source, flagFile, flag), origin: flagFile, file: flagFile };
  const variables = [names.text, names.file, ...OBJECT_STORES.map((store) => names[store])];
  const given = variables.filter((name) => env[name]);
  if (given.length > 1) throw new ConfigError(`${what}: give one of ${given.join(", ")}, not several`);
  if (given.length === 0) throw new ConfigError(`${what}: give ${flag} <file>, ${variables.slice(0, -1).join(", ")} or ${variables.at(-1)}`);
  const [name] = given as [string];
  const value = env[name]!;
  if (name === names.text) return { bytes: Buffer.from(value, "utf8"), origin: names.text };
  if (name === names.file) return { bytes: await readDocumentFile(source, value, names.file), origin: value, file: value };
  const store = stores[OBJECT_STORES.find((kind) => names[kind] === name)!];
  const location = store.locate(value, name);
  try {
    return { bytes: await store.read(location), origin: value };
  } catch (error) {
    const e = error as { name?: string; code?: string };
    throw new ConfigError(`${what}: cannot read ${value} (${e.name ?? e.code ?? "error"})`);
  }
}

async function readDocumentFile(source: DocumentSource, path: string, given: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new ConfigError(`${source.what} (${given}): cannot read ${path} (${(error as { code?: string }).code ?? "error"})`);
  }
}

/** A document as parsed JSON (validated later), its sha256 checked when the _SHA256 variable is given. */
async function loadDocument(lookup: DocumentLookup): Promise<{ value: unknown; origin: string; file?: string }> {
  const { source, env } = lookup;
  const { bytes, origin, file } = await documentBytes(lookup);
  const expected = env[source.env.sha256];
  if (expected !== undefined) {
    if (!/^[0-9a-f]{64}$/.test(expected)) throw new ConfigError(`${source.env.sha256}: expected 64 lowercase hex characters`);
    const actual = createHash("sha256").update(bytes).digest("hex");
    if (actual !== expected) {
      throw new ConfigError(
        `${source.what}: ${origin} has sha256 ${actual}, but ${source.env.sha256} is ` +
          `${expected}; refusing to start with a ${source.what} that is not the one deployed`,
      );
    }
  }
  try {
    return { value: JSON.parse(bytes.toString("utf8")), origin, ...(file ? { file } : {}) };
  } catch (error) {
    // The message of JSON.parse can quote the text, which may hold secrets: position only.
    const position = /position (\d+)/.exec(String((error as Error).message))?.[1];
    throw new ConfigError(`${source.what}: ${origin} is not valid JSON${position ? ` (at character ${position})` : ""}`);
  }
}

/**
 * The access plan as parsed JSON (validated later by `parsePlan`), from the flag or the environment; objects through the clouds' stores (`clients`:
 * their fakes); `file` when it came from one (SIGHUP re-reads it).
 */
export async function loadPlan(
  flagFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  clients: CloudClients = {},
): Promise<{ value: unknown; origin: string; file?: string }> {
  return loadDocument({ source: PLAN, flagFile, env, stores: openClouds(clients).objectStores });
}

/**
 * The runtime config as parsed JSON (validated later), from the flag or the environment; `file`
 * when it came from one (SIGHUP re-reads a file; a runtime config given as text or an S3 object is
 * fixed for the process: the deployment replaces the task to change it).
 */
export async function loadRuntime(
  flagFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  clients: CloudClients = {},
): Promise<{ value: unknown; origin: string; file?: string }> {
  return loadDocument({ source: RUNTIME, flagFile, env, stores: openClouds(clients).objectStores });
}
