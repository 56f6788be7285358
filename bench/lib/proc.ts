/**
 * What a process has used, from /proc (Linux): CPU time (user + system, all threads) and memory.
 * CPU time per call is steadier than latency on a shared machine: it counts work, not waiting.
 */
import { readdirSync, readFileSync } from "node:fs";

/** /proc counts CPU time in USER_HZ ticks, 1/100 s on Linux. */
const CLOCK_TICKS = 100;

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] state, [1] ppid, [11] utime, [12] stime. */
export function statFields(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  } catch {
    return null;
  }
}

/** CPU time (user + system, all threads) in ms, from a process' stat fields. */
const fieldsCpuMs = (fields: string[]) => ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;

/** CPU time (user + system, all threads) a process has used so far, in ms; null if unknown. */
export function cpuMs(pid: number | undefined | null): number | null {
  const fields = pid ? statFields(pid) : null;
  return fields ? fieldsCpuMs(fields) : null;
}

/**
 * CPU time of a process and every process it started (a postmaster: backends, background workers,
 * logger), in ms: its own, its children's that still run, and that of children it has reaped
 * (cutime, cstime: fields [13] and [14]). Without the reaped ones the total went backwards when a
 * pool's backends exited between two readings (a negative CPU per call for direct pg).
 */
export function treeCpuMs(parent: number | null): number | null {
  if (!parent) return null;
  const own = statFields(parent);
  if (!own) return null;
  let total = fieldsCpuMs(own) + ((Number(own[13]) + Number(own[14])) * 1000) / CLOCK_TICKS;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === parent) total += fieldsCpuMs(fields);
  }
  return total;
}

/** A line of /proc/<pid>/status in MiB (`VmRSS`: now, `VmHWM`: the peak so far); null if unknown. */
function statusMiB(pid: number | undefined | null, field: "VmRSS" | "VmHWM"): number | null {
  if (!pid) return null;
  try {
    const kb = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}

export const rssMiB = (pid: number | undefined | null) => statusMiB(pid, "VmRSS");
export const peakRssMiB = (pid: number | undefined | null) => statusMiB(pid, "VmHWM");

/** This process' own CPU time so far (user + system), in ms. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
