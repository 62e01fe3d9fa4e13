#!/usr/bin/env node
// Generates the typed slurmrestd client types from slurmrestd's own OpenAPI document.
//
//   node scripts/gen-slurm-client.mjs            fetch /openapi/v3 from the running slurmrestd, save it, generate
//   node scripts/gen-slurm-client.mjs --from F   regenerate from a saved document (no cluster needed)
//   node scripts/gen-slurm-client.mjs --check    regenerate from the saved document and fail if the .ts differs
//
// Fetching reads UNIDLE_SLURMRESTD_URL [http://127.0.0.1:16819], UNIDLE_SLURM_USER [root] and a token from
// SLURMRESTD_TOKEN, or mints one from UNIDLE_SLURM_JWT_KEY_FILE (`eval "$(scripts/slurm-dev-cluster.sh env)"`
// sets all of them). slurmrestd 22.05 serves the same document at /openapi, /openapi/v3, /openapi.json and
// /openapi.yaml (all JSON, all behind authentication).
//
// Output: src/executors/slurm/gen/openapi-v0.0.38.json (the document, pretty-printed, key order as served)
//         src/executors/slurm/gen/slurmrestd-v0.0.38.ts  (interfaces for components.schemas + an operation map)
// The conversion is a small OpenAPI 3.0 → TypeScript mapper covering what this document uses ($ref, object,
// array, enum, scalar types, nullable, allOf/oneOf/anyOf, additionalProperties). Output is deterministic:
// schemas and operations are emitted sorted by name; properties keep document order.
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const API_VERSION = 'v0.0.38';
const OUT_DIR = join(ROOT, 'src/executors/slurm/gen');
const JSON_OUT = join(OUT_DIR, `openapi-${API_VERSION}.json`);
const TS_OUT = join(OUT_DIR, `slurmrestd-${API_VERSION}.ts`);
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function mintToken(keyFile, user, lifespanSec = 300) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const signingInput = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iat: now, exp: now + lifespanSec, sun: user })}`;
  const sig = createHmac('sha256', readFileSync(keyFile)).update(signingInput).digest('base64url');
  return `${signingInput}.${sig}`;
}

async function fetchDocument() {
  const base = (process.env.UNIDLE_SLURMRESTD_URL ?? 'http://127.0.0.1:16819').replace(/\/+$/, '');
  const user = process.env.UNIDLE_SLURM_USER ?? 'root';
  let token = process.env.SLURMRESTD_TOKEN;
  if (!token && process.env.UNIDLE_SLURM_JWT_KEY_FILE) token = mintToken(process.env.UNIDLE_SLURM_JWT_KEY_FILE, user);
  if (!token) {
    throw new Error('no token: set SLURMRESTD_TOKEN or UNIDLE_SLURM_JWT_KEY_FILE (eval "$(scripts/slurm-dev-cluster.sh env)")');
  }
  const url = `${base}/openapi/v3`;
  let res;
  try {
    res = await fetch(url, { headers: { 'X-SLURM-USER-NAME': user, 'X-SLURM-USER-TOKEN': token } });
  } catch (err) {
    throw new Error(`cannot reach slurmrestd at ${url} (${err?.cause?.code ?? err}); run scripts/slurm-dev-cluster.sh start`);
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

// ------------------------------------------------------------------------------------------------
// OpenAPI → TypeScript

function typeName(schemaName) {
  // v0.0.38_node → V0038Node, dbv0.0.38_job_exit_code → Dbv0038JobExitCode
  return schemaName
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}

function refName(ref) {
  const m = /^#\/components\/schemas\/(.+)$/.exec(ref);
  if (!m) throw new Error(`unsupported $ref ${ref}`);
  return typeName(m[1]);
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const propKey = (k) => (IDENT.test(k) ? k : JSON.stringify(k));

function comment(lines, indent) {
  const clean = lines
    .flatMap((l) => String(l).split(/\r?\n/))
    .map((l) => l.replace(/\*\//g, '*\\/').trimEnd())
    .filter((l, i, a) => l !== '' || (i > 0 && i < a.length - 1));
  if (clean.length === 0) return '';
  if (clean.length === 1) return `${indent}/** ${clean[0]} */\n`;
  return `${indent}/**\n${clean.map((l) => `${indent} * ${l}`.trimEnd()).join('\n')}\n${indent} */\n`;
}

function docLines(schema) {
  const lines = [];
  if (schema.description) lines.push(schema.description);
  const facts = [];
  if (schema.format) facts.push(`format: ${schema.format}`);
  if (schema.default !== undefined) facts.push(`default: ${JSON.stringify(schema.default)}`);
  if (schema.pattern) facts.push(`pattern: ${schema.pattern}`);
  if (schema.minItems !== undefined || schema.maxItems !== undefined) {
    facts.push(`items: ${schema.minItems ?? 0}..${schema.maxItems ?? '∞'}`);
  }
  if (facts.length) lines.push(`(${facts.join('; ')})`);
  if (schema.deprecated) lines.push('@deprecated');
  return lines;
}

function needsParens(t) {
  return /[|&]/.test(t) && !/^\{[\s\S]*\}$/.test(t);
}

function toTs(schema, indent) {
  if (schema === undefined || schema === null || schema === true) return 'unknown';
  if (schema.$ref) return withNull(refName(schema.$ref), schema);
  if (Array.isArray(schema.enum)) return withNull(schema.enum.map((v) => JSON.stringify(v)).join(' | '), schema);
  if (schema.allOf) return withNull(schema.allOf.map((s) => wrap(toTs(s, indent))).join(' & '), schema);
  if (schema.oneOf || schema.anyOf) {
    return withNull((schema.oneOf ?? schema.anyOf).map((s) => wrap(toTs(s, indent))).join(' | '), schema);
  }
  switch (schema.type) {
    case 'string':
      return withNull('string', schema);
    case 'integer':
    case 'number':
      return withNull('number', schema);
    case 'boolean':
      return withNull('boolean', schema);
    case 'array': {
      const item = toTs(schema.items, indent);
      return withNull(needsParens(item) ? `Array<${item}>` : `${item}[]`, schema);
    }
    case 'object':
    case undefined:
      if (schema.properties || schema.additionalProperties !== undefined || schema.type === 'object') {
        return withNull(objectType(schema, indent), schema);
      }
      return 'unknown';
    default:
      return 'unknown';
  }
}

function wrap(t) {
  return needsParens(t) ? `(${t})` : t;
}

function withNull(t, schema) {
  return schema.nullable ? `${wrap(t)} | null` : t;
}

function objectType(schema, indent) {
  const props = schema.properties ?? {};
  const keys = Object.keys(props);
  const extra = schema.additionalProperties;
  if (keys.length === 0) {
    if (extra && extra !== true) return `Record<string, ${toTs(extra, indent)}>`;
    return 'Record<string, unknown>';
  }
  const required = new Set(schema.required ?? []);
  const inner = `${indent}  `;
  let out = '{\n';
  for (const k of keys) {
    const p = props[k];
    out += comment(docLines(p), inner);
    out += `${inner}${propKey(k)}${required.has(k) ? '' : '?'}: ${toTs(p, inner)};\n`;
  }
  if (extra) out += `${inner}[key: string]: ${extra === true ? 'unknown' : toTs(extra, inner)};\n`;
  return `${out}${indent}}`;
}

function schemaDecl(name, schema) {
  const tn = typeName(name);
  const doc = comment([`\`${name}\``, ...docLines(schema)], '');
  const isObject = (schema.type === 'object' || schema.type === undefined) && schema.properties && !schema.nullable;
  if (isObject) return `${doc}export interface ${tn} ${objectType(schema, '')}\n`;
  return `${doc}export type ${tn} = ${toTs(schema, '')};\n`;
}

