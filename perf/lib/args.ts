/**
 * The perf scripts' command lines: `parseArgs`, except that `--help` prints the script's header
 * comment (its usage, kept in one place), and a mistyped option ends with one line naming it
 * instead of a stack trace.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The first block comment of the script at `scriptUrl`, without its comment markers. */
export function headerComment(scriptUrl: string): string {
  const source = readFileSync(fileURLToPath(scriptUrl), 'utf8');
  const block = /\/\*\*([\s\S]*?)\*\//.exec(source)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/** `parseArgs(config)` for the script at `scriptUrl` (pass `import.meta.url`). */
export function parsePerfArgs<const T extends ParseArgsConfig>(
  scriptUrl: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  if (process.argv.slice(2).includes('--help')) {
    console.log(headerComment(scriptUrl));
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (!code.startsWith('ERR_PARSE_ARGS_')) throw error;
    console.error(`${(error as Error).message} (--help lists the options)`);
    process.exit(2);
  }
}
