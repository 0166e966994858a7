/**
 * The verifier on a valid frame: `decodeFrame` bounds-checks every offset, vtable, vector and
 * string of an untrusted AppendBatch while decoding it; the second case adds the per-event
 * rules (`checkEvent`) that every ingest path applies next.
 */
import { add } from 'benny';
import { checkEvent, DEFAULT_EVENT_LIMITS } from '../../../core/index.js';
import { decodeFrame } from '../../../protocol/index.js';
import { BATCH_EVENTS, makeAppendBatchFrame } from '../fixtures.js';
import type { MicroSuite } from '../suite.js';

export const verifierSuite: MicroSuite = {
  name: 'verifier',
  title: 'Verifier (untrusted AppendBatch, valid)',
  cases: () => {
    const frame = makeAppendBatchFrame();
    return [
      add(`decodeFrame AppendBatch (${BATCH_EVENTS} events, verified)`, () => {
        decodeFrame(frame);
      }),
      add(`decodeFrame + checkEvent (${BATCH_EVENTS} events)`, () => {
        const decoded = decodeFrame(frame);
        if (decoded.body !== 'append_batch') throw new Error('expected an AppendBatch');
        for (let i = 0; i < decoded.events.length; i++) {
          if (checkEvent(decoded.events[i]!, DEFAULT_EVENT_LIMITS) !== null) {
            throw new Error('the fixture should be valid');
          }
        }
      }),
    ];
  },
  eventsPerOp: () => BATCH_EVENTS,
};
