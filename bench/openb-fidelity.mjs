#!/usr/bin/env node
// Fidelity check against the published FGD results (USENIX ATC'23) on every openb pod list, and the
// unidle-vs-fgd comparison, seeds 42-51, inflation 1.3. Reads the trace from the folder the user
// gives (default ../shared/traces/openb) and says so and stops when it is absent.
//
//   npm run build && node bench/openb-fidelity.mjs [--trace-dir DIR] [--seeds 42-51] [--lists default,cpu050]
//   node bench/openb-fidelity.mjs --from DIR     # summarise saved `unidle sim openb --json` outputs (DIR/<list>.json)
//
// Prints a markdown table (ours, published, difference) and writes bench/results/openb-fidelity.json.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runOpenbExperiment, toJson } from '../dist/sim/openb/experiment.js';
import { PUBLISHED_OPENB } from '../dist/sim/openb/published-results.js';
import { readOpenbNodeList, readOpenbPodList } from '../dist/sim/openb/trace-reader.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'trace-dir': { type: 'string', default: resolve(root, '../shared/traces/openb') },
    seeds: { type: 'string', default: '42-51' },
    lists: { type: 'string' },
    from: { type: 'string' },
  },
});

const POLICIES = ['random', 'dotprod', 'gpu-clustering', 'gpu-packing', 'best-fit', 'fgd', 'unidle'];
/** The issue's tolerance: baselines within 1.0 point of the published mean, fgd within 0.5. */
const TOLERANCE = { random: 1, dotprod: 1, 'gpu-clustering': 1, 'gpu-packing': 1, 'best-fit': 1, fgd: 0.5 };

function seedList(spec) {
  const [a, b] = spec.split('-').map(Number);
  return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
}

function listNames(dir) {
  return readdirSync(dir)
    .filter((f) => /^openb_pod_list_.+\.csv$/.test(f))
    .map((f) => f.slice('openb_pod_list_'.length, -'.csv'.length))
    .sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b, 'en', { numeric: true })));
}

const results = {};
if (values.from) {
  for (const f of readdirSync(values.from).filter((f) => f.endsWith('.json'))) {
    const text = readFileSync(join(values.from, f), 'utf8');
    if (text.trim()) results[f.slice(0, -5)] = JSON.parse(text);
  }
} else {
  const dir = values['trace-dir'];
  if (!existsSync(join(dir, 'openb_node_list_gpu_node.csv'))) {
    console.log(`openb trace not found in ${dir}: skipping the fidelity check (give --trace-dir)`);
    process.exit(0);
  }
  const nodes = readOpenbNodeList(join(dir, 'openb_node_list_gpu_node.csv'));
  const seeds = seedList(values.seeds);
  for (const list of values.lists ? values.lists.split(',') : listNames(dir)) {
    const pods = readOpenbPodList(join(dir, `openb_pod_list_${list}.csv`));
    process.stderr.write(`${list}: ${POLICIES.length} policies x ${seeds.length} seeds ...`);
    const started = Date.now();
    results[list] = toJson(runOpenbExperiment({ nodes, pods, policies: POLICIES, seeds }));
    process.stderr.write(` ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
}

const rows = [];
const worst = {};
let unidleWinsEverywhere = true;
for (const list of Object.keys(results).sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b, 'en', { numeric: true })))) {
  const summary = Object.fromEntries(results[list].summary.map((s) => [s.policy, s]));
  const published = PUBLISHED_OPENB[list];
  const row = { list, ours: {}, published: {}, diff: {} };
  for (const policy of POLICIES) {
    const ours = summary[policy]?.unallocatedPctAt100;
    if (!ours) continue;
    row.ours[policy] = ours;
    const pub = published?.[policy];
    if (pub) {
      row.published[policy] = pub.unallocatedPctAt100;
      row.diff[policy] = +(ours.mean - pub.unallocatedPctAt100).toFixed(2);
      worst[policy] = Math.max(worst[policy] ?? 0, Math.abs(row.diff[policy]));
    }
  }
  row.unidleBeatsFgd = row.ours.unidle && row.ours.fgd ? row.ours.unidle.mean < row.ours.fgd.mean : null;
  if (row.unidleBeatsFgd === false) unidleWinsEverywhere = false;
  rows.push(row);
}

const cell = (row, policy) => {
  const o = row.ours[policy];
  if (!o) return '–';
  const p = row.published[policy];
  return p === undefined ? o.mean.toFixed(2) : `${o.mean.toFixed(2)} (${p.toFixed(2)})`;
};
console.log(`| pod list | ${POLICIES.join(' | ')} |`);
console.log(`| --- | ${POLICIES.map(() => '---').join(' | ')} |`);
for (const row of rows) console.log(`| ${row.list} | ${POLICIES.map((p) => (p === 'unidle' ? `**${cell(row, p)}**` : cell(row, p))).join(' | ')} |`);
console.log('\nunallocated GPU % at arrived 100%, mean of the seeds; (published mean) where the paper has the list');
const within = Object.fromEntries(Object.entries(TOLERANCE).map(([p, t]) => [p, (worst[p] ?? 0) <= t]));
console.log('largest |ours - published|:', Object.entries(worst).map(([p, w]) => `${p} ${w.toFixed(2)}${w <= TOLERANCE[p] ? '' : ' (OUT OF TOLERANCE)'}`).join(', '));
console.log(`unidle below fgd on every list: ${unidleWinsEverywhere}`);

mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(
  join(root, 'bench/results/openb-fidelity.json'),
  `${JSON.stringify({ when: new Date().toISOString(), tolerance: TOLERANCE, largestGap: worst, withinTolerance: within, unidleBeatsFgdOnEveryList: unidleWinsEverywhere, rows }, null, 2)}\n`,
);
