// The instance boot script (modules/compute/user-data.sh.tftpl): every template variable is
// passed by templatefile(), the rendered script is valid bash, and it does what the README
// promises (secret read at start, 0600 journal env file, systemd with Restart=on-failure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from '@cdktf/hcl2json';
import { TERRAFORM_ROOT } from './lib/tree.mjs';

const run = promisify(execFile);
const computeDir = join(TERRAFORM_ROOT, 'modules', 'compute');

/** The keys of the object passed to templatefile() in the compute module. */
async function templateArguments() {
  const body = await parse('main.tf', await readFile(join(computeDir, 'main.tf'), 'utf8'));
  const locals = Object.assign({}, ...body.locals);
  const call = locals.user_data;
  assert.match(call, /^\$\{templatefile\("\$\{path\.module\}\/user-data\.sh\.tftpl", \{/);
  return new Set([...call.matchAll(/^\s*(\w+)\s*=/gm)].map((m) => m[1]));
}

async function template() {
  return readFile(join(computeDir, 'user-data.sh.tftpl'), 'utf8');
}

/** Names interpolated by the template: `${name}`, but not the escaped `$${...}`. */
function interpolations(text) {
  return [...text.matchAll(/(?<!\$)\$\{([^}]*)\}/g)].map((m) => m[1]);
}

/** Renders the template the way templatefile() does, for the plain `${name}` it uses. */
function render(text, values) {
  return text
    .replace(/(?<!\$)\$\{(\w+)\}/g, (_, name) => String(values[name]))
    .replaceAll('$${', '${')
    .replaceAll('%%{', '%{');
}

const SAMPLE = {
  region: 'eu-west-1',
  node_version: '20.20.2',
  node_arch: 'x64',
  debian_arch: 'amd64',
  artifact: 's3://my-artifacts/shardline/shardline-0.1.0.tgz',
  package_name: 'shardline',
  environment_file: 'SHARDLINE_HOST=0.0.0.0\nSHARDLINE_PORT=8080\n',
  db_secret_arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0000',
  db_address: 'shardline-dev.abcdefghij.eu-west-1.rds.amazonaws.com',
  db_port: 3306,
  db_name: 'shardline',
  log_group_name: '/shardline/shardline-dev/app',
};

test('the boot template uses only plain variables, all passed by templatefile()', async () => {
  const text = await template();
  const passed = await templateArguments();
  assert.ok(
    !/(?<!%)%\{/.test(text),
    'template directives (%{...}) are not used: keep logic in Terraform',
  );
  const used = new Set(interpolations(text));
  for (const name of used) {
    assert.match(name, /^\w+$/, `only plain names are interpolated, found \${${name}}`);
    assert.ok(passed.has(name), `\${${name}} is not passed to templatefile()`);
  }
  for (const name of passed)
    assert.ok(used.has(name), `${name} is passed but the template never uses it`);
  assert.deepEqual(
    [...passed].sort(),
    Object.keys(SAMPLE).sort(),
    'update SAMPLE with the template arguments',
  );
});

test('the rendered boot script and the scripts it installs are valid bash', async () => {
  const script = render(await template(), SAMPLE);
  const dir = await mkdtemp(join(tmpdir(), 'shardline-user-data-'));
  try {
    const renderEnv = script.match(/<<'RENDER'\n([\s\S]*?)\nRENDER\n/)?.[1];
    assert.ok(renderEnv, 'the shardline-render-env script is missing');
    for (const [name, text] of [
      ['user-data.sh', script],
      ['shardline-render-env', renderEnv],
    ]) {
      const path = join(dir, name);
      await writeFile(path, text);
      await run('bash', ['-n', path]);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the boot script builds SHARDLINE_JOURNAL from the secret into a 0600 file and runs under systemd', async () => {
  const script = render(await template(), SAMPLE);
  assert.match(script, /^#!\/bin\/bash\n/);
  assert.match(script, /set -euo pipefail/);
  assert.match(script, /sha256sum --check/, 'the Node.js download is verified');
  assert.match(
    script,
    /aws secretsmanager get-secret-value --region 'eu-west-1' \\\n\s+--secret-id 'arn:aws:secretsmanager:[^']+'/,
  );
  assert.match(script, /SHARDLINE_JOURNAL=mysql:\/\/%s:%s@%s:%s\/%s/);
  assert.match(
    script,
    /'shardline-dev\.abcdefghij\.eu-west-1\.rds\.amazonaws\.com' '3306' 'shardline'/,
  );
  assert.match(script, /\.username \| @uri/, 'the user name is percent-encoded');
  assert.match(script, /\.password \| @uri/, 'the password is percent-encoded');
  assert.match(script, /umask 077/);
  assert.match(script, /chmod 0600 "\$TMP"\nmv -f "\$TMP" \/etc\/shardline\/journal\.env/);
  const unit = script.match(/<<UNIT\n([\s\S]*?)\nUNIT\n/)?.[1] ?? '';
  for (const line of [
    'User=shardline',
    'EnvironmentFile=/etc/shardline/shardline.env',
    'EnvironmentFile=-/etc/shardline/journal.env',
    'ExecStartPre=+/usr/local/libexec/shardline-render-env',
    'ExecStart=/usr/local/bin/node --no-memory-reducer $ENTRY',
    'Restart=on-failure',
    'NoNewPrivileges=true',
  ]) {
    assert.ok(unit.split('\n').includes(line), `systemd unit lacks ${line}`);
  }
  assert.match(script, /systemctl enable --now shardline\.service/);
  assert.ok(!/password=/i.test(script), 'no password is written into the user data');
});
