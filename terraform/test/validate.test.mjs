// Offline validation of terraform/ (issue 6): the real tree must have no problem at all.
// lib/validate.mjs holds the rules; mutations.test.mjs proves that they catch broken copies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { listHclFiles } from './lib/files.mjs';
import { loadSchema, validateTree, formatProblems, POLICY } from './lib/validate.mjs';
import { TERRAFORM_ROOT } from './lib/tree.mjs';

let problemsPromise;
/** The real tree is validated once; each test below looks at one family of rules. */
const problems = () => (problemsPromise ??= validateTree(TERRAFORM_ROOT));
const only = async (check) => (await problems()).filter((p) => p.check === check);

test('the tree has .tf files in every module and environment', async () => {
  const files = (await listHclFiles(TERRAFORM_ROOT)).map((f) => relative(TERRAFORM_ROOT, f));
  for (const module of ['network', 'alb', 'compute', 'database', 'observability']) {
    for (const name of ['main.tf', 'variables.tf', 'outputs.tf']) {
      assert.ok(
        files.includes(join('modules', module, name)),
        `modules/${module}/${name} is missing`,
      );
    }
  }
  for (const env of ['dev', 'prod']) {
    for (const name of [
      'main.tf',
      'variables.tf',
      'outputs.tf',
      'versions.tf',
      'terraform.tfvars.example',
    ]) {
      assert.ok(files.includes(join('envs', env, name)), `envs/${env}/${name} is missing`);
    }
  }
});

test('the schema extract is the AWS provider 5.x', async () => {
  const schema = await loadSchema();
  assert.match(schema.version, /^5\.\d+\.\d+$/);
  assert.ok(Object.keys(schema.resources).length > 1000, 'too few resource types');
  assert.ok(schema.resources.aws_db_instance.args.includes('manage_master_user_password'));
  assert.ok(schema.data_sources.aws_iam_policy_document.blocks.statement);
});

for (const [check, what] of [
  ['files', 'has .tf files'],
  ['parse', 'parses with @cdktf/hcl2json'],
  ['format', 'is formatted as terraform fmt formats it'],
  ['schema', 'uses only resource types and arguments of the AWS provider'],
  ['references', 'has only resolving var., local., module., data. and resource references'],
  ['modules', 'passes only declared module inputs, and every required one'],
  ['versions', 'pins Terraform and the AWS provider'],
  ['docs', 'documents every variable and output, in code and in module READMEs'],
  ['style', 'declares no unused variable or local'],
  ['security', 'meets the security and network policy'],
]) {
  test(`the tree ${what}`, async () => {
    const found = await only(check);
    assert.equal(found.length, 0, `\n${formatProblems(found)}`);
  });
}

test('the tree has no problem at all', async () => {
  const all = await problems();
  assert.deepEqual(all, [], `\n${formatProblems(all)}`);
});

async function moduleCall(env, name) {
  const file = join(TERRAFORM_ROOT, 'envs', env, 'main.tf');
  const body = await parse('main.tf', await readFile(file, 'utf8'));
  return { call: body.module[name][0], locals: Object.assign({}, ...(body.locals ?? [])) };
}

for (const env of ['dev', 'prod']) {
  test(`${env}: the ALB idle timeout and SHARDLINE_WS_IDLE_TIMEOUT_S are one value, above the 30 s ping`, async () => {
    const { call: compute } = await moduleCall(env, 'compute');
    const { call: alb, locals } = await moduleCall(env, 'alb');
    assert.equal(compute.ws_idle_timeout_seconds, '${module.alb.idle_timeout_seconds}');
    assert.equal(alb.idle_timeout_seconds, '${local.ws_idle_timeout_seconds}');
    assert.ok(
      locals.ws_idle_timeout_seconds >= 60,
      'idle timeout must be at least twice the ping interval',
    );
  });

  test(`${env}: the network is the designed one`, async () => {
    const { call } = await moduleCall(env, 'network');
    assert.equal(call.vpc_cidr, POLICY.vpcCidr);
    assert.deepEqual(call.public_subnet_cidrs, POLICY.publicSubnetCidrs);
    assert.deepEqual(call.private_subnet_cidrs, POLICY.privateSubnetCidrs);
  });
}

test('the target group health check is /health/ready', async () => {
  const dir = join(TERRAFORM_ROOT, 'modules', 'alb');
  const main = await parse('main.tf', await readFile(join(dir, 'main.tf'), 'utf8'));
  const variables = await parse('variables.tf', await readFile(join(dir, 'variables.tf'), 'utf8'));
  const healthCheck = main.resource.aws_lb_target_group.app[0].health_check[0];
  assert.equal(healthCheck.path, '${var.health_check_path}');
  assert.equal(variables.variable.health_check_path[0].default, '/health/ready');
});
