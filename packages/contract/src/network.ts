/**
 * CIDR blocks, parsed one way for the spec, the runtime config and the server's network checks.
 */
import { isIP } from "node:net";

export interface Cidr {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/** `a.b.c.d/n` or `ipv6/n`; null when malformed. */
export function parseCidr(cidr: string): Cidr | null {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  if (!match) return null;
  const version = isIP(match[1]!);
  const prefix = Number(match[2]);
  if (version === 0 || prefix > (version === 4 ? 32 : 128)) return null;
  return { address: match[1]!, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/** Does the CIDR cover the whole address space (0.0.0.0/0, ::/0)? */
export function isWholeInternet(cidr: string): boolean {
  return parseCidr(cidr)?.prefix === 0;
}
