/** RDS IAM database authentication: `awsRdsIam` logins get a 15-minute auth token as their password. */

/** What an RDS IAM auth token is generated for: exactly one database user at one endpoint. */
export interface RdsAuthTokenRequest {
  hostname: string;
  port: number;
  username: string;
  region: string;
}

/**
 * Where `awsRdsIam` logins get their password: an RDS IAM auth token (valid 15 minutes) generated
 * at connect time. Real: `@aws-sdk/rds-signer` (signed locally with the task role's credentials).
 */
export interface RdsAuthTokenSource {
  getAuthToken(request: RdsAuthTokenRequest): Promise<string>;
}

/** `@aws-sdk/rds-signer`; one signer per (endpoint, user, region), so credentials are resolved once and refreshed by the SDK. */
export class AwsRdsSignerTokenSource implements RdsAuthTokenSource {
  private readonly signers = new Map<string, Promise<{ getAuthToken(): Promise<string> }>>();

  async getAuthToken(request: RdsAuthTokenRequest): Promise<string> {
    const key = `${request.hostname}\u0000${request.port}\u0000${request.username}\u0000${request.region}`;
    let signer = this.signers.get(key);
    if (!signer) {
      signer = import("@aws-sdk/rds-signer").then(
        (m) => new m.Signer({ hostname: request.hostname, port: request.port, username: request.username, region: request.region }),
      );
      this.signers.set(key, signer);
    }
    return (await signer).getAuthToken();
  }
}
