// Offline validation of the Terraform tree, without a terraform binary.
//
// `validateTree(root)` parses every file with @cdktf/hcl2json (the HCL parser Terraform uses,
// compiled to WebAssembly), and returns the problems it finds, one object each:
//
//   { check, file, message }
//
// `check` says which rule failed:
//   files       no .tf file at all (the validation must not pass vacuously)
//   parse       a file that does not parse
//   format      a file that `terraform fmt` would change (@cdktf/hcl-tools format())
//   schema      a resource or data source type, argument or block the AWS provider does not
//               have (test/aws-schema.json), or a required argument that is missing
//   references  a var., local., module., data. or resource reference that does not resolve
//   modules     a module call with an unknown source, an undeclared input or a missing
//               required input
//   versions    a root module without its Terraform and AWS provider pins
//   docs        a variable without description or type, an output without description, a
//               module README that does not list every input and output
//   style       a declared variable or local that is never used
//   security    the project's policy (POLICY below): the database is private, encrypted,
//               backed up and (in prod) Multi-AZ with deletion protection; no security group
//               opens MySQL or the app port to the internet; the VPC and subnet CIDRs are the
//               designed ones; no secret sits in a variable default or in a tfvars example
//
// Security rules evaluate the configuration as Terraform would instantiate it: each root
// module (envs/dev, envs/prod) is walked down its module calls, and an argument is resolved
// through `var.` inputs, module call arguments, variable defaults and locals. Each root is
// evaluated twice: with the variable defaults, and with its terraform.tfvars.example applied.
// A value that cannot be resolved statically does not prove a rule, so it fails the rules
// that need proof (publicly_accessible, storage_encrypted...).
import { readFile, access } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, getReferencesInExpression } from '@cdktf/hcl2json';
import { format } from '@cdktf/hcl-tools';
import { listHclFiles } from './files.mjs';
import { docsSection, renderTables } from './docs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_SCHEMA_PATH = join(here, '..', 'aws-schema.json');

/** The deployment's policy: what the issue asks of the network and the database. */
export const POLICY = Object.freeze({
  vpcCidr: '10.0.0.0/16',
  publicSubnetCidrs: ['10.0.1.0/24', '10.0.2.0/24'],
  privateSubnetCidrs: ['10.0.10.0/24', '10.0.20.0/24'],
  /** Root module folder names that are production. */
  productionRoots: ['prod'],
  minBackupRetentionDays: 7,
  /** Always sensitive; target group and database ports are added per deployment. */
  sensitivePorts: [3306],
  openCidrs: ['0.0.0.0/0', '::/0'],
  terraformVersion: '>= 1.6, < 2.0',
  awsProviderVersion: /^~> 5\.\d+$/,
});

/** Names of variables (and tfvars keys) that hold secrets. */
const SECRET_NAME =
  /(password|passwd|passphrase|secret|token|credential|private_?key|api_?key|access_?key|key_material)/i;
/** Values that are secrets whatever their name. */
const SECRET_VALUE = [
  /AKIA[0-9A-Z]{16}/,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\bghp_[A-Za-z0-9]{36}\b/,
];

const RESOURCE_META = new Set([
  'count',
  'for_each',
  'depends_on',
  'lifecycle',
  'provider',
  'provisioner',
  'connection',
]);
const DATA_META = new Set(['count', 'for_each', 'depends_on', 'lifecycle', 'provider']);
const MODULE_META = new Set(['source', 'version', 'count', 'for_each', 'depends_on', 'providers']);
/** Reference roots that are not declarations: `path.module`, `terraform.workspace`... */
const BUILTIN_ROOTS = new Set(['path', 'terraform', 'self']);
/** Resource types that are not the AWS provider's. */
const BUILTIN_RESOURCES = {
  terraform_data: { args: ['input', 'triggers_replace'], attrs: ['id', 'output'] },
};

const UNKNOWN = Object.freeze({ known: false });
const known = (...values) => ({ known: true, values });

/** Expression references, cached: mutated copies of the tree share most strings. */
const referenceCache = new Map();
async function referencesIn(expression) {
  let refs = referenceCache.get(expression);
  if (!refs) {
    refs = (await getReferencesInExpression('expression.tf', expression)).map((r) => r.value);
    referenceCache.set(expression, refs);
  }
  return refs;
}

/** Splits `aws_subnet.public.0.id` or `local.x."k".y` into segments. */
function segmentsOf(reference) {
  return reference.match(/"[^"]*"|[^.]+/g) ?? [];
}

