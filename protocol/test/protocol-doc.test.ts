import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { STATUS_NAMES } from '../index.js';

const root = new URL('../../../', import.meta.url).pathname;
const spec = readFileSync(join(root, 'protocol/PROTOCOL.md'), 'utf8');
const schema = readFileSync(join(root, 'protocol/schema/shardline.fbs'), 'utf8');

test('PROTOCOL.md documents every table, field, union member and enum value of the schema', () => {
  const names = new Set<string>();
  for (const match of schema.matchAll(/^(?:table|enum|union)\s+(\w+)/gm)) names.add(match[1]!);
  // Fields (`name: type`) and enum/union members (`Name = n,` or `Name,`), comments stripped.
  const body = schema.replace(/\/\/.*$/gm, '');
  for (const match of body.matchAll(/^\s+(\w+)\s*(?::|=\s*\d+\s*,|,)/gm)) names.add(match[1]!);
  assert.ok(names.size > 40, `parsed ${names.size} names from the schema`);
  const missing = [...names].filter(
    (name) => !spec.includes(`\`${name}\``) && !spec.includes(`\`${name}{`),
  );
  assert.deepEqual(missing, [], 'names missing from PROTOCOL.md');
});

test('PROTOCOL.md documents every status and every error code the code can send', () => {
  for (const status of STATUS_NAMES) assert.ok(spec.includes(`\`${status}\``), status);
  const codes = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'test' && entry.name !== 'generated') walk(path);
      } else if (entry.name.endsWith('.ts')) {
        for (const match of readFileSync(path, 'utf8').matchAll(
          /'(ERR_(?:FRAME|BATCH|BODY|BAD|INVALID|NOT|STREAM|CONTENT|DRAINING|BACKPRESSURE)\w*)'/g,
        )) {
          codes.add(match[1]!);
        }
      }
    }
  };
  walk(join(root, 'protocol/src'));
  walk(join(root, 'server/src'));
  assert.ok(codes.size >= 15, `found ${codes.size} codes`);
  const missing = [...codes].filter(
    (code) => !spec.includes(code) && !spec.includes(code.replace(/_\w+$/, '_*')),
  );
  assert.deepEqual(missing, [], 'error codes missing from PROTOCOL.md');
});
