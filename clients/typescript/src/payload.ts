/**
 * Payloads: bytes are sent as they are (content type Binary); anything else is JSON text
 * (content type Json), which the server validates and reads render back as JSON.
 */
import { ContentType } from '../../../protocol/index.js';
import { InvalidArgumentError } from './errors.js';

/**
 * An event payload. A `Uint8Array` (a Node `Buffer` is one), another typed array or an
 * `ArrayBuffer` travels as binary; any other value is serialised with `JSON.stringify`.
 *
 * @example
 * ```ts
 * const json: Payload = { button: 'buy', at: [3, 4] };     // content type Json
 * const bytes: Payload = new TextEncoder().encode('raw');  // content type Binary
 * ```
 */
export type Payload = Uint8Array | ArrayBuffer | ArrayBufferView | JsonValue | object;

/**
 * A JSON value, as `JSON.stringify` writes it.
 *
 * @example
 * ```ts
 * const state: JsonValue = { items: [1, 'two', null], paid: false };
 * ```
 */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

const utf8 = new TextEncoder();

export interface EncodedPayload {
  bytes: Uint8Array;
  contentType: ContentType;
}

/**
 * Encodes a payload. Bytes are not copied: the SDK keeps a reference until the event settles,
 * so the caller must not modify them before then.
 */
export function encodePayload(payload: unknown, where: string): EncodedPayload {
  if (payload instanceof Uint8Array) return { bytes: payload, contentType: ContentType.binary };
  if (payload instanceof ArrayBuffer) {
    return { bytes: new Uint8Array(payload), contentType: ContentType.binary };
  }
  if (ArrayBuffer.isView(payload)) {
    return {
      bytes: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength),
      contentType: ContentType.binary,
    };
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (cause) {
    throw new InvalidArgumentError(`${where}: the payload cannot be serialised as JSON`, {
      cause,
    });
  }
  if (text === undefined) {
    throw new InvalidArgumentError(
      `${where}: the payload must be bytes or a JSON value, got ${typeof payload}`,
    );
  }
  return { bytes: utf8.encode(text), contentType: ContentType.json };
}
