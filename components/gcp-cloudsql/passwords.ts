/**
 * Initial passwords of a Cloud SQL target's password logins: a `RandomPassword` generated once and
 * held in state (encrypted), written to the role (write-only) and to its secret (write-only);
 * the rotator replaces it on schedule. Characters Postgres and JSON both take without quoting.
 */
import * as pulumi from "@pulumi/pulumi";
import { RandomPassword } from "@pulumi/random/randomPassword.js";

export function initialPassword(name: string, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
  const generated = new RandomPassword(
    name,
    { length: 40, special: true, overrideSpecial: "-_.~", minLower: 1, minUpper: 1, minNumeric: 1, minSpecial: 1 },
    opts,
  );
  return pulumi.secret(generated.result);
}
