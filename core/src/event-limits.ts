/**
 * Per-event rules, shared by every ingest path. An event that breaks one answers `invalid` with
 * the reason; it never reaches the journal.
 */
import {
  ContentType,
  Status,
  utf8Length,
  type DecodedEvent,
  type EventResults,
} from '../../protocol/index.js';

export interface EventLimits {
  maxStreamBytes: number;
  maxTypeBytes: number;
  maxPayloadBytes: number;
  maxCorrelationIdBytes: number;
  /** Largest distance of a given timestamp from the server clock, in ms; 0: no check. */
  maxTimestampSkewMs: number;
}

export const DEFAULT_EVENT_LIMITS: EventLimits = {
  maxStreamBytes: 200,
  maxTypeBytes: 100,
  maxPayloadBytes: 1024 * 1024,
  maxCorrelationIdBytes: 128,
  maxTimestampSkewMs: 0,
};

export const EVENT_ID_BYTES = 16;

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** Returns why `event` is invalid, or null when it is acceptable. */
export function checkEvent(event: DecodedEvent, limits: EventLimits): string | null {
  if (event.id.length !== EVENT_ID_BYTES) {
    return `id must be ${EVENT_ID_BYTES} bytes, got ${event.id.length}`;
  }
  const streamBytes = utf8Length(event.stream);
  if (streamBytes === 0 || streamBytes > limits.maxStreamBytes) {
    return `stream must be 1-${limits.maxStreamBytes} bytes of UTF-8, got ${streamBytes}`;
  }
  if (hasControlCharacter(event.stream)) return 'stream must not contain control characters';
  const typeBytes = utf8Length(event.type);
  if (typeBytes === 0 || typeBytes > limits.maxTypeBytes) {
    return `type must be 1-${limits.maxTypeBytes} bytes of UTF-8, got ${typeBytes}`;
  }
  if (hasControlCharacter(event.type)) return 'type must not contain control characters';
  if (!(event.expectedSeq >= -1)) return 'expectedSeq must be -1 (any) or a seq >= 0';
  if (!(event.timestamp >= 0)) return 'timestamp must be milliseconds since the epoch, >= 0';
  if (
    limits.maxTimestampSkewMs > 0 &&
    event.timestamp !== 0 &&
    Math.abs(event.timestamp - Date.now()) > limits.maxTimestampSkewMs
  ) {
    return `timestamp is more than ${limits.maxTimestampSkewMs / 1000} s away from the server clock`;
  }
  if (
    event.correlationId !== null &&
    utf8Length(event.correlationId) > limits.maxCorrelationIdBytes
  ) {
    return `correlationId must be at most ${limits.maxCorrelationIdBytes} bytes`;
  }
  if (event.payload.length > limits.maxPayloadBytes) {
    return `payload is ${event.payload.length} bytes, the limit is ${limits.maxPayloadBytes}`;
  }
  if (event.contentType !== ContentType.binary && event.contentType !== ContentType.json) {
    return `contentType ${event.contentType} is unknown`;
  }
  if (event.contentType === ContentType.json && !isJson(event.payload)) {
    return 'payload is marked JSON but is not valid UTF-8 JSON';
  }
  return null;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isJson(payload: Uint8Array): boolean {
  try {
    JSON.parse(strictUtf8.decode(payload));
    return true;
  } catch {
    return false;
  }
}

/**
 * Marks every invalid event of a batch `invalid`, and with it every other event of the same
 * stream in the batch: the events of one stream in one batch are atomic.
 */
export function rejectInvalid(
  events: readonly DecodedEvent[],
  limits: EventLimits,
  results: EventResults,
): void {
  let invalidStreams: Set<string> | null = null;
  for (let i = 0; i < events.length; i++) {
    const reason = checkEvent(events[i]!, limits);
    if (reason !== null) {
      results.fail(i, Status.invalid, reason);
      (invalidStreams ??= new Set()).add(events[i]!.stream);
    }
  }
  if (invalidStreams === null) return;
  for (let i = 0; i < events.length; i++) {
    if (!results.error.has(i) && invalidStreams.has(events[i]!.stream)) {
      results.fail(i, Status.invalid, 'another event of this stream in the batch is invalid');
    }
  }
}
