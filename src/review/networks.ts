/**
 * Network sets compared by what they admit, not by how they are written: `10.0.0.0/16` admits
 * `10.0.12.0/24`, and `10.0.0.0/25` + `10.0.0.128/25` admit exactly what `10.0.0.0/24` admits.
 * CIDRs are parsed by the contract's one parser (`parseCidr`); here they become address ranges.
 */
import { parseCidr } from "@dbwarden/contract";

interface Range {
  family: "ipv4" | "ipv6";
  start: bigint;
  end: bigint;
}

function ipv4Bits(address: string): bigint {
  return address.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Bits(address: string): bigint {
  // A trailing dotted quad (::ffff:10.0.0.1) is two 16-bit groups.
  let text = address.toLowerCase();
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const v4 = ipv4Bits(quad[1]!);
    text = `${text.slice(0, quad.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, null];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const groups = tail === null ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill("0"), ...tailGroups];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group || "0", 16)), 0n);
}

/** The addresses a CIDR admits, or null when it is not a CIDR. */
export function cidrRange(cidr: string): Range | null {
  const parsed = parseCidr(cidr);
  if (!parsed) return null;
  const bits = parsed.family === "ipv4" ? 32 : 128;
  const address = parsed.family === "ipv4" ? ipv4Bits(parsed.address) : ipv6Bits(parsed.address);
  const hostBits = BigInt(bits - parsed.prefix);
  const start = (address >> hostBits) << hostBits;
  return { family: parsed.family, start, end: start + (1n << hostBits) - 1n };
}

/** Is every address of `cidr` admitted by the union of `by`? A malformed CIDR is never covered. */
export function coveredBy(cidr: string, by: readonly string[]): boolean {
  const range = cidrRange(cidr);
  if (!range) return false;
  const ranges = by
    .map(cidrRange)
    .filter((r): r is Range => r !== null && r.family === range.family)
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  // Walk the sorted ranges, extending the covered prefix of `range` while they touch it.
  let next = range.start;
  for (const r of ranges) {
    if (r.start > next) break;
    if (r.end >= next) next = r.end + 1n;
    if (next > range.end) return true;
  }
  return false;
}

/** How a set of networks changed: what it admits now that it did not, and what it no longer admits. */
export interface NetworkChange {
  /** CIDRs of `after` not wholly admitted before (the widening part). */
  admitted: string[];
  /** CIDRs of `before` not wholly admitted now (the narrowing part). */
  dropped: string[];
}

/**
 * Compare two CIDR lists. `emptyMeans` says what an empty list admits: `none` (an allowlist of
 * nothing) or `any` (no restriction, e.g. a client's source CIDRs: any network that reaches the
 * server), which is compared as the whole address space of both families.
 */
export function compareNetworks(before: readonly string[], after: readonly string[], emptyMeans: "none" | "any"): NetworkChange {
  const everything = ["0.0.0.0/0", "::/0"];
  const b = before.length === 0 && emptyMeans === "any" ? everything : before;
  const a = after.length === 0 && emptyMeans === "any" ? everything : after;
  return { admitted: a.filter((c) => !coveredBy(c, b)), dropped: b.filter((c) => !coveredBy(c, a)) };
}
