/**
 * Writing results: every suite writes a JSON file (and most a Markdown summary) under
 * perf/results/, named after the suite, so that the latest figures sit beside the command that
 * produced them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from dist/perf/lib/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const RESULTS_DIR = join(REPO_ROOT, 'perf', 'results');

/** A path under perf/results/ (or `name` itself when it is absolute or starts with `./`). */
export function resultsPath(name: string): string {
  if (isAbsolute(name) || name.startsWith('./') || name.startsWith('../')) return resolve(name);
  return join(RESULTS_DIR, name);
}

/** Writes `value` as pretty JSON with a final newline, creating folders; returns the path. */
export function writeJson(path: string, value: unknown): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
  return path;
}

export function writeText(path: string, text: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text.endsWith('\n') ? text : text + '\n');
  return path;
}

/** `base.json` and, given Markdown, `base.md`; returns the paths written. */
export function writeResults(base: string, json: unknown, markdown?: string): string[] {
  const written = [writeJson(`${base}.json`, json)];
  if (markdown !== undefined) written.push(writeText(`${base}.md`, markdown));
  return written;
}

/** A path as the README shows it: relative to the repository root. */
export function repoRelative(path: string): string {
  return relative(REPO_ROOT, path);
}

/** A GitHub-flavoured Markdown table; `|` in cells is escaped. */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const cell = (value: string | number): string => String(value).replaceAll('|', '\\|');
  const lines = [
    `| ${headers.map(cell).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
  return lines.join('\n') + '\n';
}

/** 12345.6 → "12,346". */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** The command line that produced a result, as a user would type it. */
export function commandLine(
  script: string,
  argv: readonly string[] = process.argv.slice(2),
): string {
  return argv.length === 0 ? `npm run ${script}` : `npm run ${script} -- ${argv.join(' ')}`;
}

/** The median of several runs (the upper middle one when there is an even number of them). */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}
