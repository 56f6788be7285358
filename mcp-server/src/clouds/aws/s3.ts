/** Amazon S3: plans and runtime configs too large for a task definition's environment (`DBWARDEN_PLAN_S3`, `DBWARDEN_RUNTIME_S3`). */
import { ConfigError } from "@dbwarden/contract";
import type { ObjectLocation } from "../cloud.js";

/** Where S3 objects come from. Real: `AwsS3ObjectSource`; tests: an in-process fake. */
export interface S3ObjectSource {
  getObject(bucket: string, key: string): Promise<Buffer>;
}

/** Amazon S3 through `@aws-sdk/client-s3` (loaded only when used), with the task role's credentials. */
export class AwsS3ObjectSource implements S3ObjectSource {
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
export function parseS3Url(url: string, variable: string): ObjectLocation {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(url);
  if (!match) throw new ConfigError(`${variable}: expected s3://<bucket>/<key>, got ${JSON.stringify(url.slice(0, 200))}`);
  return { bucket: match[1]!, key: match[2]! };
}
