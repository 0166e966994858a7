/** Control words shared by the two-thread ring benchmark and its consumer thread. */
export const RingControl = { stop: 0, target: 1, consumed: 2, checksum: 3 } as const;
export const RING_CONTROL_BYTES = 16;
