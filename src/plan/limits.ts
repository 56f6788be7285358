/**
 * A workflow's limits in words: the one way every reader shows them (`dbwarden plan`'s tree, the
 * access review, `dbwarden up`'s list of changes), so a 60,000 ms timeout reads "60 s" everywhere.
 */
import type { LimitsPlan } from "./types.ts";

/** Milliseconds as seconds where whole ("60 s"), else as they are ("1500 ms"). */
export function durationText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** Bytes in the largest binary unit that holds them whole ("1 MiB", "512 KiB", "100 B"). */
export function bytesText(bytes: number): string {
  return bytes % 1024 ** 2 === 0 ? `${bytes / 1024 ** 2} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

/** Bytes billed, in the decimal units BigQuery's own settings use ("1 GB", "500 MB") where whole. */
export function billedText(bytes: number): string {
  return bytes % 1e9 === 0 ? `${bytes / 1e9} GB` : bytes % 1e6 === 0 ? `${bytes / 1e6} MB` : bytesText(bytes);
}

/** Each limit's name in words and how its value reads, in the plan's order. */
export const LIMIT_WORDS: Record<keyof LimitsPlan, { name: string; value: (n: number) => string }> = {
  statementTimeoutMs: { name: "statement timeout", value: durationText },
  maxRows: { name: "rows per result", value: String },
  maxResultBytes: { name: "bytes per result", value: bytesText },
  callsPerMinute: { name: "calls per minute", value: String },
  concurrentCalls: { name: "concurrent calls", value: String },
  maxBytesBilled: { name: "bytes billed per query (BigQuery)", value: billedText },
};

/** The limits' names, in the plan's order. */
export const LIMIT_KEYS = Object.keys(LIMIT_WORDS) as Array<keyof LimitsPlan>;

/** One limit's value in words ("60 s", "1 MiB", "1000"); null (no bytes-billed cap) is "no cap". */
export function limitValue(key: keyof LimitsPlan, value: number | null): string {
  return value === null ? "no cap" : LIMIT_WORDS[key].value(value);
}

/** A limit absent from the plan (a BigQuery job without a bytes cap) is no limit at all: above every number. */
export function limitRank(value: number | null): number {
  return value ?? Number.POSITIVE_INFINITY;
}

/** Every limit the workflow has, "statement timeout 60 s, rows per result 1000, ..." (the bytes-billed cap only where there is one: BigQuery). */
export function limitsText(limits: LimitsPlan): string {
  return LIMIT_KEYS.filter((key) => limits[key] !== null)
    .map((key) => `${LIMIT_WORDS[key].name} ${limitValue(key, limits[key])}`)
    .join(", ");
}

/** The limits that differ, "rows per result 1000 -> 500, ..."; empty when none does. */
export function limitChanges(before: LimitsPlan, after: LimitsPlan): string[] {
  return LIMIT_KEYS.filter((key) => before[key] !== after[key]).map(
    (key) => `${LIMIT_WORDS[key].name} ${limitValue(key, before[key])} -> ${limitValue(key, after[key])}`,
  );
}
