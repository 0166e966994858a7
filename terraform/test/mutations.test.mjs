// Acceptance for issue 6: deliberately broken copies of terraform/ fail the validation, each
// with the specific problem. Every case copies the tree to a temporary folder, breaks one
// thing, and runs the same validateTree() the real tree passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateTree, formatProblems } from './lib/validate.mjs';
import { copyTree } from './lib/tree.mjs';

/**
 * Breaks a copy with `mutate`, validates it, and checks the problems: every `expected`
 * { check, file, includes } must be matched by a problem, and when `exclusive` is set there
 * must be no problem of any other check (so that the rule, not a side effect, caught it).
 */
async function assertCaught(mutate, expected, { exclusive = true } = {}) {
  const tree = await copyTree();
  try {
    await mutate(tree);
    const problems = await validateTree(tree.dir);
    const listing = `\n${formatProblems(problems) || '(no problems)'}`;
    for (const want of expected) {
      const hit = problems.some(
        (p) =>
          p.check === want.check &&
          (!want.file || p.file === want.file) &&
          p.message.includes(want.includes ?? ''),
      );
      assert.ok(
        hit,
        `expected a [${want.check}] problem${want.file ? ` in ${want.file}` : ''} mentioning ${JSON.stringify(want.includes)}${listing}`,
      );
    }
    if (exclusive) {
      const checks = new Set(expected.map((e) => e.check));
      const others = problems.filter((p) => !checks.has(p.check));
      assert.deepEqual(others, [], `unexpected problems${listing}`);
    }
  } finally {
    await tree.dispose();
  }
}

// The four cases the issue names.

test('a misspelled resource argument fails the schema check', () =>
  assertCaught(
    (t) =>
      t.replace(
        'modules/alb/main.tf',
        '  idle_timeout = var.idle_timeout_seconds',
        '  idle_timout = var.idle_timeout_seconds',
      ),
    [
      {
        check: 'schema',
        file: 'modules/alb/main.tf',
        includes:
          'resource "aws_lb" "this": unknown argument or block "idle_timout" (did you mean "idle_timeout"?)',
      },
    ],
  ));

test('an undeclared variable fails the reference check', () =>
  assertCaught(
    (t) =>
      t.replace(
        'modules/compute/main.tf',
        'from_port                    = var.app_port',
        'from_port                    = var.app_prot',
      ),
    [
      {
        check: 'references',
        file: 'modules/compute/main.tf',
        includes: 'var.app_prot is not declared',
      },
    ],
  ));

test('a publicly accessible database fails the security check, in every environment', () =>
  assertCaught(
    (t) =>
      t.replace(
        'modules/database/main.tf',
        'publicly_accessible    = false',
        'publicly_accessible    = true',
      ),
    [
      {
        check: 'security',
        includes:
          'aws_db_instance.this in dev/module.database: publicly_accessible is true, must be false',
      },
      {
        check: 'security',
        includes:
          'aws_db_instance.this in prod/module.database: publicly_accessible is true, must be false',
      },
    ],
  ));

test('an unformatted file fails the format check', () =>
  assertCaught(
    (t) =>
      t.replace(
        'modules/network/main.tf',
        '  enable_dns_support   = true',
        '  enable_dns_support = true',
      ),
    [{ check: 'format', file: 'modules/network/main.tf', includes: 'enable_dns_support' }],
  ));

// Further rules.

test('an unknown resource type fails the schema check', () =>
  assertCaught(
    (t) =>
      t.replace(
        'modules/observability/main.tf',
        'resource "aws_sns_topic" "alarms"',
        'resource "aws_sns_topik" "alarms"',
      ),
    [
      { check: 'schema', includes: 'unknown resource type "aws_sns_topik"' },
      {
        check: 'references',
        includes: 'aws_sns_topic.alarms is not a resource declared in this module',
      },
    ],
  ));