function paramsType(params, where, indent) {
  const ps = params.filter((p) => p.in === where);
  if (ps.length === 0) return 'Record<string, never>';
  const inner = `${indent}  `;
  let out = '{\n';
  for (const p of ps) {
    out += comment(p.description ? [p.description] : [], inner);
    out += `${inner}${propKey(p.name)}${p.required ? '' : '?'}: ${toTs(p.schema, inner)};\n`;
  }
  return `${out}${indent}}`;
}

function jsonSchemaOf(content) {
  return content?.['application/json']?.schema;
}

function operations(doc) {
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op || typeof op !== 'object' || !op.operationId) continue; // the /openapi* routes have no operationId
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])];
      ops.push({ id: op.operationId, method: method.toUpperCase(), path, op, params });
    }
  }
  ops.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return ops;
}

function generate(doc, sourceNote) {
  const schemas = doc.components?.schemas ?? {};
  const names = Object.keys(schemas).sort();
  let out = '';
  out += '// generated by scripts/gen-slurm-client.mjs from slurmrestd\'s OpenAPI document — do not edit\n';
  out += `// source: ${sourceNote}; OpenAPI ${doc.openapi}, "${doc.info?.title}" version ${doc.info?.version}\n`;
  out += '// Regenerate: node scripts/gen-slurm-client.mjs (against a running slurmrestd) or --from <saved json>.\n';
  out += '// These are the types Slurm declares. Slurm 22.05 does not always honour them (values the document\n';
  out += '// calls strings or integers can come back as null, numbers or strings): read responses defensively.\n';
  out += '/* eslint-disable */\n\n';
  out += `export const SLURMRESTD_API_VERSION = ${JSON.stringify(`v${doc.info?.version}`)};\n\n`;
  for (const n of names) out += `${schemaDecl(n, schemas[n])}\n`;

  const ops = operations(doc);
  out += '/** Every operation of the document, by operationId: method, path, parameters, JSON body and 200 response. */\n';
  out += 'export interface SlurmrestdOperations {\n';
  for (const o of ops) {
    const body = jsonSchemaOf(o.op.requestBody?.content);
    const ok = o.op.responses?.['200'];
    const resp = jsonSchemaOf(ok?.content);
    out += comment([o.op.summary ?? '', `${o.method} ${o.path}`], '  ');
    out += `  ${o.id}: {\n`;
    out += `    method: ${JSON.stringify(o.method)};\n`;
    out += `    path: ${JSON.stringify(o.path)};\n`;
    out += `    pathParams: ${paramsType(o.params, 'path', '    ')};\n`;
    out += `    query: ${paramsType(o.params, 'query', '    ')};\n`;
    out += `    body: ${body ? toTs(body, '    ') : 'undefined'};\n`;
    out += `    response: ${resp ? toTs(resp, '    ') : 'unknown'};\n`;
    out += '  };\n';
  }
  out += '}\n\n';
  out += 'export type SlurmrestdOperationId = keyof SlurmrestdOperations;\n\n';
  out += '/** The same operations as values, for building requests at run time. */\n';
  out += 'export const SLURMRESTD_OPERATIONS: {\n';
  out += '  readonly [K in SlurmrestdOperationId]: { readonly method: SlurmrestdOperations[K][\'method\']; readonly path: SlurmrestdOperations[K][\'path\'] };\n';
  out += '} = {\n';
  for (const o of ops) out += `  ${o.id}: { method: ${JSON.stringify(o.method)}, path: ${JSON.stringify(o.path)} },\n`;
  out += '};\n';
  return out;
}

