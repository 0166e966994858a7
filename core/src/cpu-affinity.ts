/**
 * Pins the calling thread to one CPU core with Linux `sched_setaffinity(0, ...)`, called
 * through koffi (Node has no thread-affinity API). pid 0 means "the calling thread", so a
 * worker thread that calls this pins only itself.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface PinResult {
  /** The kernel thread id of the caller. */
  tid: number;
  /** `Cpus_allowed_list` of the thread after the call, as the kernel reports it. */
  cpusAllowed: string;
  /** Why pinning did not happen, or null when it did. */
  failure: string | null;
}

interface Libc {
  gettid: () => number;
  sched_getcpu: () => number;
  sched_setaffinity: (pid: number, size: number, mask: Uint8Array) => number;
}

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    if (process.platform !== 'linux')
      throw new Error(`${process.platform} has no sched_setaffinity`);
    const koffi = require('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    libc = {
      gettid: lib.func('int gettid(void)') as () => number,
      sched_getcpu: lib.func('int sched_getcpu(void)') as () => number,
      sched_setaffinity: lib.func(
        'int sched_setaffinity(int pid, size_t size, const uint8_t *mask)',
      ) as Libc['sched_setaffinity'],
    };
  } catch {
    libc = null;
  }
  return libc;
}

function cpusAllowed(tid: number): string {
  try {
    const status = readFileSync(`/proc/self/task/${tid}/status`, 'utf8');
    return /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Pins the calling thread to `core`, or reports why it could not. Never throws. */
export function pinCurrentThread(core: number | null): PinResult {
  const lib = loadLibc();
  const tid = lib?.gettid() ?? -1;
  if (core === null) return { tid, cpusAllowed: cpusAllowed(tid), failure: 'pinning is off' };
  if (lib === null)
    return {
      tid,
      cpusAllowed: 'unknown',
      failure: 'sched_setaffinity is unavailable (not Linux, or koffi did not load)',
    };
  const mask = new Uint8Array(128); // cpu_set_t: 1024 bits
  mask[core >> 3] = 1 << (core & 7);
  const rc = lib.sched_setaffinity(0, mask.length, mask);
  return {
    tid,
    cpusAllowed: cpusAllowed(tid),
    failure: rc === 0 ? null : `sched_setaffinity returned ${rc}`,
  };
}

/** The core the calling thread runs on at this moment, or -1 where that cannot be known. */
export function currentCore(): number {
  return loadLibc()?.sched_getcpu() ?? -1;
}
