/**
 * Where the server's access plan comes from (the contract's PLAN_ENV): `--plan <file>`, or exactly
 * one of DBWARDEN_PLAN (the JSON text), DBWARDEN_PLAN_FILE (a file) and DBWARDEN_PLAN_S3
 * (`s3://bucket/key`, read once at start: for plans too large for a task definition's
 * environment). With DBWARDEN_PLAN_SHA256 the bytes must hash to it, or the server does not start.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { PLAN_ENV } from "@dbwarden/contract";
import { ConfigError } from "./config.js";

/** Where `DBWARDEN_PLAN_S3` objects come from. Real: `@aws-sdk/client-s3`; tests: an in-process fake. */
export interface ObjectSource {
  getObject(bucket: string, key: string): Promise<Buffer>;
}

/** Amazon S3 through `@aws-sdk/client-s3` (loaded only when used), with the task role's credentials. */
export class AwsS3ObjectSource implements ObjectSource {
  /** `config`: extra S3 client settings (an endpoint for S3-compatible stores and tests). */
  constructor(private readonly config: { region?: string; endpoint?: string; forcePathStyle?: boolean } = {}) {}

  async getObject(bucket: string, key: string): Promise<Buffer> {
    const { S3Client, GetObjectCommand } = await import("@aws-sdk/client-s3");
    const client = new S3Client(this.config);
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!out.Body) throw new Error("the object has no body");
      return Buffer.from(await out.Body.transformToByteArray());
    } finally {
      client.destroy();
    }
  }
}

/** `s3://bucket/key` split; a ConfigError naming the variable otherwise. */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(url);
  if (!match) throw new ConfigError(`${PLAN_ENV.s3}: expected s3://<bucket>/<key>, got ${JSON.stringify(url.slice(0, 200))}`);
  return { bucket: match[1]!, key: match[2]! };
}

/** The plan's bytes and where they came from, for messages. */
async function planBytes(flagFile: string | undefined, env: NodeJS.ProcessEnv, objects: () => ObjectSource): Promise<{ bytes: Buffer; origin: string }> {
  if (flagFile) return { bytes: await readPlanFile(flagFile, "--plan"), origin: flagFile };
  const given = ([PLAN_ENV.text, PLAN_ENV.file, PLAN_ENV.s3] as const).filter((name) => env[name]);
  if (given.length > 1) throw new ConfigError(`access plan: give one of ${given.join(", ")}, not several`);
  if (given.length === 0) throw new ConfigError(`access plan: give --plan <file>, ${PLAN_ENV.text}, ${PLAN_ENV.file} or ${PLAN_ENV.s3}`);
  const [name] = given as [string];
  const value = env[name]!;
  if (name === PLAN_ENV.text) return { bytes: Buffer.from(value, "utf8"), origin: PLAN_ENV.text };
  if (name === PLAN_ENV.file) return { bytes: await readPlanFile(value, PLAN_ENV.file), origin: value };
  const { bucket, key } = parseS3Url(value);
  try {
    return { bytes: await objects().getObject(bucket, key), origin: value };
  } catch (error) {
    const e = error as { name?: string; code?: string };
    throw new ConfigError(`access plan: cannot read ${value} (${e.name ?? e.code ?? "error"})`);
  }
}

async function readPlanFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new ConfigError(`access plan (${what}): cannot read ${path} (${(error as { code?: string }).code ?? "error"})`);
  }
}

/**
 * The access plan as parsed JSON (validated later by `parsePlan`), from the flag or the
 * environment, its sha256 checked when `DBWARDEN_PLAN_SHA256` is given.
 */
export async function loadPlan(flagFile: string | undefined, env: NodeJS.ProcessEnv = process.env, objects: () => ObjectSource = () => new AwsS3ObjectSource()): Promise<{ value: unknown; origin: string }> {
  const { bytes, origin } = await planBytes(flagFile, env, objects);
  const expected = env[PLAN_ENV.sha256];
  if (expected !== undefined) {
    if (!/^[0-9a-f]{64}$/.test(expected)) throw new ConfigError(`${PLAN_ENV.sha256}: expected 64 lowercase hex characters`);
    const actual = createHash("sha256").update(bytes).digest("hex");
    if (actual !== expected) throw new ConfigError(`access plan: ${origin} has sha256 ${actual}, but ${PLAN_ENV.sha256} is ${expected}; refusing to start with a plan that is not the one deployed`);
  }
  try {
    return { value: JSON.parse(bytes.toString("utf8")), origin };
  } catch (error) {
    const position = /position (\d+)/.exec(String((error as Error).message))?.[1];
    throw new ConfigError(`access plan: ${origin} is not valid JSON${position ? ` (at character ${position})` : ""}`);
  }
}
