/** The codec: encoding an AppendBatch and a BatchAck, decoding a BatchAck (the SDK's side). */
import { add } from 'benny';
import {
  createBuilder,
  decodeFrame,
  encodeBatchAck,
  encodeAppendBatch,
} from '../../../protocol/index.js';
import { BATCH_EVENTS, makeEventInputs, makeResults } from '../fixtures.js';
import type { MicroSuite } from '../suite.js';

export const codecSuite: MicroSuite = {
  name: 'codec',
  title: 'Codec (FlatBuffers frames)',
  cases: () => {
    const builder = createBuilder(1 << 20);
    const events = makeEventInputs();
    const results = makeResults();
    const ack = encodeBatchAck(createBuilder(), 1n, results).slice();
    let batchId = 0n;
    return [
      add(`encode AppendBatch (${BATCH_EVENTS} events × 120 B)`, () => {
        encodeAppendBatch(builder, ++batchId, events);
      }),
      add(`encode BatchAck (${BATCH_EVENTS} results)`, () => {
        encodeBatchAck(builder, ++batchId, results);
      }),
      add(`decodeFrame BatchAck (${BATCH_EVENTS} results)`, () => {
        decodeFrame(ack);
      }),
    ];
  },
  eventsPerOp: (name) => (name.includes(`${BATCH_EVENTS}`) ? BATCH_EVENTS : 1),
};