// ------------------------------------------------------------------------------------------------

async function main() {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const fromIdx = args.indexOf('--from');
  let doc;
  let sourceNote;
  if (check || fromIdx >= 0) {
    const file = fromIdx >= 0 ? args[fromIdx + 1] : JSON_OUT;
    if (!file) throw new Error('--from needs a file');
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } else {
    doc = await fetchDocument();
    mkdirSync(OUT_DIR, { recursive: true });
    writeFileSync(JSON_OUT, `${JSON.stringify(doc, null, 2)}\n`);
    console.error(`saved ${relative(ROOT, JSON_OUT)}`);
  }
  // The note names the saved document (not a URL or time) so regenerating is byte-for-byte stable.
  sourceNote = `slurmrestd GET /openapi/v3, saved as ${relative(ROOT, JSON_OUT)}`;
  const ts = generate(doc, sourceNote);
  if (check) {
    const current = readFileSync(TS_OUT, 'utf8');
    if (current !== ts) {
      console.error(`${relative(ROOT, TS_OUT)} is out of date: run node scripts/gen-slurm-client.mjs --from ${relative(ROOT, JSON_OUT)}`);
      process.exit(1);
    }
    console.error(`${relative(ROOT, TS_OUT)} is up to date`);
    return;
  }
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(TS_OUT, ts);
  console.error(`generated ${relative(ROOT, TS_OUT)}: ${Object.keys(doc.components?.schemas ?? {}).length} schemas, ${operations(doc).length} operations`);
}

main().catch((err) => {
  console.error(`gen-slurm-client: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
