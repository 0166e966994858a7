#!/usr/bin/env node
// `terraform fmt -recursive` without a terraform binary: rewrites every .tf, .tfvars and
// .tfvars.example file under terraform/ with `@cdktf/hcl-tools` format(), the same
// formatting the offline validation checks. `--check` only lists the files that differ and
// exits 1 if there are any.
//
//   node terraform/tools/fmt.mjs [--check]
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from '@cdktf/hcl-tools';
import { listHclFiles } from '../test/lib/files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

let differing = 0;
for (const file of await listHclFiles(root)) {
  const contents = await readFile(file, 'utf8');
  const formatted = await format(contents);
  if (formatted === contents) continue;
  differing += 1;
  console.log(relative(root, file));
  if (!check) await writeFile(file, formatted);
}
if (check && differing > 0) process.exit(1);
