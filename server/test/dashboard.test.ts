import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { createApiKey } from '../src/security/api-keys.js';
import { FrameClient, makeEvents, removeDir, startTestServer, tempDir } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
/** Set SHARDLINE_UPDATE_SCREENSHOT=1 to refresh the committed docs/dashboard.png. */
const SCREENSHOT =
  process.env['SHARDLINE_UPDATE_SCREENSHOT'] === '1'
    ? new URL('../../../docs/dashboard.png', import.meta.url).pathname
    : null;

test('the dashboard loads in headless Chromium, shows live numbers while a load runs, with no console errors', async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`,
  );
  const dataDir = tempDir();
  const keysFile = join(dataDir, 'keys.json');
  const admin = createApiKey(keysFile, {
    name: 'admin',
    roles: ['admin'],
    streamPrefixes: null,
  }).key;
  const producer = createApiKey(keysFile, {
    name: 'load',
    roles: ['producer'],
    streamPrefixes: null,
  }).key;
  const server = await startTestServer({ dataDir, keysFile, auth: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  let loading = true;
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${server.url}/dashboard?token=${encodeURIComponent(admin)}`);
    await page.waitForFunction("document.getElementById('status').textContent === 'live'");

    // A steady load from a second principal while the page watches.
    const client = await FrameClient.connect(server.wsUrl, producer);
    let batch = 0n;
    const load = (async () => {
      while (loading) await client.append(++batch, makeEvents(100, 20, 'dash-'));
    })();
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 3; i++) {
      await page.waitForTimeout(500);
      const value = await page.textContent('#events-per-second');
      if (value !== null && value !== '0' && value !== '–') seen.add(value);
    }
    assert.ok(
      seen.size >= 2,
      `the events/s figure changed while the load ran: ${[...seen].join(', ')}`,
    );
    const workers = await page.$$eval('#workers tr', (rows) => rows.length);
    assert.ok(workers >= 1, 'per-worker rows are shown');
    const topTypes = await page.textContent('#top-types');
    assert.match(topTypes ?? '', /Clicked|Viewed/);
    if (SCREENSHOT !== null) {
      mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    }
    loading = false;
    await load;
    await client.close();
    assert.deepEqual(problems, [], 'no console errors');
  } finally {
    loading = false;
    await browser.close();
    await server.shutdown();
    removeDir(dataDir);
  }
});
