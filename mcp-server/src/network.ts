/**
 * Per-client source networks (plan `ClientPlan.sourceCidrs`), enforced by the HTTP transport after
 * authentication. The client's address is the socket's peer, unless that peer is a trusted proxy
 * (runtime `listen.trustedProxies`, the load balancer's CIDRs): then it is the right-most
 * X-Forwarded-For address that is not itself a trusted proxy. Addresses a client could forge (any
 * X-Forwarded-For entry left of that one, or the header from an untrusted peer) are never used.
 */
import { BlockList, isIP } from "node:net";
import { parseCidr } from "@dbwarden/contract";

export { parseCidr };

/** A set of networks; throws naming `where` and the CIDR when one is malformed. */
export class Networks {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(cidrs: readonly string[], where: string) {
    for (const cidr of cidrs) {
      const parsed = parseCidr(cidr);
      if (!parsed) throw new Error(`${where}: "${cidr}" is not a CIDR (expected e.g. 10.0.12.0/24 or 2001:db8::/32)`);
      this.list.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
    this.size = cidrs.length;
  }

  has(address: string | null): boolean {
    if (address === null) return false;
    const version = isIP(address);
    if (version === 0) return false;
    return this.list.check(address, version === 4 ? "ipv4" : "ipv6");
  }
}

/** A socket or header address as a plain IP: IPv4-mapped IPv6 unwrapped, brackets and zone dropped; null if not an IP. */
export function normalizeAddress(raw: string | undefined): string | null {
  if (!raw) return null;
  let address = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(":"));
  address = address.replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1]!;
  return isIP(address) === 0 ? null : address.toLowerCase();
}

/**
 * The address a request comes from. `forwardedFor` is the X-Forwarded-For header (node joins
 * repeated headers with ", "). With no trusted proxies, or a peer that is not one, the header is
 * ignored. Null when the address cannot be known (a malformed entry where the client should be).
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | string[] | undefined, trustedProxies: Networks | null): string | null {
  const socketAddress = normalizeAddress(peer);
  if (!trustedProxies || trustedProxies.size === 0 || !trustedProxies.has(socketAddress)) return socketAddress;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(",") : (forwardedFor ?? "");
  const hops = header
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "");
  let address = socketAddress;
  for (let i = hops.length - 1; i >= 0; i--) {
    address = normalizeAddress(hops[i]);
    if (!trustedProxies.has(address)) return address;
  }
  // Every hop is a trusted proxy (or there is no header): the request started inside the proxy range.
  return address;
}
