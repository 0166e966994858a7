#!/usr/bin/env node
// Regenerates the inputs and outputs tables of every module README (between
// <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS -->, appended when absent), from the modules'
// variables and outputs. The offline validation fails while a table is out of date.
//
//   node terraform/tools/docs.mjs
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { docsSection, renderDocsTables } from '../test/lib/docs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const modulesDir = join(root, 'modules');

for (const entry of await readdir(modulesDir, { withFileTypes: true })) {
  if (!entry.isDirectory()) continue;
  const dir = join(modulesDir, entry.name);
  const path = join(dir, 'README.md');
  const tables = await renderDocsTables(dir);
  let readme = await readFile(path, 'utf8').catch(() => `# ${entry.name}\n`);
  const current = docsSection(readme);
  if (current === tables) continue;
  readme = current ? readme.replace(current, tables) : `${readme.trimEnd()}\n\n${tables}\n`;
  await writeFile(path, readme);
  console.log(`updated ${relative(root, path)}`);
}
