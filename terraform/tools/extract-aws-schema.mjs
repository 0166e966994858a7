#!/usr/bin/env node
// Extracts the resource and data source schema of the AWS provider from the jsii manifest of
// `@cdktf/provider-aws`, for the offline Terraform validation in `terraform/test/`.
//
// The package is 392 MB and deprecated, so it is never a dependency of this repository. Run
// this script once, by hand, against a copy installed outside the repository, and commit
// its output:
//
//   mkdir /tmp/pa && cd /tmp/pa && npm init -y && npm i --ignore-scripts @cdktf/provider-aws@19.65.1
//   node terraform/tools/extract-aws-schema.mjs /tmp/pa/node_modules/@cdktf/provider-aws
//
// `@cdktf/provider-aws@19.65.1` is generated from hashicorp/aws 5.99.1, the floor of the
// provider pin in `terraform/envs/*/versions.tf`.
//
// Where the names come from: every resource class's summary links to its registry page
// (`Represents a {@link https://registry.terraform.io/.../docs/resources/lb aws_lb}`), and its
// initializer takes a `*Config` struct. Each property of a struct links to its argument
// (`...#access_logs Lb#access_logs`), which gives the Terraform name exactly; a camelCase to
// snake_case conversion is only the fallback. A property whose type is another struct (or a
// list of structs) is a nested block, and is described the same way, recursively.
//
// Output shape (`terraform/test/aws-schema.json`), keyed by Terraform type:
//   { provider, version, generatedFrom,
//     resources:    { aws_lb: Block, ... },
//     data_sources: { aws_ami: Block, ... } }
//   Block = { args: [name...], required: [name...], blocks: { name: Block }, attrs: [name...] }
//   (a field that would be empty is left out)
// `args` are the arguments (attributes) that may be set, `blocks` the nested blocks, `required`
// the arguments and blocks that must be present, and `attrs` (top level only) the attributes a
// reference such as `aws_lb.this.dns_name` may read, computed ones included.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = process.argv[2];
const outFile = process.argv[3] ?? join(here, '..', 'test', 'aws-schema.json');
if (!packageDir) {
  console.error('usage: extract-aws-schema.mjs <path to node_modules/@cdktf/provider-aws> [out]');
  process.exit(2);
}

const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const assembly = JSON.parse(readFileSync(join(packageDir, '.jsii'), 'utf8'));
const types = assembly.types;

const CLASS_LINK =
  /Represents a \{@link https:\/\/registry\.terraform\.io\/providers\/hashicorp\/aws\/([^/]+)\/docs\/(resources|data-sources)\/\S+ (\S+)\}/;
const ARG_LINK = /\{@link https:\/\/registry\.terraform\.io\/\S+#(\S+) \S+\}/;

function snakeCase(name) {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Terraform name of a struct property, from its registry link. */
function terraformName(property) {
  const docs = `${property.docs?.summary ?? ''} ${property.docs?.remarks ?? ''}`;
  const match = docs.match(ARG_LINK);
  if (match) {
    // Nested anchors look like `#bucket` or, for some providers, `#parent_child`; the link
    // text after the anchor is `Type#name`, so take the anchor's last path component.
    return match[1].split('/').pop();
  }
  return snakeCase(property.name);
}

/** The struct fqn behind a property type, when the property is a nested block. */
function structOf(type) {
  if (type.fqn && types[type.fqn]?.datatype) return type.fqn;
  if (type.collection) return structOf(type.collection.elementtype);
  if (type.union) {
    for (const member of type.union.types) {
      const fqn = structOf(member);
      if (fqn) return fqn;
    }
  }
  return undefined;
}

function blockOf(structFqn, depth) {
  const struct = types[structFqn];
  const block = { args: [], required: [], blocks: {} };
  const seen = new Set();
  for (const property of struct.properties ?? []) {
    const name = terraformName(property);
    if (seen.has(name)) continue;
    seen.add(name);
    const nested = structOf(property.type);
    if (nested && depth < 8) block.blocks[name] = blockOf(nested, depth + 1);
    else block.args.push(name);
    if (!property.optional) block.required.push(name);
  }
  block.args.sort();
  block.required.sort();
  return compact(block);
}

/** Drops empty fields to keep the committed JSON small; readers treat a missing field as empty. */
function compact(block) {
  const out = {};
  for (const [key, value] of Object.entries(block)) {
    const empty = Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
    if (!empty) out[key] = value;
  }
  return out;
}

/** Attributes readable from a resource: the class's own getters, minus `*Input` twins. */
function attributesOf(cls) {
  const names = new Set();
  for (const property of cls.properties ?? []) {
    if (property.static || property.protected) continue;
    if (property.name.endsWith('Input')) continue;
    names.add(snakeCase(property.name));
  }
  return [...names].sort();
}

const out = {
  provider: 'registry.terraform.io/hashicorp/aws',
  version: undefined,
  generatedFrom: `${pkg.name}@${pkg.version}`,
  resources: {},
  data_sources: {},
};

for (const cls of Object.values(types)) {
  if (cls.kind !== 'class') continue;
  const match = (cls.docs?.summary ?? '').match(CLASS_LINK);
  if (!match) continue;
  const [, version, kind, tfType] = match;
  out.version ??= version;
  const configFqn = cls.initializer?.parameters?.find((p) => p.name === 'config')?.type?.fqn;
  if (!configFqn) throw new Error(`${tfType}: no config struct`);
  const block = blockOf(configFqn, 0);
  // Attributes that are also arguments come back in `args`; keep `attrs` to the rest.
  const settable = new Set([...(block.args ?? []), ...Object.keys(block.blocks ?? {})]);
  const attrs = attributesOf(cls).filter((name) => !settable.has(name));
  const target = kind === 'resources' ? out.resources : out.data_sources;
  target[tfType] = compact({ ...block, attrs });
}

const sortKeys = (record) =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
out.resources = sortKeys(out.resources);
out.data_sources = sortKeys(out.data_sources);

// One type per line, so that a regenerated file diffs by type.
const section = (record) =>
  `{\n${Object.entries(record)
    .map(([type, block]) => `    ${JSON.stringify(type)}: ${JSON.stringify(block)}`)
    .join(',\n')}\n  }`;
writeFileSync(
  outFile,
  `{\n  "provider": ${JSON.stringify(out.provider)},\n  "version": ${JSON.stringify(out.version)},\n` +
    `  "generatedFrom": ${JSON.stringify(out.generatedFrom)},\n` +
    `  "resources": ${section(out.resources)},\n  "data_sources": ${section(out.data_sources)}\n}\n`,
);
console.log(
  `wrote ${outFile}: aws ${out.version}, ${Object.keys(out.resources).length} resources, ` +
    `${Object.keys(out.data_sources).length} data sources`,
);
