/**
 * One `--url` serves every command: the WebSocket endpoint for appends and the HTTP origin for
 * reads are both derived from it, whichever scheme the user typed.
 */
import { UsageError } from './command.js';

function parse(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new UsageError(`--url must be a ws://, wss://, http:// or https:// URL, got "${url}"`, {
      cause,
    });
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(parsed.protocol)) {
    throw new UsageError(`--url must be a ws://, wss://, http:// or https:// URL, got "${url}"`);
  }
  return parsed;
}

/** `ws://host:port` or `http://host:port` → `ws://host:port/v1/stream` (a path is kept). */
export function webSocketUrl(url: string): string {
  const parsed = parse(url);
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.pathname === '' || parsed.pathname === '/') parsed.pathname = '/v1/stream';
  return parsed.toString();
}

/** `ws://host:port/...` → `http://host:port` (the origin the HTTP API lives under). */
export function httpOrigin(url: string): string {
  const parsed = parse(url);
  if (parsed.protocol === 'ws:') parsed.protocol = 'http:';
  if (parsed.protocol === 'wss:') parsed.protocol = 'https:';
  return parsed.origin;
}
