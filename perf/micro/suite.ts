/** One micro-benchmark suite: a name (its results file), its benny cases and their units. */
import type { add } from 'benny';

export interface MicroSuite {
  /** Results go to perf/results/micro-<name>.json and .csv. */
  name: string;
  title: string;
  /** Builds the fixtures and returns the benny cases (called right before the suite runs). */
  cases: () => ReturnType<typeof add>[];
  /** Events (or records) one operation of the named case processes, for events/s. */
  eventsPerOp: (caseName: string) => number;
  /** Releases what `cases` started (threads). */
  teardown?: () => Promise<void>;
}
