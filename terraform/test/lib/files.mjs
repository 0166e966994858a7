// Finds the Terraform files of a tree. Shared by the validator and tools/fmt.mjs.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Folders never searched: Terraform's working directories and this validation's own code. */
const SKIPPED_DIRS = new Set(['.terraform', 'node_modules', 'test', 'tools']);

/** A file Terraform reads as HCL (`.tf`), or a variables file formatted the same way. */
export function isHclFile(name) {
  return name.endsWith('.tf') || name.endsWith('.tfvars') || name.endsWith('.tfvars.example');
}

/**
 * Lists the HCL files under `root`, recursively, sorted, as absolute paths.
 *
 * @param {string} root
 * @returns {Promise<string[]>}
 */
export async function listHclFiles(root) {
  const out = [];
  async function walk(dir) {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) await walk(path);
      } else if (entry.isFile() && isHclFile(entry.name)) {
        out.push(path);
      }
    }
  }
  await walk(root);
  return out.sort();
}
