/**
 * `@shardline/client`: the TypeScript SDK of Shardline, for Node 20+ and browsers.
 *
 * @example
 * ```ts
 * import { Shardline } from '@shardline/client';
 *
 * const client = await Shardline.connect('ws://127.0.0.1:8080/v1/stream');
 * const { status, seq } = await client.append('user-42', 'Clicked', { button: 'buy' });
 * await client.close();
 * ```
 */
export { Shardline, type AppendEvent, type AppendOptions, type ClientStats } from './src/client.js';
export {
  ClientClosedError,
  ConnectError,
  InvalidArgumentError,
  InvalidOptionError,
  ProtocolError,
  RetriesExhaustedError,
} from './src/errors.js';
export { formatUuid, parseUuid, UuidV7Generator } from './src/event-id.js';
export { DEFAULT_OPTIONS, type ShardlineOptions } from './src/options.js';
export type { JsonValue, Payload } from './src/payload.js';
export type { AppendResult, AppendStatus } from './src/pending.js';
export type { WebSocketConstructor, WebSocketLike } from './src/websocket.js';
export { ShardlineError } from '../../protocol/index.js';
