#!/usr/bin/env node
// Runs every test file with node:test. Node 20's `--test` does not expand globs, so this
// script lists the files itself, and it fails when zero tests ran (an empty run is a broken
// run, not a green one).
//
// Test files: `dist/**/*.test.js` (TypeScript tests, compiled by `npm run build`) and
// `*.test.mjs` under the source folders (plain-JS tests such as the Terraform validation).
import { spawn } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const SOURCE_DIRS = ['core', 'server', 'protocol', 'clients', 'perf', 'terraform'];

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else out.push(path);
  }
  return out;
}

const filter = process.argv[2];
const files = [
  ...walk(join(root, 'dist'), []).filter((f) => f.endsWith('.test.js')),
  ...SOURCE_DIRS.flatMap((d) => walk(join(root, d), [])).filter((f) => f.endsWith('.test.mjs')),
]
  .map((f) => relative(root, f))
  .filter((f) => !filter || f.includes(filter))
  .sort();

if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}

// Bounds, so that a hung test fails the run instead of stalling CI: each test has
// TEST_TIMEOUT_MS, and the whole run RUN_TIMEOUT_MS. `--test-force-exit` ends a test file once
// its tests are done, even if something it started (a reconnecting client, a timer) would keep
// it alive. The runner gets its own process group so that servers spawned by tests, if any
// outlive their test file, are killed with it at the end and cannot hold CI's output open.
const TEST_TIMEOUT_MS = 180_000;
const RUN_TIMEOUT_MS = 45 * 60_000;
const runner = spawn(
  process.execPath,
  [
    '--test',
    '--test-force-exit',
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    '--test-reporter=spec',
    ...files,
  ],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], detached: true },
);
// The report is echoed as it comes, and its totals (the spec reporter's closing lines such as
// "ℹ tests 229") are picked out on the way. (A second reporter writing to a file would lose
// its end: `--test-force-exit` exits before a file stream flushes.)
const totals = {};
let partial = '';
runner.stdout.setEncoding('utf8');
runner.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (partial + chunk).split('\n');
  partial = lines.pop();
  for (const line of lines) {
    const total = /^ℹ (tests|fail|cancelled) (\d+)$/.exec(line);
    if (total) totals[total[1]] = Number(total[2]);
  }
});
const killGroup = () => {
  try {
    process.kill(-runner.pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
};
let timedOut = false;
const deadline = setTimeout(() => {
  timedOut = true;
  console.error(`run-tests: the run exceeded ${RUN_TIMEOUT_MS / 60_000} min; killing it`);
  killGroup();
}, RUN_TIMEOUT_MS);
const status = await new Promise((resolve) => runner.once('close', (code) => resolve(code ?? 1)));
clearTimeout(deadline);
killGroup();

const tests = totals.tests ?? 0;
const failed = totals.fail ?? 0;
const cancelled = totals.cancelled ?? 0;
console.log(
  `run-tests: ${files.length} files, ${tests} tests, ${failed} failed, ${cancelled} cancelled`,
);
if (tests === 0) {
  console.error('run-tests: zero tests ran; failing the run');
  process.exit(1);
}
process.exit(timedOut ? 1 : status);
