/**
 * The bulk rows the MySQL journal encodes itself, byte for byte where a database test cannot
 * reach: the 9-byte length prefix needs a value of 16 MiB or more, past this server's
 * `max_allowed_packet`. What MariaDB reads back at the other prefix sizes and integer sizes is
 * tested against the server in mysql-journal.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JournalEvent } from '../../core/index.js';
import { BulkRowEncoder, bulkRowsProblem } from '../src/journal/mysql-bulk-rows.js';

test("this build's driver takes encoded rows", () => {
  assert.equal(bulkRowsProblem, null);
});

test('a value of 16 MiB or more gets the 9-byte length prefix, followed by the value', () => {
  const payload = Buffer.alloc(2 ** 24, 7);
  const event: JournalEvent = {
    shard: 1,
    offset: 2,
    stream: '',
    seq: 3,
    id: Buffer.alloc(16, 9),
    type: '',
    timestamp: 4,
    correlationId: null,
    contentType: 5,
    payload,
  };
  const rows = new BulkRowEncoder().encode([event], 0, 1);
  // Each value after its indicator byte: shard (4), offset (8), stream (1 + 0), seq (8),
  // id (1 + 16), type (1 + 0), ts (8), correlation id (NULL: the indicator alone),
  // content type (4), then the payload's indicator and its prefix.
  const payloadAt = 5 + 9 + 2 + 9 + 18 + 2 + 9 + 1 + 5;
  const bytes = rows.bytes.subarray(0, rows.byteLength);
  assert.deepEqual([...bytes.subarray(payloadAt - 5, payloadAt)], [0, 5, 0, 0, 0]);
  assert.deepEqual(
    [...bytes.subarray(payloadAt, payloadAt + 10)],
    [0, 0xfe, 0, 0, 0, 1, 0, 0, 0, 0],
  );
  assert.equal(rows.byteLength, payloadAt + 10 + payload.byteLength);
  assert.ok(bytes.subarray(payloadAt + 10).equals(payload));
});
