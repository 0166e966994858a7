/**
 * A group's rows in the wire format of MariaDB's bulk command (COM_STMT_BULK_EXECUTE), encoded
 * by the journal and handed to the driver's `batch()` ready to send.
 *
 * Why: `batch()` takes rows of any values. For each value it checks the type, compares it with
 * the row before (a change starts another bulk command) and writes it with a call of its own,
 * and it checks every row twice before sending. For the journal's rows, whose columns never
 * change type, that came to about 2 µs per event, a quarter of the single-threaded server's
 * main thread on MySQL (docs/decisions/0011-mysql-bulk-rows-encoded-by-the-journal.md). Here a
 * row is a few writes into one buffer.
 *
 * How: the driver has no public way to send encoded rows, so this module wraps one method of its
 * internal bulk command (`BatchBulk.sendComStmtBulkExecute`, mariadb 3.5.4). When the only row's
 * first value is an `EncodedRows`, the wrapper sends the statement's header, `COLUMN_TYPES` and
 * the encoded rows; any other `batch()` runs the driver's own code. Preparing the statement,
 * queueing, reading the answer and errors stay the driver's. Where a driver version no longer
 * has that method, `bulkRowsProblem` says so and the journal writes multi-row INSERTs instead.
 */
import type { JournalEvent } from '../../../core/index.js';

/** MariaDB's parameter type codes (the driver's `FieldType`). */
const INT = 3;
const LONGLONG = 8;
const BLOB = 252;
const VAR_STRING = 253;

/**
 * The type of each `events` column as sent, in `EVENT_COLUMNS` order: shard, offset, stream,
 * seq, event_id, type, ts, correlation_id, content_type, payload. Fixed, so that a group is
 * always one bulk command, whatever its numbers.
 */
const COLUMN_TYPES = [
  INT,
  LONGLONG,
  VAR_STRING,
  LONGLONG,
  BLOB,
  VAR_STRING,
  LONGLONG,
  VAR_STRING,
  INT,
  BLOB,
];
export const BULK_ROW_COLUMNS = COLUMN_TYPES.length;

const COM_STMT_BULK_EXECUTE = 0xfa;
/** SEND_TYPES_TO_SERVER, plus SEND_UNIT_RESULTS where the client asked for them. */
const SEND_TYPES_TO_SERVER = 128;
const SEND_UNIT_RESULTS = 64;
const VALUE_FOLLOWS = 0;
const VALUE_IS_NULL = 1;
/** Bytes of a row beyond its strings and byte strings: 10 indicators, 3 × 8 + 2 × 4, prefixes. */
const ROW_FIXED_BYTES = 10 + 32 + 5 * 9;

/** Encoded rows, ready for the bulk command; pass them as the first value of `batch()`'s only row. */
export class EncodedRows {
  constructor(
    readonly bytes: Buffer,
    readonly byteLength: number,
  ) {}
}

/** The `batch()` values that send `rows`: one row, whose first value carries them all. */
export function bulkValues(rows: EncodedRows): unknown[][] {
  const row = new Array<unknown>(BULK_ROW_COLUMNS).fill(null);
  row[0] = rows;
  return [row];
}

/** Statement buffers up to this size are kept for the next statement; larger ones are not. */
const KEPT_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * Encodes a journal's statements, one after another, into a buffer it keeps, rather than a new
 * buffer of a few hundred KiB per statement (memory outside the JS heap, which V8 answers with
 * full collections as it adds up). The journal encodes its next statement only once the driver
 * answered the one before, so the driver has copied that one out by then. One encoder per
 * journal: lanes share a writer connection, and the driver may start one lane's statement
 * after another lane encoded its own.
 */
export class BulkRowEncoder {
  #buffer: Buffer = Buffer.alloc(0);
  #view: DataView = new DataView(this.#buffer.buffer);
  #at = 0;

