// Helpers for the tests: the Terraform tree's location, and disposable copies of it to break.
import { cp, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

/** The repository's terraform/ folder. */
export const TERRAFORM_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Copies the Terraform tree (modules, envs, READMEs; not test/ or tools/) to a new temporary
 * folder and returns helpers to break it. Call `dispose()` when done.
 */
export async function copyTree() {
  const dir = await mkdtemp(join(tmpdir(), 'shardline-tf-'));
  await cp(TERRAFORM_ROOT, dir, {
    recursive: true,
    filter: (source) => {
      const rel = source.slice(TERRAFORM_ROOT.length).split(/[\\/]/).filter(Boolean);
      return !(rel[0] === 'test' || rel[0] === 'tools' || rel.includes('.terraform'));
    },
  });
  return {
    dir,
    /** Replaces the first occurrence of `from` in a file; fails if `from` is absent. */
    async replace(file, from, to) {
      const path = join(dir, file);
      const text = await readFile(path, 'utf8');
      assert.ok(
        text.includes(from),
        `mutation target not found in ${file}: ${JSON.stringify(from)}`,
      );
      await writeFile(path, text.replace(from, to));
    },
    async append(file, text) {
      await appendFile(join(dir, file), text);
    },
    async write(file, text) {
      await writeFile(join(dir, file), text);
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
