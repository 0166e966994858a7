/**
 * CPU time and memory of another process, from Linux's /proc. Used to report the server's CPU
 * (utime + stime over a run) and its resident memory. Elsewhere the readers return null.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let clockTicks: number | null = null;

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, nearly always 100). */
export function clockTicksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      clockTicks = 100;
    }
    if (!Number.isFinite(clockTicks) || clockTicks <= 0) clockTicks = 100;
  }
  return clockTicks;
}

/**
 * Parses the text of /proc/<pid>/stat into user + system CPU seconds. The command name (field
 * 2) may hold spaces and parentheses, so fields are counted from the last `)`.
 */
export function parseProcStatCpuSeconds(stat: string, ticksPerSecond: number): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error('unexpected /proc/<pid>/stat format');
  }
  return (utime + stime) / ticksPerSecond;
}

/** User + system CPU seconds used so far by every thread of `pid`, or null. */
export function processCpuSeconds(pid: number): number | null {
  try {
    return parseProcStatCpuSeconds(
      readFileSync(`/proc/${pid}/stat`, 'utf8'),
      clockTicksPerSecond(),
    );
  } catch {
    return null;
  }
}

export interface ProcessMemory {
  rssBytes: number;
  /** The high-water mark of the resident set since the process started (VmHWM). */
  peakRssBytes: number;
}

/** Parses the VmRSS and VmHWM lines of /proc/<pid>/status. */
export function parseProcStatusMemory(status: string): ProcessMemory {
  const kib = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (match === null) throw new Error(`no ${name} in /proc/<pid>/status`);
    return Number(match[1]) * 1024;
  };
  return { rssBytes: kib('VmRSS'), peakRssBytes: kib('VmHWM') };
}

export function processMemory(pid: number): ProcessMemory | null {
  try {
    return parseProcStatusMemory(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return null;
  }
}

/** The direct children of `pid` (every thread's children). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text !== '') for (const child of text.split(' ')) children.push(Number(child));
    }
  } catch {
    // The process is gone, or this is not Linux.
  }
  return children;
}

/** The first descendant of `pid` whose command line contains `needle`, or null. */
export function findDescendant(pid: number, needle: string): number | null {
  const queue = childPids(pid);
  while (queue.length > 0) {
    const candidate = queue.shift()!;
    try {
      const cmdline = readFileSync(`/proc/${candidate}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(needle)) return candidate;
    } catch {
      continue;
    }
    queue.push(...childPids(candidate));
  }
  return null;
}

/**
 * The first process whose command name (/proc/<pid>/comm) is one of `names`, or null: finds a
 * database server running on this machine, such as `mariadbd` or `mysqld`.
 */
export function findProcessByName(names: readonly string[]): number | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (names.includes(readFileSync(`/proc/${entry}/comm`, 'utf8').trim())) return Number(entry);
    } catch {
      continue; // the process ended while we looked
    }
  }
  return null;
}

/**
 * The MySQL or MariaDB server process (`mariadbd` or `mysqld`) behind `host`, when `host` is
 * this machine; null for a remote server, whose CPU cannot be read from here.
 */
export function localDatabasePid(host: string): number | null {
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) return null;
  return findProcessByName(['mariadbd', 'mysqld']);
}

/** CPU and memory of a process over one measured interval. */
export interface ProcessUsage {
  cpuSeconds: number;
  /** CPU seconds per wall second, as a percentage of one core (200 = two cores busy). */
  cpuPercent: number;
  rssMiB: number;
  peakRssMiB: number;
}

/** Starts measuring `pid`; the returned function ends the interval (null when unreadable). */
export function measureProcess(pid: number): () => ProcessUsage | null {
  const cpuBefore = processCpuSeconds(pid);
  const started = performance.now();
  return () => {
    const cpuAfter = processCpuSeconds(pid);
    const memory = processMemory(pid);
    const wallSeconds = (performance.now() - started) / 1000;
    if (cpuBefore === null || cpuAfter === null || memory === null) return null;
    const cpuSeconds = cpuAfter - cpuBefore;
    return {
      cpuSeconds: Number(cpuSeconds.toFixed(2)),
      cpuPercent: Math.round((cpuSeconds / wallSeconds) * 100),
      rssMiB: Math.round(memory.rssBytes / 2 ** 20),
      peakRssMiB: Math.round(memory.peakRssBytes / 2 ** 20),
    };
  };
}
