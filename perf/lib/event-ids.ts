/**
 * Event ids for the benchmarks that build their own events: UUIDv7, as the SDK makes them and
 * as PROTOCOL.md advises, or 16 random bytes, as a client that ignores that advice would send.
 * The journals' id indexes are keyed id first, so the two differ in how many index pages a
 * group writes; the benchmarks let either be measured (`--ids v7|random`).
 */
import { randomBytes } from 'node:crypto';
import { UuidV7Generator } from '../../clients/typescript/index.js';

export type EventIdKind = 'v7' | 'random';

export function parseEventIdKind(text: string): EventIdKind {
  if (text !== 'v7' && text !== 'random') throw new Error(`--ids is v7 or random, not ${text}`);
  return text;
}

/** A source of new ids of that kind, as Buffers (which the mariadb driver sends as bytes). */
export function eventIdSource(kind: EventIdKind): () => Buffer {
  if (kind === 'random') return () => randomBytes(16);
  const generator = new UuidV7Generator();
  return () => {
    const id = generator.next();
    return Buffer.from(id.buffer, id.byteOffset, id.byteLength);
  };
}

/** How a results file names the kind. */
export function describeEventIds(kind: EventIdKind): string {
  return kind === 'v7' ? 'UUIDv7 (as the SDK makes them)' : '16 random bytes';
}
