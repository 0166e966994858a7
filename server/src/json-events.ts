/**
 * The HTTP JSON fallback's event format (ARCHITECTURE.md 4.2): parsing a request body into the
 * same events the WebSocket path decodes, and rendering stored events back to JSON.
 */
import { ContentType, ShardlineError, type DecodedEvent } from '../../protocol/index.js';
import type { JournalEvent } from '../../core/index.js';

/** A client error on the HTTP path: an HTTP status plus the `{"error":{code,message}}` body. */
export class HttpError extends ShardlineError {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(code, message);
    this.name = 'HttpError';
    this.status = status;
    this.headers = headers;
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function badRequest(message: string): never {
  throw new HttpError(400, 'ERR_BAD_REQUEST', message);
}

const UUID_PATTERN = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Parses a UUID (with or without hyphens) into its 16 bytes, or returns null. */
export function parseUuid(text: string): Uint8Array | null {
  if (!UUID_PATTERN.test(text)) return null;
  return Buffer.from(text.replaceAll('-', ''), 'hex');
}

/** Formats 16 bytes as a canonical lower-case UUID. */
export function formatUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalInteger(value: unknown, where: string, min: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    badRequest(`${where} must be an integer >= ${min}`);
  }
  return value;
}

function optionalString(value: unknown, where: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') badRequest(`${where} must be a string`);
  return value;
}

const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

function parseEvent(
  value: unknown,
  index: number,
  headerCorrelationId: string | null,
): DecodedEvent {
  const where = `events[${index}]`;
  if (!isRecord(value)) badRequest(`${where} must be an object`);
  const idText = value['id'];
  if (typeof idText !== 'string') badRequest(`${where}.id must be a UUID string`);
  const id = parseUuid(idText);
  if (id === null)
    badRequest(`${where}.id must be a UUID, got ${JSON.stringify(idText.slice(0, 64))}`);
  const stream = value['stream'];
  if (typeof stream !== 'string') badRequest(`${where}.stream must be a string`);
  const type = value['type'];
  if (typeof type !== 'string') badRequest(`${where}.type must be a string`);
  const hasData = 'data' in value;
  const base64 = value['dataBase64'];
  if (hasData && base64 !== undefined)
    badRequest(`${where} must not have both data and dataBase64`);
  let payload: Uint8Array;
  let contentType: number;
  if (base64 !== undefined) {
    if (typeof base64 !== 'string' || base64.length % 4 !== 0 || !BASE64_PATTERN.test(base64)) {
      badRequest(`${where}.dataBase64 must be a base64 string`);
    }
    payload = Buffer.from(base64, 'base64');
    contentType = ContentType.binary;
  } else {
    payload = hasData ? Buffer.from(JSON.stringify(value['data'])) : new Uint8Array(0);
    contentType = hasData ? ContentType.json : ContentType.binary;
  }
  return {
    id,
    stream,
    type,
    expectedSeq: optionalInteger(value['expectedSeq'], `${where}.expectedSeq`, 0, -1),
    timestamp: optionalInteger(value['timestamp'], `${where}.timestamp`, 0, 0),
    correlationId:
      optionalString(value['correlationId'], `${where}.correlationId`) ?? headerCorrelationId,
    contentType,
    payload,
  };
}

/** Parses a `POST /v1/events` JSON body. Throws HttpError 400/413 with a precise message. */
export function parseEventsBody(
  body: Uint8Array,
  headerCorrelationId: string | null,
  maxEventsPerBatch: number,
): DecodedEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(body));
  } catch (cause) {
    badRequest(`body is not valid JSON: ${(cause as Error).message}`);
  }
  if (!isRecord(parsed) || !Array.isArray(parsed['events'])) {
    badRequest('body must be an object with an "events" array');
  }
  const events = parsed['events'] as unknown[];
  if (events.length > maxEventsPerBatch) {
    throw new HttpError(
      413,
      'ERR_BATCH_TOO_LARGE',
      `body holds ${events.length} events, the limit is ${maxEventsPerBatch}`,
    );
  }
  return events.map((event, index) => parseEvent(event, index, headerCorrelationId));
}

const utf8 = new TextDecoder();

/** A stored event as returned by `GET /v1/streams/{stream}/events`. */
export function renderEvent(event: JournalEvent): Record<string, unknown> {
  const rendered: Record<string, unknown> = {
    id: formatUuid(event.id),
    seq: event.seq,
    type: event.type,
    timestamp: event.timestamp,
    shard: event.shard,
    offset: event.offset,
    correlationId: event.correlationId,
  };
  if (event.contentType === ContentType.json) {
    rendered['data'] = event.payload.length === 0 ? null : JSON.parse(utf8.decode(event.payload));
  } else {
    rendered['dataBase64'] = Buffer.from(
      event.payload.buffer,
      event.payload.byteOffset,
      event.payload.byteLength,
    ).toString('base64');
  }
  return rendered;
}
