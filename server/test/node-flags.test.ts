/**
 * The V8 flags the server is launched with (`server/node-flags.ts`): without them it still
 * serves, and says at start-up which are missing, so that an operator who runs
 * `node dist/server/main.js` by hand learns what `npm start` and `shardline serve` pass.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { missingServerNodeFlags, SERVER_NODE_FLAGS } from '../node-flags.js';
import { getJson, removeDir, spawnServer, tempDir } from './support.js';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

test('the flags are found whatever else is on the command line', () => {
  assert.deepEqual(missingServerNodeFlags(['--inspect', ...SERVER_NODE_FLAGS]), []);
  assert.deepEqual(missingServerNodeFlags(['--inspect']), [...SERVER_NODE_FLAGS]);
});

for (const [name, nodeFlags, warned] of [
  ['launched as npm start launches it, the server does not warn', SERVER_NODE_FLAGS, false],
  ['launched without its V8 flags, the server serves and warns once, naming them', [], true],
] as const) {
  test(name, async () => {
    const dir = tempDir();
    dirs.push(dir);
    const server = await spawnServer(dir, [], nodeFlags);
    try {
      const warnings = server.complaints.filter((line) => line.includes('--no-memory-reducer'));
      assert.equal(warnings.length, warned ? 1 : 0, server.complaints.join('\n'));
      // Ready once the shard workers have warmed up and started.
      const deadline = Date.now() + 10_000;
      let ready = await getJson(`${server.url}/health/ready`);
      while (ready.status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        ready = await getJson(`${server.url}/health/ready`);
      }
      assert.equal(ready.status, 200);
    } finally {
      server.process.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    }
  });
}
