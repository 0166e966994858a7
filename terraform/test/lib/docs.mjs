// The inputs and outputs tables of a module README, generated from its variables and outputs
// (what terraform-docs does). tools/docs.mjs writes them; the validation checks that each
// README holds the current ones.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

export const BEGIN_MARKER = '<!-- BEGIN_TF_DOCS -->';
export const END_MARKER = '<!-- END_TF_DOCS -->';

const cell = (text) => String(text).replaceAll('|', '\\|').replaceAll('\n', ' ');
const unwrap = (expression) => String(expression).replace(/^\$\{([\s\S]*)\}$/, '$1');

/**
 * Renders the tables for the module in `dir`, between the markers.
 *
 * @param {string} dir
 * @returns {Promise<string>}
 */
export async function renderDocsTables(dir) {
  const variables = [];
  const outputs = [];
  const names = (await readdir(dir)).filter((name) => name.endsWith('.tf')).sort();
  for (const name of names) {
    const body = await parse(name, await readFile(join(dir, name), 'utf8'));
    for (const [variable, [decl]] of Object.entries(body.variable ?? {}))
      variables.push([variable, decl]);
    for (const [output, [decl]] of Object.entries(body.output ?? {})) outputs.push([output, decl]);
  }
  return renderTables(variables, outputs);
}

/**
 * Renders the tables from parsed declarations.
 *
 * @param {Array<[string, object]>} variables `[name, hcl2json body]` of each variable
 * @param {Array<[string, object]>} outputs `[name, hcl2json body]` of each output
 * @returns {string}
 */
export function renderTables(variables, outputs) {
  variables = [...variables];
  outputs = [...outputs];
  variables.sort(
    ([a, x], [b, y]) => Number('default' in x) - Number('default' in y) || (a < b ? -1 : 1),
  );
  outputs.sort(([a], [b]) => (a < b ? -1 : 1));

  const lines = [BEGIN_MARKER, '## Inputs', ''];
  lines.push(
    '| Name | Description | Type | Default | Required |',
    '| --- | --- | --- | --- | :---: |',
  );
  for (const [name, decl] of variables) {
    const required = !('default' in decl);
    const fallback = required ? 'n/a' : `\`${cell(JSON.stringify(decl.default))}\``;
    lines.push(
      `| \`${name}\` | ${cell(decl.description ?? '')} | \`${cell(unwrap(decl.type ?? 'any'))}\` | ${fallback} | ${required ? 'yes' : 'no'} |`,
    );
  }
  lines.push('', '## Outputs', '', '| Name | Description |', '| --- | --- |');
  for (const [name, decl] of outputs)
    lines.push(`| \`${name}\` | ${cell(decl.description ?? '')} |`);
  lines.push(END_MARKER);
  return lines.join('\n');
}

/** The text between the markers of a README (markers included), or undefined. */
export function docsSection(readme) {
  const start = readme.indexOf(BEGIN_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start === -1 || end === -1 || end < start) return undefined;
  return readme.slice(start, end + END_MARKER.length);
}
