import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { DEFAULT_EVENT_LIMITS, ShardRuntime, SqliteJournal, warmUp } from '../index.js';

const SIZE = { batches: 6, eventsPerBatch: 25, streams: 40 };

test('a warm-up commits its batches on a scratch journal, closes the runtime and deletes the directory', async () => {
  let scratchDir = '';
  let runtime: ShardRuntime | null = null;
  let committedBeforeClose = -1;
  const ms = await warmUp((dir) => {
    scratchDir = dir;
    runtime = new ShardRuntime(new SqliteJournal(dir, 16, null, false), {});
    const close = runtime.close.bind(runtime);
    runtime.close = async () => {
      // Every synthetic event went through the actors and the group commit into the journal.
      const streams = await Promise.all(
        Array.from({ length: SIZE.streams }, (_, i) =>
          runtime!.readStream(`warm-up-${i}`, 1, 1000),
        ),
      );
      committedBeforeClose = streams.reduce((sum, events) => sum + events.length, 0);
      await close();
    };
    return runtime;
  }, SIZE);
  assert.ok(ms > 0);
  assert.equal(committedBeforeClose, SIZE.batches * SIZE.eventsPerBatch);
  assert.notEqual(scratchDir, '');
  assert.equal(existsSync(scratchDir), false, 'the scratch directory is deleted');
  assert.equal(runtime!.isReady(), false, 'the scratch runtime is closed');
});

test('a warm-up whose events are refused fails with the reason, and still deletes its directory', async () => {
  let scratchDir = '';
  const limits = { ...DEFAULT_EVENT_LIMITS, maxPayloadBytes: 16 };
  await assert.rejects(
    warmUp((dir) => {
      scratchDir = dir;
      return new ShardRuntime(new SqliteJournal(dir, 16, null, false), { limits });
    }, SIZE),
    /warm-up event 0 of batch 0: .*payload/,
  );
  assert.equal(existsSync(scratchDir), false);
});

test("a warm-up deletes the scratch directories of dead processes, and leaves running ones' alone", async () => {
  let scratchDir = '';
  const scratchRuntime = (dir: string): ShardRuntime => {
    scratchDir = dir;
    return new ShardRuntime(new SqliteJournal(dir, 16, null, false), {});
  };
  await warmUp(scratchRuntime, SIZE);
  const root = dirname(scratchDir);
  // A process that has exited: its id is free.
  const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
  const dead = join(root, `shardline-warm-up-${deadPid}-killed`);
  const running = join(root, `shardline-warm-up-${process.pid}-other-thread`);
  mkdirSync(dead);
  mkdirSync(running);
  try {
    await warmUp(scratchRuntime, SIZE);
    assert.equal(existsSync(dead), false);
    assert.equal(existsSync(running), true);
    assert.match(scratchDir, new RegExp(`shardline-warm-up-${process.pid}-`));
  } finally {
    rmSync(dead, { recursive: true, force: true });
    rmSync(running, { recursive: true, force: true });
  }
});
