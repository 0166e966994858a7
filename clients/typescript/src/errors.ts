/**
 * The SDK's typed errors. Each one is a {@link ShardlineError} with a stable `code`: test for the
 * code (`error.code === 'ERR_CLIENT_CLOSED'`), never for `instanceof`, as everywhere in Shardline.
 */
import { ShardlineError } from '../../../protocol/index.js';

/**
 * The client was closed, by `close()` or because it failed for good, before the operation
 * could complete. Code `ERR_CLIENT_CLOSED`.
 *
 * @example
 * ```ts
 * await client.close();
 * await client.append('user-42', 'Clicked', {}).catch((error: ShardlineError) => {
 *   console.log(error.code); // 'ERR_CLIENT_CLOSED'
 * });
 * ```
 */
export class ClientClosedError extends ShardlineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_CLIENT_CLOSED', message, options);
    this.name = 'ClientClosedError';
  }
}

/**
 * The server could not be reached: the first connection failed, or every reconnection attempt
 * (`maxReconnectAttempts`) did. `cause` holds the last transport error. Code `ERR_CONNECT`.
 *
 * @example
 * ```ts
 * try {
 *   await Shardline.connect('ws://127.0.0.1:1/v1/stream');
 * } catch (error) {
 *   if ((error as ShardlineError).code === 'ERR_CONNECT') console.error('server is down');
 * }
 * ```
 */
export class ConnectError extends ShardlineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_CONNECT', message, { ...options, fatal: true });
    this.name = 'ConnectError';
  }
}

/**
 * An event kept answering `unavailable` or `overloaded` after `maxRetries` resends. Nothing of
 * it was committed by the attempts that answered so; resending it later with the same id is
 * safe. Code `ERR_RETRIES_EXHAUSTED`.
 *
 * @example
 * ```ts
 * try {
 *   await client.append('user-42', 'Clicked', {});
 * } catch (error) {
 *   if ((error as ShardlineError).code === 'ERR_RETRIES_EXHAUSTED') {
 *     const { id, status, attempts } = error as RetriesExhaustedError;
 *     console.warn(`event ${id} still ${status} after ${attempts} attempts`);
 *   }
 * }
 * ```
 */
export class RetriesExhaustedError extends ShardlineError {
  /** The event's id, as UUID text. */
  readonly id: string;
  /** The status of the last attempt. */
  readonly status: 'unavailable' | 'overloaded';
  /** How many times the event was sent. */
  readonly attempts: number;

  constructor(
    id: string,
    status: 'unavailable' | 'overloaded',
    attempts: number,
    reason: string | undefined,
  ) {
    super(
      'ERR_RETRIES_EXHAUSTED',
      `event ${id} answered ${status} ${attempts} times` + (reason ? `: ${reason}` : ''),
    );
    this.name = 'RetriesExhaustedError';
    this.id = id;
    this.status = status;
    this.attempts = attempts;
  }
}

/**
 * An argument of an SDK call is unusable (an id that is not 16 bytes, an empty stream, a
 * payload that is not JSON-serialisable, an event larger than `maxBatchBytes`). Nothing was
 * sent. Code `ERR_INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * await client.append('', 'Clicked', {}).catch((error: ShardlineError) => {
 *   console.log(error.code); // 'ERR_INVALID_ARGUMENT'
 * });
 * ```
 */
export class InvalidArgumentError extends ShardlineError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_INVALID_ARGUMENT', message, options);
    this.name = 'InvalidArgumentError';
  }
}

/**
 * A connection option is out of range; the message names it. Thrown by `Shardline.connect`
 * before any connection is attempted. Code `ERR_INVALID_OPTION`.
 *
 * @example
 * ```ts
 * await Shardline.connect(url, { maxBatchEvents: 0 }).catch((error: ShardlineError) => {
 *   console.log(error.message); // 'maxBatchEvents must be an integer between 1 and 10000, got 0'
 * });
 * ```
 */
export class InvalidOptionError extends ShardlineError {
  constructor(message: string) {
    super('ERR_INVALID_OPTION', message, { fatal: true });
    this.name = 'InvalidOptionError';
  }
}

/**
 * The server refused a frame of this client (an Error frame, then a close with 1003, 1007 or
 * 1009), or sent a frame this client cannot read. Resending would fail the same way, so the
 * client fails for good. `serverCode` holds the server's code, such as `ERR_FRAME_TOO_LARGE`.
 * Code `ERR_PROTOCOL`.
 *
 * @example
 * ```ts
 * await client.append('user-42', 'Clicked', {}).catch((error: ShardlineError) => {
 *   if (error.code === 'ERR_PROTOCOL') console.error((error as ProtocolError).serverCode);
 * });
 * ```
 */
export class ProtocolError extends ShardlineError {
  /** The code of the server's Error frame, or `null` when the fault was found by the client. */
  readonly serverCode: string | null;

  constructor(message: string, serverCode: string | null, options: { cause?: unknown } = {}) {
    super('ERR_PROTOCOL', message, { ...options, fatal: true });
    this.name = 'ProtocolError';
    this.serverCode = serverCode;
  }
}