test('a misspelled argument in a nested block fails the schema check', () =>
  assertCaught(
    (t) =>
      t.replace(
        'modules/alb/main.tf',
        '    path                = var.health_check_path',
        '    paht                = var.health_check_path',
      ),
    [
      {
        check: 'schema',
        includes:
          'resource "aws_lb_target_group" "app" health_check: unknown argument or block "paht"',
      },
    ],
  ));

test('a missing required argument fails the schema check', () =>
  assertCaught(
    (t) => t.replace('modules/database/main.tf', '  instance_class = var.instance_class\n', ''),
    [{ check: 'schema', includes: 'missing required argument "instance_class"' }],
    { exclusive: false },
  ));

test('an unknown resource attribute fails the reference check', () =>
  assertCaught(
    (t) =>
      t.replace(
        'modules/alb/outputs.tf',
        'value       = aws_lb.this.dns_name',
        'value       = aws_lb.this.dns_nam',
      ),
    [
      {
        check: 'references',
        includes: 'aws_lb.this.dns_nam: "dns_nam" is not an attribute of this type',
      },
    ],
  ));

test('a module output that does not exist fails the reference check', () =>
  assertCaught(
    (t) =>
      t.replace('envs/dev/outputs.tf', 'module.database.endpoint', 'module.database.endpoint_url'),
    [
      {
        check: 'references',
        file: 'envs/dev/outputs.tf',
        includes: 'module "database" (../../modules/database) has no output "endpoint_url"',
      },
    ],
  ));

test('an undefined local fails the reference check', () =>
  assertCaught(
    (t) =>
      t.replace('modules/network/main.tf', 'count = local.nat_count', 'count = local.nat_gateways'),
    [{ check: 'references', includes: 'local.nat_gateways is not defined' }],
    { exclusive: false },
  ));

test('a module input the module does not declare fails the module check', () =>
  assertCaught(
    (t) =>
      t.replace(
        'envs/prod/main.tf',
        '  nat_gateway_per_az   = true',
        '  nat_gateways_per_az  = true',
      ),
    [
      {
        check: 'modules',
        file: 'envs/prod/main.tf',
        includes:
          'input "nat_gateways_per_az" is not a variable of ../../modules/network (did you mean "nat_gateway_per_az"?)',
      },
    ],
  ));

test('a required module input that is not passed fails the module check', () =>
  assertCaught(
    (t) =>
      t.replace('envs/dev/main.tf', '  db_name                 = module.database.db_name\n', ''),
    [
      {
        check: 'modules',
        file: 'envs/dev/main.tf',
        includes: 'required input "db_name" of ../../modules/compute is not passed',
      },
    ],
  ));

test('prod without Multi-AZ or deletion protection fails the security check', () =>
  assertCaught(
    async (t) => {
      await t.replace(
        'envs/prod/main.tf',
        'multi_az                     = true',
        'multi_az                     = false',
      );
      await t.replace(
        'envs/prod/main.tf',
        'deletion_protection          = true',
        'deletion_protection          = false',
      );
    },
    [
      { check: 'security', includes: 'prod/module.database: multi_az is false, must be true' },
      {
        check: 'security',
        includes: 'prod/module.database: deletion_protection is false, must be true',
      },
    ],
  ));

test('unencrypted database storage fails the security check', () =>
  assertCaught(
    (t) =>
      t.replace(
        'modules/database/main.tf',
        'storage_encrypted     = true',
        'storage_encrypted     = false',
      ),
    [{ check: 'security', includes: 'storage_encrypted is false, must be true' }],
  ));

