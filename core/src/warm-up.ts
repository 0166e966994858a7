/**
 * Warms a thread's hot path before it takes real traffic, so that the first seconds after a
 * start are not served by cold code.
 *
 * A fresh V8 isolate interprets its code, then compiles the hot functions with its optimising
 * tiers as they run. Measured at 10,000 events/s (`bench:e2e --rate 10000`), a fresh server's
 * first batches took 10-40 ms, and its first second held half or more of the run's batches
 * over 5 ms; the same server, warm, answered the first batch of a new set of 1000 streams in
 * 3-4 ms. So each thread that runs shard actors first pushes synthetic batches through that
 * same code: the ring records a batch arrives in and leaves by, the stream actors, the group
 * commit and the SQLite journal, against a scratch journal in a directory of its own, which it
 * then deletes. Nothing touches the real journal. Optimised code belongs to the functions, not
 * to the objects, so it serves the real runtime built afterwards. What stays cold: the uWS
 * thread's own code (decoding, routing) with shard workers, and the MySQL journal's. Results
 * in perf/README.md.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Status, type DecodedEvent, type EventResults } from '../../protocol/index.js';
import type { EventRuntime } from './event-runtime.js';
import { createRingBuffer, RingConsumer, RingProducer } from './ring.js';
import { readAppend, readResultsInto, writeAppend, writeResults } from './shard-records.js';

/** How much synthetic traffic a warm-up sends. */
export interface WarmUpSize {
  batches: number;
  eventsPerBatch: number;
  streams: number;
}

/** About 0.2 s of one core per runtime on the 2-core VM of perf/README.md. */
export const DEFAULT_WARM_UP: WarmUpSize = { batches: 100, eventsPerBatch: 100, streams: 1000 };

/**
 * Free space `/dev/shm` must have to hold the scratch journals. A default warm-up writes about
 * 9 MB, and every worker warms up at once: a container's default 64 MB would fill with 8.
 */
const SHM_ROOM_BYTES = 256 * 1024 * 1024;

/** tmpfs where there is one with room: the scratch journal's fsyncs then cost nothing. */
function scratchRoot(): string {
  try {
    const { bavail, bsize } = statfsSync('/dev/shm');
    if (bavail * bsize >= SHM_ROOM_BYTES) return '/dev/shm';
  } catch {
    // No /dev/shm here (macOS, say).
  }
  return tmpdir();
}

const SCRATCH_PREFIX = 'shardline-warm-up-';
/** A scratch directory's name: the prefix, the process id, a random suffix. */
const SCRATCH_NAME = new RegExp(`^${SCRATCH_PREFIX}(\\d+)-`);

/**
 * Deletes the scratch directories of processes that died during their warm-up (killed, or out
 * of memory): each holds about 9 MB, and in `/dev/shm` that is memory, which a server in a
 * crash loop would otherwise fill. A directory's name carries its process id; one whose
 * process still runs (this one's other threads, another server) is left alone.
 */
function removeDeadScratch(root: string): void {
  for (const name of readdirSync(root)) {
    const pid = SCRATCH_NAME.exec(name)?.[1];
    if (pid === undefined || processRuns(Number(pid))) continue;
    try {
      rmSync(join(root, name), { recursive: true, force: true });
    } catch {
      // Another user's: not ours to delete.
    }
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Builds a runtime of the real kind with `scratchRuntime` (on a scratch journal in the empty
 * directory it is given), sends it `size` batches through a pair of rings, one at a time as at a
 * steady rate, closes it and deletes the directory. Returns how long it took, in ms.
 */
export async function warmUp(
  scratchRuntime: (dir: string) => EventRuntime,
  size: WarmUpSize = DEFAULT_WARM_UP,
): Promise<number> {
  const started = performance.now();
  const root = scratchRoot();
  removeDeadScratch(root);
  const dir = mkdtempSync(join(root, `${SCRATCH_PREFIX}${process.pid}-`));
  try {
    const runtime = scratchRuntime(dir);
    try {
      await runtime.start();
      await sendBatches(runtime, size);
    } finally {
      await runtime.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return performance.now() - started;
}

async function sendBatches(runtime: EventRuntime, size: WarmUpSize): Promise<void> {
  const inbound = createRingBuffer(1 << 20);
  const outbound = createRingBuffer(1 << 20);
  const toRuntime = new RingProducer(inbound);
  const fromRing = new RingConsumer(inbound);
  const toResults = new RingProducer(outbound);
  const fromResults = new RingConsumer(outbound);
  const payload = new Uint8Array(120).fill(0x61);
  const indices = Array.from({ length: size.eventsPerBatch }, (_, i) => i);
  let n = 0;
  for (let b = 0; b < size.batches; b++) {
    const events: DecodedEvent[] = [];
    for (let i = 0; i < size.eventsPerBatch; i++, n++) {
      events.push({
        id: syntheticId(n),
        stream: `warm-up-${n % size.streams}`,
        type: 'WarmUp',
        expectedSeq: -1,
        timestamp: 0,
        correlationId: null,
        contentType: 0,
        payload,
      });
    }
    // The gateway gives every batch a correlation id (its own UUID when the client sent none).
    // With null here, the first real batches took a path the warm-up never had, and readAppend
    // was deoptimized and compiled again in each worker (`--trace-deopt`).
    writeAppend(toRuntime, b, events, indices, randomUUID());
    fromRing.next();
    const record = readAppend(fromRing);
    fromRing.release();
    const results = await new Promise<EventResults>((resolve) =>
      runtime.append(record.events, record.correlationId, resolve),
    );
    writeResults(toResults, record.token, results);
    fromResults.next();
    readResultsInto(fromResults, results, indices);
    fromResults.release();
    const refused = results.status.findIndex((status) => status !== Status.ok);
    if (refused >= 0) {
      throw new Error(`warm-up event ${refused} of batch ${b}: ${results.error.get(refused)}`);
    }
  }
}

/** A UUIDv7-shaped id that grows with `n`, as the SDK's do. */
function syntheticId(n: number): Uint8Array {
  const id = new Uint8Array(16);
  const view = new DataView(id.buffer);
  view.setUint32(0, Math.floor(n / 65_536));
  view.setUint16(4, n % 65_536);
  id[6] = 0x70;
  id[8] = 0x80;
  view.setUint32(12, n);
  return id;
}
