/**
 * The Shardline wire protocol: the FlatBuffers codec with its verifying decoder, the per-event
 * statuses and the error base class. The only module that imports the flatc-generated code.
 */
export { CloseCode, FrameError, ShardlineError } from './src/errors.js';
export { FNV_OFFSET, FNV_PRIME, fnv1a32Bytes } from './src/fnv.js';
export { StringCache } from './src/string-cache.js';
export { ContentType, EventResults, STATUS_NAMES, Status, type StatusName } from './src/status.js';
export {
  DEFAULT_DECODE_LIMITS,
  FILE_IDENTIFIER,
  PROTOCOL_VERSION,
  createBuilder,
  decodeFrame,
  encodeAppendBatch,
  encodeBatchAck,
  encodeCredit,
  encodeError,
  encodePing,
  encodePong,
  utf8Length,
  type Builder,
  type DecodeLimits,
  type DecodedAppendBatch,
  type DecodedBatchAck,
  type DecodedCredit,
  type DecodedError,
  type DecodedEvent,
  type DecodedFrame,
  type DecodedPing,
  type EventInput,
} from './src/codec.js';