test('MySQL open to 0.0.0.0/0 fails the security check', () =>
  assertCaught(
    (t) =>
      t.append(
        'modules/database/main.tf',
        '\nresource "aws_vpc_security_group_ingress_rule" "anywhere" {\n' +
          '  security_group_id = aws_security_group.db.id\n' +
          '  ip_protocol       = "tcp"\n' +
          '  from_port         = 3306\n' +
          '  to_port           = 3306\n' +
          '  cidr_ipv4         = "0.0.0.0/0"\n' +
          '}\n',
      ),
    [
      {
        check: 'security',
        includes:
          'aws_vpc_security_group_ingress_rule.anywhere in prod/module.database: opens port 3306 to 0.0.0.0/0',
      },
      { check: 'security', includes: 'lets in traffic that is not from a security group' },
    ],
  ));

test('the app port open to ::/0 through an inline rule fails the security check', () =>
  assertCaught(
    (t) =>
      t.replace(
        'modules/compute/main.tf',
        '  vpc_id      = var.vpc_id\n',
        '  vpc_id      = var.vpc_id\n\n' +
          '  ingress {\n' +
          '    protocol         = "tcp"\n' +
          '    from_port        = 8000\n' +
          '    to_port          = 9000\n' +
          '    ipv6_cidr_blocks = ["::/0"]\n' +
          '  }\n',
      ),
    [
      {
        check: 'security',
        includes: 'aws_security_group.app in dev/module.compute: opens port 8080 to ::/0',
      },
    ],
  ));

test('a subnet CIDR other than the design fails the security check', () =>
  assertCaught(
    (t) => t.replace('envs/prod/main.tf', '"10.0.20.0/24"', '"10.0.30.0/24"'),
    [
      {
        check: 'security',
        includes:
          'aws_subnet.private in prod/module.network: CIDR blocks are ["10.0.10.0/24","10.0.30.0/24"]',
      },
    ],
  ));

test('a VPC CIDR other than the design fails the security check', () =>
  assertCaught(
    (t) =>
      t.replace(
        'envs/dev/main.tf',
        'vpc_cidr             = "10.0.0.0/16"',
        'vpc_cidr             = "10.1.0.0/16"',
      ),
    [
      {
        check: 'security',
        includes: 'aws_vpc.this in dev/module.network: cidr_block must be 10.0.0.0/16',
      },
    ],
  ));

test('a secret in a variable default fails the security check', () =>
  assertCaught(
    (t) =>
      t.append(
        'modules/database/variables.tf',
        '\nvariable "db_password" {\n  description = "Do not do this."\n  type        = string\n  default     = "hunter2"\n}\n',
      ),
    [
      {
        check: 'security',
        includes: 'variable "db_password" looks like a secret but has a default',
      },
      { check: 'style', includes: 'variable "db_password" is declared but never used' },
      { check: 'docs', includes: 'input "db_password" is not listed in the README' },
    ],
  ));

test('a tfvars example setting an undeclared variable fails the reference check', () =>
  assertCaught(
    (t) => t.append('envs/dev/terraform.tfvars.example', '\ninstance_count = 3\n'),
    [
      {
        check: 'references',
        file: 'envs/dev/terraform.tfvars.example',
        includes: '"instance_count" is not a variable of this module',
      },
    ],
  ));

test('a file that does not parse fails the parse check', () =>
  assertCaught(
    (t) => t.append('modules/network/outputs.tf', '\noutput "broken" {\n  value = \n}\n'),
    [{ check: 'parse', file: 'modules/network/outputs.tf', includes: 'Invalid expression' }],
    { exclusive: false },
  ));

test('an outdated module README table fails the docs check', () =>
  assertCaught(
    (t) =>
      t.replace(
        'modules/network/variables.tf',
        'IPv4 CIDR block of the VPC.',
        'IPv4 CIDR of the VPC.',
      ),
    [{ check: 'docs', file: 'modules/network/README.md', includes: 'tables are out of date' }],
  ));

test('a tree without .tf files fails rather than passing vacuously', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'shardline-tf-empty-'));
  try {
    const problems = await validateTree(dir);
    assert.equal(problems.length, 1, formatProblems(problems));
    assert.equal(problems[0].check, 'files');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