/** A shallow copy of `object` without `key`. */
function without(object, key) {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

const isIndex = (segment) => /^\d+$/.test(segment) || segment.startsWith('"');

let schemaPromise;
/** Loads the committed provider schema extract (once per path). */
export function loadSchema(path = DEFAULT_SCHEMA_PATH) {
  if (path === DEFAULT_SCHEMA_PATH) {
    schemaPromise ??= readFile(path, 'utf8').then(JSON.parse);
    return schemaPromise;
  }
  return readFile(path, 'utf8').then(JSON.parse);
}

/**
 * Validates the Terraform tree under `root`.
 *
 * @param {string} root folder holding modules/ and envs/ (any layout of .tf folders works)
 * @param {{ schemaPath?: string }} [options]
 * @returns {Promise<Array<{ check: string, file: string, message: string }>>} every problem
 *   found, in a stable order; empty when the tree is valid
 */
export async function validateTree(root, options = {}) {
  root = resolve(root);
  const schema = await loadSchema(options.schemaPath);
  const problems = [];
  const report = (check, file, message) =>
    problems.push({ check, file: relative(root, file) || '.', message });

  const files = await listHclFiles(root);
  const tfFiles = files.filter((f) => f.endsWith('.tf'));
  if (tfFiles.length === 0) {
    report('files', root, 'no .tf files found: nothing would be validated');
    return problems;
  }

  // Parse and format every file; group the .tf files into modules (one per folder).
  const modules = new Map();
  for (const file of files) {
    const contents = await readFile(file, 'utf8');
    const formatted = await format(contents).catch(() => undefined);
    if (formatted !== undefined && formatted !== contents) {
      report(
        'format',
        file,
        `not formatted as terraform fmt would (${firstDifference(contents, formatted)})`,
      );
    }
    let body;
    try {
      body = await parse(basename(file), contents);
    } catch (error) {
      report('parse', file, String(error?.message ?? error).trim());
      continue;
    }
    const dir = dirname(file);
    if (!modules.has(dir)) modules.set(dir, newModule(dir));
    const module = modules.get(dir);
    if (file.endsWith('.tf')) addFile(module, file, body, report);
    else module.tfvars.push({ file, body });
  }
  for (const module of modules.values()) {
    if (module.files.length === 0) modules.delete(module.dir);
  }

  // Which module calls which.
  const called = new Set();
  for (const module of modules.values()) {
    for (const call of module.modules.values()) {
      const source = call.body.source;
      if (typeof source !== 'string' || !/^\.\.?\//.test(source)) {
        report(
          'modules',
          call.file,
          `module "${call.name}": source ${JSON.stringify(source)} is not a local path, so it cannot be checked offline`,
        );
        continue;
      }
      const target = modules.get(resolve(module.dir, source));
      if (!target) {
        report('modules', call.file, `module "${call.name}": source "${source}" has no .tf files`);
        continue;
      }
      call.target = target;
      called.add(target);
    }
  }

  for (const module of modules.values()) {
    checkSchema(module, schema, report);
    await checkReferences(module, schema, report);
    checkModuleCalls(module, report);
    await checkDocs(module, called.has(module), report);
    checkSecrets(module, report);
    await checkFunctionFiles(module, report);
  }

  const roots = [...modules.values()].filter((m) => !called.has(m));
  for (const rootModule of roots) {
    checkVersions(rootModule, report);
    checkTfvars(rootModule, report);
    const scenarios = [{ label: 'variable defaults', values: {} }];
    for (const { file, body } of rootModule.tfvars) {
      if (file.endsWith('.example')) scenarios.push({ label: basename(file), values: body });
    }
    // The same rule usually fails in every scenario: report it once, naming the scenarios.
    const failures = new Map();
    for (const scenario of scenarios) {
      const instance = { module: rootModule, parent: undefined, call: undefined, scenario };
      checkSecurity(instance, basename(rootModule.dir), (check, file, message) => {
        const key = JSON.stringify([check, file, message]);
        if (!failures.has(key)) failures.set(key, []);
        failures.get(key).push(scenario.label);
      });
    }
    for (const [key, labels] of failures) {
      const [check, file, message] = JSON.parse(key);
      report(check, file, `${message} [with ${labels.join(', and with ')}]`);
    }
  }
  if (!(await exists(join(root, 'README.md')))) report('docs', root, 'no top-level README.md');

  // One report per distinct problem (the same rule can fail in both scenarios).
  const seen = new Set();
  return problems.filter((p) => {
    const key = `${p.check}\0${p.file}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Renders problems one per line, for assertion messages and CLI output. */
export function formatProblems(problems) {
  return problems.map((p) => `${p.file}: [${p.check}] ${p.message}`).join('\n');
}

function firstDifference(a, b) {
  const linesA = a.split('\n');
  const linesB = b.split('\n');
  for (let i = 0; i < Math.max(linesA.length, linesB.length); i += 1) {
    if (linesA[i] !== linesB[i]) return `line ${i + 1}: ${JSON.stringify(linesA[i] ?? '')}`;
  }
  return 'whitespace at end of file';
}

async function exists(path) {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Loading

function newModule(dir) {
  return {
    dir,
    files: [],
    tfvars: [],
    variables: new Map(),
    locals: new Map(),
    outputs: new Map(),
    resources: new Map(),
    data: new Map(),
    modules: new Map(),
    providers: [],
    terraform: [],
  };
}

function addFile(module, file, body, report) {
  module.files.push({ file, body });
  const declare = (map, key, value, what) => {
    if (map.has(key)) report('references', file, `${what} declared twice`);
    else map.set(key, value);
  };
  for (const [name, blocks] of Object.entries(body.variable ?? {})) {
    for (const decl of blocks)
      declare(module.variables, name, { name, body: decl, file }, `variable "${name}"`);
  }
  for (const block of body.locals ?? []) {
    for (const [name, expr] of Object.entries(block))
      declare(module.locals, name, { name, expr, file }, `local.${name}`);
  }
  for (const [name, blocks] of Object.entries(body.output ?? {})) {
    for (const decl of blocks)
      declare(module.outputs, name, { name, body: decl, file }, `output "${name}"`);
  }
  for (const [type, byName] of Object.entries(body.resource ?? {})) {
    for (const [name, blocks] of Object.entries(byName)) {
      for (const decl of blocks) {
        declare(
          module.resources,
          `${type}.${name}`,
          { type, name, body: decl, file },
          `resource "${type}" "${name}"`,
        );
      }
    }
  }
  for (const [type, byName] of Object.entries(body.data ?? {})) {
    for (const [name, blocks] of Object.entries(byName)) {
      for (const decl of blocks) {
        declare(
          module.data,
          `${type}.${name}`,
          { type, name, body: decl, file },
          `data "${type}" "${name}"`,
        );
      }
    }
  }
  for (const [name, blocks] of Object.entries(body.module ?? {})) {
    for (const decl of blocks)
      declare(module.modules, name, { name, body: decl, file }, `module "${name}"`);
  }
  for (const [name, blocks] of Object.entries(body.provider ?? {})) {
    for (const decl of blocks) module.providers.push({ name, body: decl, file });
  }
  for (const block of body.terraform ?? []) module.terraform.push({ body: block, file });
}

// ---------------------------------------------------------------------------------------
// Schema: resource and data source types, their arguments and nested blocks

function checkSchema(module, schema, report) {
  for (const resource of module.resources.values()) {
    const block = schema.resources[resource.type] ?? BUILTIN_RESOURCES[resource.type];
    const label = `resource "${resource.type}" "${resource.name}"`;
    if (!block) {
      report(
        'schema',
        resource.file,
        `${label}: unknown resource type "${resource.type}" (AWS provider ${schema.version})`,
      );
      continue;
    }
    checkBlock(resource.body, block, RESOURCE_META, label, resource.file, report);
    checkLifecycle(resource.body, block, label, resource.file, report);
  }
  for (const data of module.data.values()) {
    const block = schema.data_sources[data.type];
    const label = `data "${data.type}" "${data.name}"`;
    if (!block) {
      report(
        'schema',
        data.file,
        `${label}: unknown data source type "${data.type}" (AWS provider ${schema.version})`,
      );
      continue;
    }
    checkBlock(data.body, block, DATA_META, label, data.file, report);
  }
}

/** Checks one block body (hcl2json form) against a schema block, recursing into nested blocks. */
function checkBlock(body, block, meta, label, file, report) {
  const args = new Set(block.args ?? []);
  const nested = block.blocks ?? {};
  const present = new Set();
  for (const [key, value] of Object.entries(body)) {
    if (meta.has(key)) continue;
    if (key === 'dynamic') {
      for (const [blockName, dynamics] of Object.entries(value)) {
        present.add(blockName);
        if (!(blockName in nested)) {
          report(
            'schema',
            file,
            `${label}: dynamic "${blockName}": "${blockName}" is not a block of this type${suggest(blockName, Object.keys(nested))}`,
          );
          continue;
        }
        for (const dynamic of dynamics) {
          for (const key2 of Object.keys(dynamic)) {
            if (!['for_each', 'iterator', 'labels', 'content'].includes(key2)) {
              report(
                'schema',
                file,
                `${label}: dynamic "${blockName}": unknown argument "${key2}"`,
              );
            }
          }
          for (const content of dynamic.content ?? []) {
            checkBlock(
              content,
              nested[blockName],
              new Set(),
              `${label} ${blockName}`,
              file,
              report,
            );
          }
        }
      }
      continue;
    }
    present.add(key);
    if (args.has(key)) continue;
    if (key in nested) {
      // A block is a list of bodies; a nested attribute (`x = { ... }`) is an expression.
      if (
        Array.isArray(value) &&
        value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))
      ) {
        for (const item of value)
          checkBlock(item, nested[key], new Set(), `${label} ${key}`, file, report);
      }
      continue;
    }
    const candidates = [...args, ...Object.keys(nested)];
    report(
      'schema',
      file,
      `${label}: unknown argument or block "${key}"${suggest(key, candidates)}`,
    );
  }
  for (const required of block.required ?? []) {
    if (!present.has(required))
      report('schema', file, `${label}: missing required argument "${required}"`);
  }
}

function checkLifecycle(body, block, label, file, report) {
  const settable = new Set([...(block.args ?? []), ...Object.keys(block.blocks ?? {})]);
  for (const lifecycle of body.lifecycle ?? []) {
    const ignored = lifecycle.ignore_changes;
    if (!Array.isArray(ignored)) continue;
    for (const entry of ignored) {
      const name = String(entry)
        .replace(/^\$\{|\}$/g, '')
        .split(/[.[]/)[0];
      if (name !== 'all' && !settable.has(name)) {
        report(
          'schema',
          file,
          `${label}: lifecycle.ignore_changes names unknown argument "${name}"`,
        );
      }
    }
  }
}

/** ` (did you mean "x"?)` for a close match, by edit distance. */
function suggest(name, candidates) {
  let best;
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const saved = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = saved;
    }
  }
  return row[b.length];
}

// ---------------------------------------------------------------------------------------
// References

/**
 * Walks every expression of the module and checks that each reference resolves. `scope`
 * holds the extra roots valid at that point: `count`, `each`, dynamic block iterators.
 */
async function checkReferences(module, schema, report) {
  const usedVariables = new Set();
  const usedLocals = new Set();

  const check = async (reference, scope, file, where) => {
    const segments = segmentsOf(reference);
    const [rootName, name, attribute] = segments;
    const fail = (message) => report('references', file, `${where}: ${message}`);
    if (rootName === 'var') {
      usedVariables.add(name);
      if (!module.variables.has(name))
        fail(`var.${name} is not declared (no variable "${name}" in this module)`);
    } else if (rootName === 'local') {
      usedLocals.add(name);
      if (!module.locals.has(name)) fail(`local.${name} is not defined in this module`);
    } else if (rootName === 'module') {
      const call = module.modules.get(name);
      if (!call) fail(`module.${name} is not declared in this module`);
      else if (attribute && call.target && !call.target.outputs.has(attribute)) {
        fail(
          `module.${name}.${attribute}: module "${name}" (${call.body.source}) has no output "${attribute}"`,
        );
      }
    } else if (rootName === 'data') {
      const [, type, dataName] = segments;
      const decl = module.data.get(`${type}.${dataName}`);
      if (!decl) fail(`data.${type}.${dataName} is not declared in this module`);
      else
        checkAttribute(
          schema.data_sources[type],
          segments.slice(3),
          `data.${type}.${dataName}`,
          fail,
        );
    } else if (rootName === 'count') {
      if (!scope.count) fail(`${reference} used in a block without count`);
      else if (name !== 'index') fail(`${reference}: count has only "index"`);
    } else if (rootName === 'each') {
      if (!scope.each) fail(`${reference} used in a block without for_each`);
      else if (name !== 'key' && name !== 'value')
        fail(`${reference}: each has only "key" and "value"`);
    } else if (scope.iterators.has(rootName)) {
      if (name !== 'key' && name !== 'value')
        fail(`${reference}: a dynamic block iterator has only "key" and "value"`);
    } else if (BUILTIN_ROOTS.has(rootName)) {
      // path.module, path.root, terraform.workspace: always defined.
    } else if (rootName.includes('_') && name !== undefined) {
      const decl = module.resources.get(`${rootName}.${name}`);
      if (!decl) fail(`${rootName}.${name} is not a resource declared in this module`);
      else {
        checkAttribute(
          schema.resources[rootName] ?? BUILTIN_RESOURCES[rootName],
          segments.slice(2),
          `${rootName}.${name}`,
          fail,
        );
      }
    } else {
      fail(`"${reference}" does not refer to anything declared`);
    }
  };

  const walk = async (value, scope, file, where) => {
    if (typeof value === 'string') {
      if (!value.includes('${') && !value.includes('%{')) return;
      for (const reference of await referencesIn(value)) await check(reference, scope, file, where);
    } else if (Array.isArray(value)) {
      for (const item of value) await walk(item, scope, file, where);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (key === 'dynamic' && item && typeof item === 'object' && !Array.isArray(item)) {
          for (const [blockName, dynamics] of Object.entries(item)) {
            for (const dynamic of dynamics) {
              await walk(dynamic.for_each, scope, file, where);
              const iterator =
                typeof dynamic.iterator === 'string'
                  ? dynamic.iterator.replace(/^\$\{|\}$/g, '')
                  : blockName;
              const inner = { ...scope, iterators: new Set([...scope.iterators, iterator]) };
              await walk(dynamic.content, inner, file, `${where} dynamic "${blockName}"`);
            }
          }
        } else if (key === 'lifecycle' && Array.isArray(item)) {
          // ignore_changes names arguments, not references (checked against the schema).
          for (const lifecycle of item) {
            await walk(without(lifecycle, 'ignore_changes'), scope, file, where);
          }
        } else {
          await walk(item, scope, file, where);
        }
      }
    }
  };

  const none = { count: false, each: false, iterators: new Set() };
  const blockScope = (body) => ({
    count: 'count' in body,
    each: 'for_each' in body,
    iterators: new Set(),
  });

  for (const variable of module.variables.values()) {
    // `type` is a type expression (`list(string)`), not references.
    const rest = without(without(variable.body, 'type'), 'validation');
    await walk(rest, none, variable.file, `variable "${variable.name}"`);
    for (const rule of variable.body.validation ?? []) {
      await walk(rule, none, variable.file, `variable "${variable.name}" validation`);
      const refs = typeof rule.condition === 'string' ? await referencesIn(rule.condition) : [];
      if (
        !refs.some((r) => r === `var.${variable.name}` || r.startsWith(`var.${variable.name}.`))
      ) {
        report(
          'references',
          variable.file,
          `variable "${variable.name}": a validation condition must refer to var.${variable.name}`,
        );
      }
    }
  }
  for (const local of module.locals.values())
    await walk(local.expr, none, local.file, `local.${local.name}`);
  for (const output of module.outputs.values())
    await walk(output.body, none, output.file, `output "${output.name}"`);
  for (const r of module.resources.values()) {
    await walk(r.body, blockScope(r.body), r.file, `resource "${r.type}" "${r.name}"`);
  }
  for (const d of module.data.values())
    await walk(d.body, blockScope(d.body), d.file, `data "${d.type}" "${d.name}"`);
  for (const m of module.modules.values())
    await walk(m.body, blockScope(m.body), m.file, `module "${m.name}"`);
  for (const p of module.providers) await walk(p.body, none, p.file, `provider "${p.name}"`);

  for (const variable of module.variables.values()) {
    if (!usedVariables.has(variable.name))
      report('style', variable.file, `variable "${variable.name}" is declared but never used`);
  }
  for (const local of module.locals.values()) {
    if (!usedLocals.has(local.name))
      report('style', local.file, `local.${local.name} is defined but never used`);
  }
}

/** Checks the attribute read from a resource or data source (`aws_lb.this.dns_name`). */
function checkAttribute(block, rest, label, fail) {
  if (!block) return;
  const attribute = rest.find((segment) => !isIndex(segment));
  if (attribute === undefined) return;
  const readable = new Set([
    'id',
    ...(block.args ?? []),
    ...Object.keys(block.blocks ?? {}),
    ...(block.attrs ?? []),
  ]);
  if (!readable.has(attribute))
    fail(
      `${label}.${attribute}: "${attribute}" is not an attribute of this type${suggest(attribute, [...readable])}`,
    );
}

// ---------------------------------------------------------------------------------------
// Module calls

function checkModuleCalls(module, report) {
  for (const call of module.modules.values()) {
    const target = call.target;
    if (!target) continue;
    for (const key of Object.keys(call.body)) {
      if (MODULE_META.has(key)) continue;
      if (!target.variables.has(key)) {
        report(
          'modules',
          call.file,
          `module "${call.name}": input "${key}" is not a variable of ${call.body.source}${suggest(key, [...target.variables.keys()])}`,
        );
      }
    }
    for (const variable of target.variables.values()) {
      if (!('default' in variable.body) && !(variable.name in call.body)) {
        report(
          'modules',
          call.file,
          `module "${call.name}": required input "${variable.name}" of ${call.body.source} is not passed`,
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Documentation

async function checkDocs(module, isChildModule, report) {
  for (const variable of module.variables.values()) {
    if (typeof variable.body.description !== 'string' || variable.body.description.trim() === '') {
      report('docs', variable.file, `variable "${variable.name}" has no description`);
    }
    if (!('type' in variable.body))
      report('docs', variable.file, `variable "${variable.name}" has no type`);
  }
  for (const output of module.outputs.values()) {
    if (typeof output.body.description !== 'string' || output.body.description.trim() === '') {
      report('docs', output.file, `output "${output.name}" has no description`);
    }
  }
  if (isChildModule) await checkReadme(module, report);
}

async function checkReadme(module, report) {
  const path = join(module.dir, 'README.md');
  let text;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    report('docs', path, 'module has no README.md');
    return;
  }
  for (const name of module.variables.keys()) {
    if (!text.includes(`\`${name}\``))
      report('docs', path, `input "${name}" is not listed in the README`);
  }
  for (const name of module.outputs.keys()) {
    if (!text.includes(`\`${name}\``))
      report('docs', path, `output "${name}" is not listed in the README`);
  }
  const section = docsSection(text);
  const tables = renderTables(
    [...module.variables.values()].map((v) => [v.name, v.body]),
    [...module.outputs.values()].map((o) => [o.name, o.body]),
  );
  if (section !== undefined && section !== tables) {
    report(
      'docs',
      path,
      'the inputs and outputs tables are out of date: run node terraform/tools/docs.mjs',
    );
  }
}

