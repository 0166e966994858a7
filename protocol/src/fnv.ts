/**
 * FNV-1a (32-bit), the one hash of the project: shard routing hashes stream names with it
 * (PROTOCOL.md specifies it), and the name cache and the actors' id lists hash bytes with it.
 */
export const FNV_OFFSET = 0x811c9dc5;
export const FNV_PRIME = 0x01000193;

/** FNV-1a of `bytes[start, end)`, as an unsigned 32-bit number. */
export function fnv1a32Bytes(bytes: Uint8Array, start: number, end: number): number {
  let hash = FNV_OFFSET;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, FNV_PRIME);
  return hash >>> 0;
}
