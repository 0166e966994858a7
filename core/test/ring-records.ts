/** Deterministic record contents for the ring tests, so both threads can agree on them. */
export function recordLength(seed: number, index: number): number {
  const x = Math.imul(index ^ seed, 0x9e3779b1) >>> 0;
  // Mostly small records, some large ones that force wraps in a small ring.
  return x % 16 === 0 ? x % 3000 : x % 200;
}

export function recordByte(seed: number, index: number, position: number): number {
  return (Math.imul(index + 1, 31) + position * 7 + seed) & 0xff;
}

export function fillRecord(
  target: Uint8Array,
  offset: number,
  length: number,
  seed: number,
  index: number,
): void {
  for (let p = 0; p < length; p++) target[offset + p] = recordByte(seed, index, p);
}