// ---------------------------------------------------------------------------------------
// files referenced by file() and templatefile()

async function checkFunctionFiles(module, report) {
  const pattern = /\b(?:file|templatefile|filebase64)\(\s*"\$\{path\.module\}\/([^"]+)"/g;
  for (const { file, body } of module.files) {
    const text = JSON.stringify(body);
    for (const match of text.replaceAll('\\"', '"').matchAll(pattern)) {
      if (!(await exists(join(module.dir, match[1])))) {
        report(
          'references',
          file,
          `${match[0]}: ${match[1]} does not exist in ${basename(module.dir)}/`,
        );
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Versions and tfvars examples of root modules

function checkVersions(module, report) {
  const where = module.files[0].file;
  const terraform = module.terraform.map((t) => t.body);
  const requiredVersion = terraform.find((t) => t.required_version)?.required_version;
  if (requiredVersion !== POLICY.terraformVersion) {
    report(
      'versions',
      where,
      `root module must pin required_version = "${POLICY.terraformVersion}" (found ${JSON.stringify(requiredVersion)})`,
    );
  }
  const aws = terraform.flatMap((t) => t.required_providers ?? []).find((p) => p.aws)?.aws;
  if (
    !aws ||
    aws.source !== 'hashicorp/aws' ||
    !POLICY.awsProviderVersion.test(aws.version ?? '')
  ) {
    report(
      'versions',
      where,
      `root module must require hashicorp/aws with a "~> 5.x" constraint (found ${JSON.stringify(aws)})`,
    );
  }
  if (!module.providers.some((p) => p.name === 'aws')) {
    report('versions', where, 'root module has no provider "aws" block');
  }
}

function checkTfvars(module, report) {
  for (const { file, body } of module.tfvars) {
    for (const [key, value] of Object.entries(body)) {
      if (!module.variables.has(key))
        report('references', file, `"${key}" is not a variable of this module`);
      if (SECRET_NAME.test(key) && !isEmpty(value)) {
        report('security', file, `"${key}" looks like a secret: never put it in a tfvars file`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Secrets in variable defaults

function isEmpty(value) {
  if (value === null || value === undefined || value === '' || typeof value === 'boolean')
    return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

function checkSecrets(module, report) {
  for (const variable of module.variables.values()) {
    if (!('default' in variable.body)) continue;
    const value = variable.body.default;
    if (SECRET_NAME.test(variable.name) && !isEmpty(value)) {
      report(
        'security',
        variable.file,
        `variable "${variable.name}" looks like a secret but has a default: secrets come from Secrets Manager, never from defaults`,
      );
    }
    const text = JSON.stringify(value) ?? '';
    if (SECRET_VALUE.some((pattern) => pattern.test(text))) {
      report(
        'security',
        variable.file,
        `variable "${variable.name}": its default looks like a credential`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------
// Evaluation: a minimal, conservative resolver for literal values

/** A module as instantiated: its call, its parent instance, the root's scenario. */
function childInstance(parent, call) {
  return { module: call.target, parent, call, scenario: parent.scenario };
}

function resolveVariable(instance, name, depth) {
  const { module, call, parent, scenario } = instance;
  if (call && name in call.body) return resolveValue(call.body[name], parent, {}, depth + 1);
  if (!call && name in scenario.values)
    return resolveValue(scenario.values[name], instance, {}, depth + 1);
  const variable = module.variables.get(name);
  if (variable && 'default' in variable.body)
    return resolveValue(variable.body.default, instance, {}, depth + 1);
  return UNKNOWN;
}

/**
 * Resolves an hcl2json value to its possible literal values, or UNKNOWN. Understands
 * literals, `${var.x}`, `${local.x}`, `${var.x[count.index]}` (every element) and
 * `${each.value}` / `${each.key}` over a resolvable for_each.
 */
function resolveValue(value, instance, context, depth = 0) {
  if (depth > 20) return UNKNOWN;
  if (typeof value !== 'string') {
    if (Array.isArray(value)) {
      const items = [];
      for (const item of value) {
        const resolved = resolveValue(item, instance, context, depth + 1);
        if (!resolved.known || resolved.values.length !== 1) return UNKNOWN;
        items.push(resolved.values[0]);
      }
      return known(items);
    }
    return known(value);
  }
  if (!value.includes('${') && !value.includes('%{')) return known(value);
  let match = value.match(/^\$\{var\.([\w-]+)\}$/);
  if (match) return resolveVariable(instance, match[1], depth);
  match = value.match(/^\$\{local\.([\w-]+)\}$/);
  if (match) {
    const local = instance.module.locals.get(match[1]);
    return local ? resolveValue(local.expr, instance, context, depth + 1) : UNKNOWN;
  }
  match = value.match(/^\$\{(var|local)\.([\w-]+)\[count\.index\]\}$/);
  if (match) {
    const list = resolveValue(`\${${match[1]}.${match[2]}}`, instance, context, depth + 1);
    if (!list.known || !list.values.every(Array.isArray)) return UNKNOWN;
    return known(...list.values.flat());
  }
  match = value.match(/^\$\{each\.(key|value)\}$/);
  if (match && context.forEach !== undefined) {
    let collection = context.forEach;
    const wrapped =
      typeof collection === 'string' && collection.match(/^\$\{toset\((var|local)\.([\w-]+)\)\}$/);
    if (wrapped) collection = `\${${wrapped[1]}.${wrapped[2]}}`;
    const resolved = resolveValue(collection, instance, {}, depth + 1);
    if (!resolved.known) return UNKNOWN;
    const out = [];
    for (const item of resolved.values) {
      if (Array.isArray(item)) out.push(...item);
      else if (item && typeof item === 'object')
        out.push(...(match[1] === 'key' ? Object.keys(item) : Object.values(item)));
      else return UNKNOWN;
    }
    return known(...out);
  }
  if (value === '${true}') return known(true);
  if (value === '${false}') return known(false);
  return UNKNOWN;
}

/** Every instance under a root, depth first: [instance, ...descendants]. */
function instancesOf(instance, depth = 0) {
  const out = [instance];
  if (depth > 10) return out;
  for (const call of instance.module.modules.values()) {
    if (call.target) out.push(...instancesOf(childInstance(instance, call), depth + 1));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Security policy

function checkSecurity(rootInstance, rootName, report) {
  const production = POLICY.productionRoots.includes(rootName);
  const instances = instancesOf(rootInstance);
  const at = (instance) => (instance.call ? `${rootName}/module.${instance.call.name}` : rootName);

  // Ports that must never face the internet: MySQL, and every port the deployment serves on.
  const sensitivePorts = new Set(POLICY.sensitivePorts);
  for (const instance of instances) {
    for (const r of instance.module.resources.values()) {
      if (r.type !== 'aws_lb_target_group' && r.type !== 'aws_db_instance') continue;
      const port = resolveValue(r.body.port, instance, {});
      if (port.known) for (const p of port.values) if (typeof p === 'number') sensitivePorts.add(p);
    }
  }

  for (const instance of instances) {
    const { module } = instance;
    for (const r of module.resources.values()) {
      const label = `${r.type}.${r.name} in ${at(instance)}`;
      const fail = (message) => report('security', r.file, `${label}: ${message}`);
      const context = { forEach: r.body.for_each };
      const value = (key) =>
        key in r.body ? resolveValue(r.body[key], instance, context) : undefined;
      const mustBe = (key, expected, why) => {
        const resolved = value(key);
        if (resolved === undefined) fail(`${key} must be set to ${expected} explicitly (${why})`);
        else if (!resolved.known)
          fail(`${key} cannot be shown to be ${expected} (${why}): ${JSON.stringify(r.body[key])}`);
        else if (resolved.values.some((v) => v !== expected))
          fail(
            `${key} is ${JSON.stringify(resolved.values.find((v) => v !== expected))}, must be ${expected} (${why})`,
          );
      };

      if (r.type === 'aws_db_instance') {
        mustBe('publicly_accessible', false, 'the database is reachable from the application only');
        mustBe('storage_encrypted', true, 'storage is encrypted at rest');
        if (!('kms_key_id' in r.body))
          fail('kms_key_id must name the KMS key encrypting the storage');
        mustBe(
          'manage_master_user_password',
          true,
          'RDS keeps the master password in Secrets Manager',
        );
        for (const key of ['password', 'password_wo']) {
          if (key in r.body) fail(`${key} must not be set: the password is managed by RDS`);
        }
        mustBe('skip_final_snapshot', false, 'a final snapshot is taken on destroy');
        if (!('final_snapshot_identifier' in r.body)) fail('final_snapshot_identifier must be set');
        const retention = value('backup_retention_period');
        if (
          !retention?.known ||
          retention.values.some((v) => typeof v !== 'number' || v < POLICY.minBackupRetentionDays)
        ) {
          fail(
            `backup_retention_period must be at least ${POLICY.minBackupRetentionDays} days (found ${JSON.stringify(retention?.values ?? r.body.backup_retention_period)})`,
          );
        }
        if (production) {
          mustBe('multi_az', true, `${rootName} is production`);
          mustBe('deletion_protection', true, `${rootName} is production`);
        }
        checkDatabaseIngress(r, instance, fail);
      }

      for (const rule of ingressRulesOf(r, instance, context)) {
        if (!rule.cidrs.some((c) => POLICY.openCidrs.includes(c))) continue;
        for (const port of sensitivePorts) {
          if (rule.covers(port))
            fail(
              `opens port ${port} to ${rule.cidrs.filter((c) => POLICY.openCidrs.includes(c)).join(', ')}`,
            );
        }
      }

      if (r.type === 'aws_vpc') {
        const cidr = value('cidr_block');
        if (!cidr?.known || cidr.values.length !== 1 || cidr.values[0] !== POLICY.vpcCidr) {
          fail(
            `cidr_block must be ${POLICY.vpcCidr} (found ${JSON.stringify(cidr?.known ? cidr.values : r.body.cidr_block)})`,
          );
        }
      }
    }

    if ([...module.resources.values()].some((r) => r.type === 'aws_vpc'))
      checkSubnets(instance, at(instance), report);
  }
}

/** The ingress rules a resource defines, as { cidrs, covers(port) }; unknown ports cover all. */
function ingressRulesOf(r, instance, context) {
  const resolve = (value) =>
    value === undefined ? known(undefined) : resolveValue(value, instance, context);
  const cidrsOf = (...values) => {
    const out = [];
    for (const v of values) {
      const resolved = resolve(v);
      if (resolved.known)
        for (const item of resolved.values) out.push(...(Array.isArray(item) ? item : [item]));
    }
    return out.filter((c) => typeof c === 'string');
  };
  const rule = (protocol, from, to, cidrs) => {
    const p = resolve(protocol);
    const f = resolve(from);
    const t = resolve(to);
    const allProtocols = p.known && p.values.some((v) => v === '-1' || v === 'all' || v === -1);
    const portsKnown =
      f.known && t.known && [...f.values, ...t.values].every((v) => typeof v === 'number');
    return {
      cidrs,
      covers: (port) =>
        allProtocols ||
        !portsKnown ||
        (Math.min(...f.values) <= port && port <= Math.max(...t.values)),
    };
  };
  const body = r.body;
  if (r.type === 'aws_vpc_security_group_ingress_rule') {
    return [
      rule(body.ip_protocol, body.from_port, body.to_port, cidrsOf(body.cidr_ipv4, body.cidr_ipv6)),
    ];
  }
  if (r.type === 'aws_security_group_rule') {
    const type = resolve(body.type);
    if (type.known && type.values.every((v) => v !== 'ingress')) return [];
    return [
      rule(
        body.protocol,
        body.from_port,
        body.to_port,
        cidrsOf(body.cidr_blocks, body.ipv6_cidr_blocks),
      ),
    ];
  }
  if (r.type === 'aws_security_group') {
    const inline = Array.isArray(body.ingress) ? body.ingress : [];
    const dynamic = (body.dynamic?.ingress ?? []).flatMap((d) => d.content ?? []);
    return [...inline, ...dynamic]
      .filter((b) => b && typeof b === 'object')
      .map((b) =>
        rule(b.protocol, b.from_port, b.to_port, cidrsOf(b.cidr_blocks, b.ipv6_cidr_blocks)),
      );
  }
  return [];
}

/** The database's security groups accept traffic only from other security groups. */
function checkDatabaseIngress(db, instance, fail) {
  const groups = Array.isArray(db.body.vpc_security_group_ids)
    ? db.body.vpc_security_group_ids
    : [];
  const names = groups.map((g) => String(g).match(/^\$\{aws_security_group\.([\w-]+)\.id\}$/)?.[1]);
  if (names.length === 0 || names.some((n) => n === undefined)) {
    fail(
      'vpc_security_group_ids must list security groups declared beside the database, so that their rules can be checked',
    );
    return;
  }
  for (const name of names) {
    const group = instance.module.resources.get(`aws_security_group.${name}`);
    if (!group) continue;
    if ('ingress' in group.body || group.body.dynamic?.ingress) {
      fail(`aws_security_group.${name} must not have inline ingress rules`);
    }
    for (const r of instance.module.resources.values()) {
      if (r.body.security_group_id !== `\${aws_security_group.${name}.id}`) continue;
      const isIngress =
        r.type === 'aws_vpc_security_group_ingress_rule' ||
        (r.type === 'aws_security_group_rule' && r.body.type === 'ingress');
      if (!isIngress) continue;
      const bySource =
        r.type === 'aws_security_group_rule'
          ? 'source_security_group_id'
          : 'referenced_security_group_id';
      const cidrKeys = [
        'cidr_ipv4',
        'cidr_ipv6',
        'cidr_blocks',
        'ipv6_cidr_blocks',
        'prefix_list_id',
        'prefix_list_ids',
      ];
      if (!(bySource in r.body) || cidrKeys.some((k) => k in r.body)) {
        fail(
          `${r.type}.${r.name} lets in traffic that is not from a security group (use ${bySource} only)`,
        );
      }
    }
  }
}

function checkSubnets(instance, where, report) {
  const expected = { public: POLICY.publicSubnetCidrs, private: POLICY.privateSubnetCidrs };
  for (const r of instance.module.resources.values()) {
    if (r.type !== 'aws_subnet') continue;
    const fail = (message) =>
      report('security', r.file, `aws_subnet.${r.name} in ${where}: ${message}`);
    if (!(r.name in expected)) {
      fail('unexpected subnet: the design has aws_subnet.public and aws_subnet.private only');
      continue;
    }
    const cidrs = resolveValue(r.body.cidr_block, instance, { forEach: r.body.for_each });
    const want = expected[r.name];
    // `cidr_block = var.x[count.index]` resolves to every element of var.x, which is right
    // only when `count = length(var.x)`.
    const indexed = String(r.body.cidr_block).match(
      /^\$\{((?:var|local)\.[\w-]+)\[count\.index\]\}$/,
    );
    const countOk = indexed ? r.body.count === `\${length(${indexed[1]})}` : !('count' in r.body);
    if (!cidrs.known || !countOk) {
      fail(
        `cidr_block cannot be resolved to ${want.join(', ')}: ${JSON.stringify(r.body.cidr_block)}`,
      );
    } else if (cidrs.values.length !== want.length || cidrs.values.some((c, i) => c !== want[i])) {
      fail(`CIDR blocks are ${JSON.stringify(cidrs.values)}, must be ${JSON.stringify(want)}`);
    }
  }
}

/** For CLI use: `node terraform/test/lib/validate.mjs [dir]` prints the problems. */
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? join(here, '..', '..');
  const problems = await validateTree(dir);
  if (problems.length > 0) console.log(formatProblems(problems));
  console.log(`${problems.length} problem(s) in ${dir}`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}
