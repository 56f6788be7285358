/**
 * Key pairs of the Snowflake service users (the deployment makes the first, the rotation job the
 * next: mcp-server/src/engines/snowflake/rotation.ts). The private key lives in the host cloud's secret manager as
 * JSON `{ "username", "privateKey", "slot" }` (slot 1 or 2: which of RSA_PUBLIC_KEY /
 * RSA_PUBLIC_KEY_2 holds its public key; the rotation job writes the other slot next). The first
 * pair is made by the deployment (kept in Pulumi state as a secret, as RDS's first passwords are);
 * after that the rotation job swaps keys, and the user and secret ignore those changes.
 */
import { generateKeyPairSync } from "node:crypto";

/** A new RSA-2048 key pair: the PKCS#8 PEM private key, and the public key as `rsaPublicKey` takes it. */
export function newKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { privateKey, publicKey: publicKeyBody(publicKey) };
}

/** The base64 body of a PEM public key, on one line (Snowflake's RSA_PUBLIC_KEY form). */
export function publicKeyBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
}

/** The secret's value for a login's key. */
export function keySecretValue(username: string, privateKey: string, slot: 1 | 2): string {
  return JSON.stringify({ username, privateKey, slot });
}
