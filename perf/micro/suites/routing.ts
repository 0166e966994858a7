/** Routing: `shardOf` (FNV-1a of the UTF-8 stream id, masked), once per event on the uWS thread. */
import { add } from 'benny';
import { fnv1a32, shardOf } from '../../../core/index.js';
import { makeStreams } from '../fixtures.js';
import type { MicroSuite } from '../suite.js';

export const routingSuite: MicroSuite = {
  name: 'routing',
  title: 'Routing',
  cases: () => {
    const streams = makeStreams();
    const unicode = streams.map((s) => `utilisateur-é-${s}`);
    const mask = streams.length - 1;
    let i = 0;
    let sink = 0;
    return [
      add('shardOf (ASCII stream ids, 1024 shards)', () => {
        sink ^= shardOf(streams[i++ & mask]!, 1024);
      }),
      add('shardOf (non-ASCII stream ids, 1024 shards)', () => {
        sink ^= shardOf(unicode[i++ & mask]!, 1024);
      }),
      add('fnv1a32 (ASCII stream ids)', () => {
        sink ^= fnv1a32(streams[i++ & mask]!);
        if (sink === -1) throw new Error('unreachable; keeps the result alive');
      }),
    ];
  },
  eventsPerOp: () => 1,
};
