/**
 * Loads the uWebSockets.js native addon, and only the native addon.
 *
 * The package (installed as the alias `uWebSockets.js` of @trufflesuite/uws-js-unofficial)
 * silently falls back to a slow `ws`-based shim when its binary does not load. That shim would
 * pass every functional test while losing the product's reason to exist, so this module loads
 * the binary by its exact path and fails start-up loudly instead.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ShardlineError } from '../../protocol/index.js';
import type * as UwsTypes from 'uWebSockets.js';

const require = createRequire(import.meta.url);

function loadNativeAddon(): typeof UwsTypes {
  const packageDir = dirname(require.resolve('uWebSockets.js/package.json'));
  const binary = join(
    packageDir,
    'binaries',
    `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
  );
  try {
    return require(binary) as typeof UwsTypes;
  } catch (cause) {
    throw new ShardlineError(
      'ERR_UWS_NATIVE',
      `uWebSockets.js native addon did not load from ${binary} (Node ${process.version}, ` +
        `ABI ${process.versions.modules}). Shardline needs Node 20 on linux/darwin x64/arm64 ` +
        `and refuses to run on the slow fallback. Cause: ${String(cause)}`,
      { cause, fatal: true },
    );
  }
}

export const uws = loadNativeAddon();
export type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  WebSocket,
  us_listen_socket,
  us_socket_context_t,
} from 'uWebSockets.js';
