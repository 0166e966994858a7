/**
 * Per-event statuses, identical on every path (WebSocket, HTTP JSON). The numeric values are the
 * wire values of the `Status` enum in `schema/shardline.fbs`.
 */
export const Status = {
  ok: 0,
  duplicate: 1,
  wrongExpectedSeq: 2,
  invalid: 3,
  unavailable: 4,
  overloaded: 5,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

/** The JSON name of each status, indexed by its wire value. */
export const STATUS_NAMES = [
  'ok',
  'duplicate',
  'wrong_expected_seq',
  'invalid',
  'unavailable',
  'overloaded',
] as const;
export type StatusName = (typeof STATUS_NAMES)[number];

/** How a payload's bytes are to be interpreted; the wire values of `ContentType`. */
export const ContentType = { binary: 0, json: 1 } as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];

/**
 * The results of one batch, one slot per event in the batch's order, stored as parallel arrays
 * so that a batch of results costs a handful of allocations instead of one object per event.
 * `seq`, `shard` and `offset` are meaningful for ok and duplicate; for wrong_expected_seq `seq`
 * holds the stream's current seq.
 */
export class EventResults {
  readonly length: number;
  readonly status: Uint8Array;
  readonly seq: Float64Array;
  readonly shard: Uint32Array;
  readonly offset: Float64Array;
  /** Sparse human-readable reasons, by event index. */
  readonly error: Map<number, string>;

  constructor(length: number) {
    this.length = length;
    this.status = new Uint8Array(length);
    this.seq = new Float64Array(length);
    this.shard = new Uint32Array(length);
    this.offset = new Float64Array(length);
    this.error = new Map();
  }

  set(index: number, status: Status, seq: number, shard: number, offset: number): void {
    this.status[index] = status;
    this.seq[index] = seq;
    this.shard[index] = shard;
    this.offset[index] = offset;
  }

  fail(index: number, status: Status, message: string, seq = 0): void {
    this.set(index, status, seq, 0, 0);
    this.error.set(index, message);
  }

  /** Fills every slot with one status, as when a whole batch is refused. */
  static all(length: number, status: Status, message: string): EventResults {
    const results = new EventResults(length);
    for (let i = 0; i < length; i++) results.fail(i, status, message);
    return results;
  }
}
