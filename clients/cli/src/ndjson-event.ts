/**
 * One NDJSON line of `shardline send` → one SDK event. The fields are those of the HTTP JSON
 * format (PROTOCOL.md section 9.1): `id`, `stream`, `type`, `expectedSeq`, `timestamp`,
 * `correlationId`, and `data` (any JSON) or `dataBase64` (bytes). Unlike HTTP, `id` is
 * optional: the SDK then generates a UUIDv7 (give one to make a re-run idempotent).
 */
import type { AppendEvent } from '../../typescript/index.js';

export type ParsedLine = { ok: true; event: AppendEvent } | { ok: false; error: string };

const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;
const KNOWN_FIELDS = new Set([
  'id',
  'stream',
  'type',
  'expectedSeq',
  'timestamp',
  'correlationId',
  'data',
  'dataBase64',
]);
const EMPTY = new Uint8Array(0);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses one line; a line that cannot become an event gives the reason instead. */
export function parseEventLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    return { ok: false, error: `not JSON: ${(cause as Error).message}` };
  }
  if (!isRecord(value)) return { ok: false, error: 'an event must be a JSON object' };
  for (const key of Object.keys(value)) {
    if (!KNOWN_FIELDS.has(key)) return { ok: false, error: `unknown field "${key}"` };
  }
  const { id, stream, type, expectedSeq, timestamp, correlationId, dataBase64 } = value;
  if (typeof stream !== 'string') return { ok: false, error: 'stream must be a string' };
  if (typeof type !== 'string') return { ok: false, error: 'type must be a string' };
  if (id !== undefined && typeof id !== 'string') {
    return { ok: false, error: 'id must be a UUID string' };
  }
  if (
    expectedSeq !== undefined &&
    expectedSeq !== null &&
    !(typeof expectedSeq === 'number' && Number.isSafeInteger(expectedSeq) && expectedSeq >= 0)
  ) {
    return { ok: false, error: 'expectedSeq must be an integer >= 0 or null' };
  }
  if (
    timestamp !== undefined &&
    timestamp !== null &&
    !(typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp >= 0)
  ) {
    return { ok: false, error: 'timestamp must be an integer >= 0 (ms since the epoch)' };
  }
  if (correlationId !== undefined && correlationId !== null && typeof correlationId !== 'string') {
    return { ok: false, error: 'correlationId must be a string' };
  }
  const hasData = 'data' in value;
  if (hasData && dataBase64 !== undefined) {
    return { ok: false, error: 'an event has data or dataBase64, not both' };
  }
  let payload: AppendEvent['payload'];
  if (dataBase64 !== undefined) {
    if (
      typeof dataBase64 !== 'string' ||
      dataBase64.length % 4 !== 0 ||
      !BASE64_PATTERN.test(dataBase64)
    ) {
      return { ok: false, error: 'dataBase64 must be standard base64 with padding' };
    }
    payload = Buffer.from(dataBase64, 'base64');
  } else {
    // As on the HTTP path: `data` is stored as JSON; no data at all is an empty binary payload.
    payload = hasData ? (value['data'] as AppendEvent['payload']) : EMPTY;
  }
  const event: AppendEvent = { stream, type, payload };
  if (id !== undefined) event.id = id;
  if (typeof expectedSeq === 'number') event.expectedSeq = expectedSeq;
  if (typeof timestamp === 'number') event.timestamp = timestamp;
  if (typeof correlationId === 'string') event.correlationId = correlationId;
  return { ok: true, event };
}
