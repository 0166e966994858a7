/**
 * The transport: a WHATWG-style WebSocket. In Node the `ws` package is loaded lazily (a
 * dynamic import with a computed specifier, so that bundlers leave it out of browser builds);
 * browsers, and Node without `ws`, use the global `WebSocket`.
 *
 * The API key: `ws` can send headers, so Node sends `Authorization: Bearer <key>`. The browser
 * WebSocket API cannot set headers; the only field a page controls in the upgrade request is
 * `Sec-WebSocket-Protocol`, so there the key travels as the subprotocol token
 * `shardline.bearer.<key>` (the approach of Kubernetes' `base64url.bearer.authorization.k8s.io`
 * token). The server is to accept it and echo the token back.
 */
import { ConnectError, InvalidOptionError } from './errors.js';

/**
 * The part of the WHATWG `WebSocket` interface the client uses.
 *
 * @example
 * ```ts
 * const socket: WebSocketLike = new WebSocket('wss://events.example.com/v1/stream');
 * ```
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
}

/**
 * A WHATWG-compatible WebSocket class: the global `WebSocket` of browsers, Deno, Bun and Node
 * 22+, or the `ws` package's.
 *
 * @example
 * ```ts
 * // Force the global WebSocket (the API key then travels as a subprotocol token).
 * await Shardline.connect(url, { WebSocket: globalThis.WebSocket as WebSocketConstructor });
 * ```
 */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => WebSocketLike;

/** `readyState` of an open WebSocket. */
export const OPEN = 1;

/** Opens sockets with the credentials in the place the transport supports. */
export interface SocketFactory {
  /** `header` when the key goes in `Authorization`, `subprotocol` when in the protocol list. */
  readonly credentials: 'header' | 'subprotocol';
  open(url: string): WebSocketLike;
}

type WsConstructor = new (
  url: string,
  options: { headers: Record<string, string>; perMessageDeflate: boolean },
) => WebSocketLike;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function isNode(): boolean {
  const scope = globalThis as { process?: { versions?: { node?: unknown } } };
  return typeof scope.process?.versions?.node === 'string';
}

async function importWs(): Promise<WsConstructor | null> {
  // A computed specifier: bundlers do not try to resolve it, so `ws` never reaches a browser
  // bundle, and `ws` stays an optional peer dependency.
  const specifier = 'ws';
  try {
    const module = (await import(specifier)) as { WebSocket?: unknown; default?: unknown };
    const constructor = module.WebSocket ?? module.default;
    return typeof constructor === 'function' ? (constructor as WsConstructor) : null;
  } catch {
    return null;
  }
}

function subprotocolFactory(
  constructor: WebSocketConstructor,
  apiKey: string | null,
): SocketFactory {
  if (apiKey !== null && !TOKEN.test(apiKey)) {
    throw new InvalidOptionError(
      "apiKey must consist of token characters (letters, digits and !#$%&'*+-.^_`|~) to travel as a WebSocket subprotocol",
    );
  }
  return {
    credentials: 'subprotocol',
    open: (url) =>
      apiKey === null ? new constructor(url) : new constructor(url, [`shardline.bearer.${apiKey}`]),
  };
}

/**
 * Chooses the transport: `override` when given; in Node the `ws` package when it can be
 * loaded, else the global `WebSocket`; elsewhere the global `WebSocket`.
 */
export async function createSocketFactory(
  override: WebSocketConstructor | null,
  apiKey: string | null,
): Promise<SocketFactory> {
  if (override !== null) return subprotocolFactory(override, apiKey);
  if (isNode()) {
    const Ws = await importWs();
    if (Ws !== null) {
      const headers: Record<string, string> =
        apiKey === null ? {} : { authorization: `Bearer ${apiKey}` };
      return {
        credentials: 'header',
        // The server does not negotiate compression; not offering it saves a negotiation.
        open: (url) => new Ws(url, { headers, perMessageDeflate: false }),
      };
    }
  }
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof global !== 'function') {
    throw new ConnectError(
      'no WebSocket implementation: install the `ws` package (npm i ws) or pass options.WebSocket',
    );
  }
  return subprotocolFactory(global, apiKey);
}
