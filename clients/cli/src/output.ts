/** Writing lines to stdout without ignoring back-pressure (a slow pipe must slow us down). */
import { once } from 'node:events';

/** Writes `text` and a newline; waits for `drain` when the stream's buffer is full. */
export async function writeLine(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text + '\n')) await once(stream as NodeJS.EventEmitter, 'drain');
}

/** 12345.6 → "12,346". */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
