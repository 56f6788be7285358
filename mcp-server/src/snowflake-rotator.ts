/**
 * `node dist/snowflake-rotator.js`: the Snowflake key-rotation job (snowflake-rotation-job.ts), run
 * on the spec's `credentials.rotationDays` by the host: an ECS task started by EventBridge
 * Scheduler on AWS, a Cloud Run job started by Cloud Scheduler on GCP (components/snowflake/
 * rotationJob.ts). Its configuration is `DBWARDEN_SNOWFLAKE_ROTATION` (JSON, no credential in it);
 * it reads and writes the key secrets, and reads the admin secret, with its own identity.
 * Exit 0 when every key was rotated, 1 otherwise (a bad configuration included).
 */
import { parseSnowflakeRotationConfig, SNOWFLAKE_ROTATION_ENV } from "@dbwarden/contract";
import { openClouds } from "./clouds/registry.js";
import { writableSecret } from "./clouds/secret-writers.js";
import { credentialSources } from "./credentials.js";
import { SNOWFLAKE_SDK_DRIVER } from "./engines/snowflake/driver.js";
import { runSnowflakeRotation } from "./snowflake-rotation-job.js";

const log = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

/** Runs the job once; its exit code. */
async function main(): Promise<number> {
  try {
    const config = parseSnowflakeRotationConfig(process.env[SNOWFLAKE_ROTATION_ENV]);
    const outcome = await runSnowflakeRotation(config, {
      driver: SNOWFLAKE_SDK_DRIVER,
      secrets: credentialSources(openClouds()).secrets,
      writable: (ref) => writableSecret(ref),
      wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      log,
    });
    return outcome.failed.length > 0 ? 1 : 0;
  } catch (error) {
    log({ snowflakeRotation: "failed", reason: (error as Error).message.split("\n")[0] });
    return 1;
  }
}

void main().then((code) => {
  process.exitCode = code;
});
