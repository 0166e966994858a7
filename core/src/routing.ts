/**
 * Shard routing: `shard = fnv1a32(utf8(stream)) & (shards - 1)`.
 *
 * The hash is part of the journal's identity (events are stored under their shard), so it must
 * never change for an existing journal. FNV-1a is specified in PROTOCOL.md so that other
 * implementations can compute shards too. It hashes the UTF-8 encoding on the fly, without
 * allocating, because it runs once per event on the uWS thread.
 */
import { FNV_OFFSET, FNV_PRIME } from '../../protocol/index.js';

function mix(hash: number, byte: number): number {
  return Math.imul(hash ^ byte, FNV_PRIME);
}

/** FNV-1a (32-bit) of the UTF-8 bytes of `text`. Lone surrogates hash as U+FFFD. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      hash = mix(hash, c);
      continue;
    }
    if (c < 0x800) {
      hash = mix(mix(hash, 0xc0 | (c >> 6)), 0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
        hash = mix(hash, 0xf0 | (c >> 18));
        hash = mix(hash, 0x80 | ((c >> 12) & 0x3f));
        hash = mix(hash, 0x80 | ((c >> 6) & 0x3f));
        hash = mix(hash, 0x80 | (c & 0x3f));
        continue;
      }
      c = 0xfffd;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      c = 0xfffd;
    }
    hash = mix(mix(mix(hash, 0xe0 | (c >> 12)), 0x80 | ((c >> 6) & 0x3f)), 0x80 | (c & 0x3f));
  }
  return hash >>> 0;
}

/** The shard that owns `stream`. `shards` must be a power of two (checked at start-up). */
export function shardOf(stream: string, shards: number): number {
  return fnv1a32(stream) & (shards - 1);
}

export const MAX_SHARDS = 65536;

export function isValidShardCount(shards: number): boolean {
  return (
    Number.isInteger(shards) && shards >= 1 && shards <= MAX_SHARDS && (shards & (shards - 1)) === 0
  );
}
