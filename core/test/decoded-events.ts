/** Test support: decoded events as the gateway hands them to a runtime. */
import { randomBytes } from 'node:crypto';
import type { DecodedEvent } from '../../protocol/index.js';

/** A new event for `stream` (random id, small random payload, no expected seq). */
export function decodedEvent(stream: string, overrides: Partial<DecodedEvent> = {}): DecodedEvent {
  return {
    id: randomBytes(16),
    stream,
    type: 'T',
    expectedSeq: -1,
    timestamp: 0,
    correlationId: null,
    contentType: 0,
    payload: randomBytes(16),
    ...overrides,
  };
}
