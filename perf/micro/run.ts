/**
 * `npm run bench`: benny micro-benchmarks of the hot paths (codec, verifier, ring, routing,
 * journal record encoding). Each suite writes perf/results/micro-<suite>.json and .csv
 * (benny's HTML chart needs a CDN, so it is not written), and the run writes
 * perf/results/micro-summary.json with the machine and events/s of every case.
 *
 *   npm run bench -- [--quick] [--only codec,ring]
 *
 * `--quick` shortens every case (0.5 s instead of benny's default 5 s) for a smoke run.
 */
import { complete, configure, cycle, save, suite } from 'benny';
import { machineInfo } from '../lib/machine.js';
import {
  commandLine,
  formatCount,
  markdownTable,
  repoRelative,
  resultsPath,
  RESULTS_DIR,
  writeResults,
} from '../lib/results.js';
import type { MicroSuite } from './suite.js';
import { codecSuite } from './suites/codec.js';
import { journalRecordsSuite } from './suites/journal-records.js';
import { ringSuite } from './suites/ring.js';
import { routingSuite } from './suites/routing.js';
import { verifierSuite } from './suites/verifier.js';
import { parsePerfArgs } from '../lib/args.js';

const SUITES: readonly MicroSuite[] = [
  codecSuite,
  verifierSuite,
  ringSuite,
  routingSuite,
  journalRecordsSuite,
];

const { values } = parsePerfArgs(import.meta.url, {
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const only = values.only?.split(',');
const selected = SUITES.filter((s) => only === undefined || only.includes(s.name));
if (selected.length === 0)
  throw new Error(`--only matches none of ${SUITES.map((s) => s.name).join(', ')}`);

interface CaseSummary {
  name: string;
  opsPerSecond: number;
  marginPercent: number;
  samples: number;
  eventsPerOp: number;
  eventsPerSecond: number;
}

/** Taken before the first suite: the load average then says whether the machine was quiet. */
const machine = machineInfo();
const summaries: { suite: string; title: string; files: string[]; cases: CaseSummary[] }[] = [];
for (const micro of selected) {
  const file = `micro-${micro.name}`;
  const cases = micro.cases();
  let summary;
  try {
    summary = await suite(
      micro.title,
      ...cases,
      ...(values.quick
        ? [configure({ cases: { minTime: 0.2, maxTime: 0.5, minSamples: 5 } })]
        : []),
      cycle(),
      complete(),
      save({ file, folder: RESULTS_DIR, format: 'json', version: null }),
      save({ file, folder: RESULTS_DIR, format: 'csv', version: null }),
    );
  } finally {
    await micro.teardown?.();
  }
  summaries.push({
    suite: micro.name,
    title: micro.title,
    files: [`${file}.json`, `${file}.csv`].map((f) => repoRelative(resultsPath(f))),
    cases: summary.results.map((result) => {
      const eventsPerOp = micro.eventsPerOp(result.name);
      return {
        name: result.name,
        opsPerSecond: result.ops,
        marginPercent: result.margin,
        samples: result.samples,
        eventsPerOp,
        eventsPerSecond: Math.round(result.ops * eventsPerOp),
      };
    }),
  });
}

const command = commandLine('bench');
const markdown =
  `# Micro-benchmarks\n\n\`${command}\`\n\n` +
  `${machine['cpuModel'] as string}, ${machine['cores'] as number} cores, Node ${process.version}, ${machine['date'] as string}.\n\n` +
  markdownTable(
    ['Suite', 'Case', 'ops/s', '± %', 'events/s'],
    summaries.flatMap((s) =>
      s.cases.map((c) => [
        s.suite,
        c.name,
        formatCount(c.opsPerSecond),
        c.marginPercent,
        formatCount(c.eventsPerSecond),
      ]),
    ),
  );
const written = writeResults(
  resultsPath('micro-summary'),
  { benchmark: 'micro', command, quick: values.quick, machine, suites: summaries },
  markdown,
);
console.log('\n' + markdown);
console.log(
  `bench: wrote ${written.map(repoRelative).join(', ')} and the per-suite JSON/CSV files`,
);