  /**
   * `events[start, end)` as bulk-command rows. The numbers must be safe integers, the strings
   * and byte strings within the columns' sizes (the journal checks both before).
   */
  encode(events: readonly JournalEvent[], start: number, end: number): EncodedRows {
    this.#at = 0;
    for (let i = start; i < end; i++) {
      const e = events[i]!;
      // A UTF-16 code unit is at most 3 bytes of UTF-8.
      const text = e.stream.length + e.type.length + (e.correlationId?.length ?? 0);
      this.#reserve(ROW_FIXED_BYTES + 3 * text + e.id.byteLength + e.payload.byteLength);
      this.#int32(e.shard);
      this.#int64(e.offset);
      this.#string(e.stream);
      this.#int64(e.seq);
      this.#bytes(e.id);
      this.#string(e.type);
      this.#int64(e.timestamp);
      if (e.correlationId === null) this.#buffer[this.#at++] = VALUE_IS_NULL;
      else this.#string(e.correlationId);
      this.#int32(e.contentType);
      this.#bytes(e.payload);
    }
    const rows = new EncodedRows(this.#buffer, this.#at);
    if (this.#buffer.byteLength > KEPT_BUFFER_BYTES) this.#use(Buffer.alloc(0));
    return rows;
  }

  /** Room for `bytes` more; a larger buffer keeps what was encoded so far. */
  #reserve(bytes: number): void {
    const needed = this.#at + bytes;
    if (needed <= this.#buffer.byteLength) return;
    const larger = Buffer.allocUnsafe(Math.max(needed, 2 * this.#buffer.byteLength));
    this.#buffer.copy(larger, 0, 0, this.#at);
    this.#use(larger);
  }

  #use(buffer: Buffer): void {
    this.#buffer = buffer;
    this.#view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  #int32(n: number): void {
    this.#buffer[this.#at++] = VALUE_FOLLOWS;
    this.#view.setInt32(this.#at, n, true);
    this.#at += 4;
  }

  /** A safe integer as 8 bytes, little-endian, two's complement. */
  #int64(n: number): void {
    this.#buffer[this.#at++] = VALUE_FOLLOWS;
    this.#view.setUint32(this.#at, n >>> 0, true);
    this.#view.setInt32(this.#at + 4, Math.floor(n / 2 ** 32), true);
    this.#at += 8;
  }

  #bytes(value: Uint8Array): void {
    this.#buffer[this.#at++] = VALUE_FOLLOWS;
    this.#lengthPrefix(value.byteLength);
    this.#buffer.set(value, this.#at);
    this.#at += value.byteLength;
  }

  /** `value` as UTF-8, with its length before it. */
  #string(value: string): void {
    const buffer = this.#buffer;
    buffer[this.#at++] = VALUE_FOLLOWS;
    // Written after a 1-byte length, the length of nearly every string here, and moved along
    // when its UTF-8 turns out longer.
    const length = buffer.write(value, this.#at + 1);
    const prefix = lengthPrefixBytes(length);
    if (prefix > 1) buffer.copyWithin(this.#at + prefix, this.#at + 1, this.#at + 1 + length);
    this.#lengthPrefix(length);
    this.#at += length;
  }

  #lengthPrefix(n: number): void {
    const prefix = lengthPrefixBytes(n);
    const at = this.#at;
    if (prefix === 1) {
      this.#buffer[at] = n;
    } else if (prefix === 3) {
      this.#buffer[at] = 0xfc;
      this.#view.setUint16(at + 1, n, true);
    } else if (prefix === 4) {
      this.#buffer[at] = 0xfd;
      this.#view.setUint16(at + 1, n & 0xffff, true);
      this.#view.setUint8(at + 3, n >>> 16);
    } else {
      this.#buffer[at] = 0xfe;
      this.#view.setUint32(at + 1, n >>> 0, true);
      this.#view.setUint32(at + 5, Math.floor(n / 2 ** 32), true);
    }
    this.#at += prefix;
  }
}

/** Bytes a length-encoded integer of `n` takes (the protocol's int<lenenc>). */
function lengthPrefixBytes(n: number): number {
  return n < 251 ? 1 : n < 2 ** 16 ? 3 : n < 2 ** 24 ? 4 : 9;
}

/** The driver's bulk command, as far as the wrapper below uses it. */
interface BulkCommand {
  values: unknown[][];
  prepare: { id: number };
  bulkPacketNo: number;
  sending: boolean;
  useUnitResult: boolean;
  emit(event: 'send_end'): void;
}
interface PacketOutput {
  startPacket(command: BulkCommand): void;
  writeInt8(n: number): void;
  writeInt16(n: number): void;
  writeInt32(n: number): void;
  writeBuffer(bytes: Buffer, offset: number, length: number): void;
  flush(): void;
}
type SendBulk = (this: BulkCommand, out: PacketOutput, opts: unknown, info: ConnectionInfo) => void;
interface ConnectionInfo {
  clientCapabilities: bigint;
}

/** Why encoded rows cannot be sent with this driver, or null when they can. */
export const bulkRowsProblem: string | null = await wrapBulkCommand();

async function wrapBulkCommand(): Promise<string | null> {
  // The driver's own copies of its modules: the ones its `batch()` runs.
  const driver = import.meta.resolve('mariadb');
  let BatchBulk: { prototype: { sendComStmtBulkExecute?: SendBulk } } | undefined;
  let unitResults: unknown;
  try {
    BatchBulk = (
      (await import(new URL('lib/cmd/batch-bulk.js', driver).href)) as {
        default?: typeof BatchBulk;
      }
    ).default;
    unitResults = (
      (await import(new URL('lib/const/capabilities.js', driver).href)) as {
        BULK_UNIT_RESULTS?: unknown;
      }
    ).BULK_UNIT_RESULTS;
  } catch (error) {
    return `the mariadb driver's bulk command is not where this build expects it (${(error as Error).message})`;
  }
  const send = BatchBulk?.prototype?.sendComStmtBulkExecute;
  if (typeof send !== 'function' || typeof unitResults !== 'bigint') {
    return "the mariadb driver's bulk command is not the one this build was written for";
  }
  const bulkUnitResults = unitResults;
  BatchBulk!.prototype.sendComStmtBulkExecute = function (this, out, opts, info) {
    const rows = this.values.length === 1 ? this.values[0]![0] : undefined;
    if (!(rows instanceof EncodedRows)) {
      send.call(this, out, opts, info);
      return;
    }
    this.bulkPacketNo = 1;
    this.sending = true;
    this.useUnitResult = (info.clientCapabilities & bulkUnitResults) !== 0n;
    out.startPacket(this);
    out.writeInt8(COM_STMT_BULK_EXECUTE);
    out.writeInt32(this.prepare.id);
    out.writeInt16(SEND_TYPES_TO_SERVER | (this.useUnitResult ? SEND_UNIT_RESULTS : 0));
    for (const type of COLUMN_TYPES) out.writeInt16(type);
    out.writeBuffer(rows.bytes, 0, rows.byteLength);
    out.flush();
    this.sending = false;
    this.emit('send_end');
  };
  return null;
}
