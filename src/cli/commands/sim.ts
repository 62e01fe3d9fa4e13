import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import cliProgress from 'cli-progress';
import { Command } from 'commander';
import { UnidleError } from '../../domain/errors.js';
import { isPolicyName, policyNames } from '../../scheduler/policy-registry.js';
import {
  DEFAULT_INFLATE,
  formatSeeds,
  lowestUnallocated,
  meanCurves,
  perPodCurveCsv,
  runOpenbExperiment,
  toJsonText,
  type OpenbExperiment,
  type OpenbRunResult,
} from '../../sim/openb/experiment.js';
import { PUBLISHED_OPENB, publishedPodListName, type PublishedPolicy } from '../../sim/openb/published-results.js';
import { curvesToCsv, curvesToSvg } from '../../sim/openb/report-files.js';
import { readOpenbNodeList, readOpenbPodList, TraceFormatError, type OpenbNode, type OpenbPod } from '../../sim/openb/trace-reader.js';
import { examples, type CliContext } from '../context.js';
import { formatDurationMs, formatNumber, renderTable } from '../format.js';
import { UsageError, writeLine, type CliIo } from '../io.js';
import { registerSimEnergyCommand } from './sim-energy.js';

const DEFAULT_POLICIES = 'fgd,unidle';
const DEFAULT_SEEDS = '42-51';
const MAX_INFLATE = 10;
/** More runs than anyone waits for (each is ~1-3 s on openb); a typo like 1-100000 fails fast instead. */
const MAX_SEEDS = 1000;

export interface SimOpenbFlags {
  nodes: string;
  pods: string;
  policies: string;
  seeds: string;
  inflate: string;
  json?: boolean;
  out?: string;
}

/** `--policies fgd,unidle` → names, each known to the registry; a UsageError listing the known ones otherwise. */
export function parsePolicies(raw: string): string[] {
  const names = raw.split(',').map((p) => p.trim()).filter(Boolean);
  if (names.length === 0) throw new UsageError(`--policies takes a comma list of ${policyNames().join(', ')}`);
  const unknown = names.filter((n) => !isPolicyName(n));
  if (unknown.length) throw new UsageError(`unknown policy ${unknown.map((n) => `"${n}"`).join(', ')} in --policies; known: ${policyNames().join(', ')}`);
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length) throw new UsageError(`--policies lists ${twice[0]} twice`);
  return names;
}

/** `--seeds 42`, `42-51`, `1,5,9` or a mix (`1,5-7`) → the seeds in the given order; a UsageError otherwise. */
export function parseSeeds(raw: string): number[] {
  const bad = (why: string) => new UsageError(`--seeds ${why} (got "${raw}"); use e.g. 42, 42-51 or 1,5,9`);
  const seeds: number[] = [];
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.every((p) => p === '')) throw bad('needs at least one seed');
  for (const part of parts) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw bad(`takes whole numbers ≥ 0 and ranges A-B, separated by commas: "${part}" is neither`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) throw bad(`"${part}" is too large`);
    if (to < from) throw bad(`range "${part}" runs backwards`);
    if (to - from + 1 + seeds.length > MAX_SEEDS) throw bad(`allows at most ${MAX_SEEDS} seeds`);
    for (let s = from; s <= to; s++) {
      if (seeds.includes(s)) throw bad(`lists seed ${s} twice`);
      seeds.push(s);
    }
  }
  return seeds;
}

/** `--inflate 1.3` → a number > 0 and ≤ 10. */
export function parseInflate(raw: string): number {
  const n = Number(raw);
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(raw) || !Number.isFinite(n) || n <= 0 || n > MAX_INFLATE) {
    throw new UsageError(`--inflate must be a number above 0 and at most ${MAX_INFLATE} (the published method uses 1.3), got "${raw}"`);
  }
  return n;
}

/** Reads a trace file; a missing or unreadable file or a bad row is a UsageError (exit 2) naming it. */
function readTrace<T>(flag: string, path: string, read: (path: string) => T): T {
  try {
    return read(path);
  } catch (err) {
    if (err instanceof TraceFormatError) throw new UsageError(`${flag} ${err.message}`);
    if (err instanceof UnidleError) throw new UsageError(`${flag} ${path}: ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${flag}: no such file: ${path}`);
    if (code === 'EISDIR') throw new UsageError(`${flag}: ${path} is a directory, expected a CSV file`);
    if (code) throw new UsageError(`${flag}: cannot read ${path} (${code})`);
    throw err;
  }
}

function fmt2(v: number | null): string {
  return v === null ? '-' : v.toFixed(2);
}

function runLine(r: OpenbRunResult): string {
  const head = `${r.policy} seed ${r.seed}: `;
  const what =
    r.unallocatedPctAt100 === null ? 'arrived workload never reached 100%' : `${r.unallocatedPctAt100.toFixed(2)}% unallocated at arrived 100%`;
  return `${head}${what} (${formatNumber(r.arrivals)} arrivals, ${formatNumber(r.wallMs)} ms)`;
}

/** The table people read: one row per policy. */
export function experimentTable(experiment: OpenbExperiment): string {
  const single = experiment.seeds.length < 2;
  const rows = experiment.summary.map((s) => [
    s.policy,
    single || s.unallocatedPctAt100.sd === null ? fmt2(s.unallocatedPctAt100.mean) : `${fmt2(s.unallocatedPctAt100.mean)} ± ${fmt2(s.unallocatedPctAt100.sd)}`,
    fmt2(s.allocPctAt['90']),
    fmt2(s.allocPctAt['100']),
    fmt2(s.allocPctAt['130']),
    formatNumber(Math.round(s.placements)),
    formatNumber(s.wallMs),
  ]);
  return renderTable(
    ['POLICY', single ? 'UNALLOC % @100' : 'UNALLOC % @100 (MEAN ± SD)', 'ALLOC % @90', 'ALLOC % @100', 'ALLOC % @130', 'PLACEMENTS', 'MS/RUN'],
    rows,
    { alignRight: [1, 2, 3, 4, 5, 6] },
  );
}

/** The lines after the table: the winner, and the paper's numbers when this is one of its experiments. */
export function experimentFooter(experiment: OpenbExperiment, podsPath: string): string[] {
  const lines: string[] = [];
  const best = lowestUnallocated(experiment);
  if (best.length > 0) {
    const value = best[0]!.unallocatedPctAt100.mean!.toFixed(2);
    lines.push(`lowest unallocated GPU % at arrived 100%: ${best.map((b) => b.policy).join(', ')} (${value}%)`);
  } else {
    lines.push('no policy reached arrived 100% (raise --inflate to at least 1)');
  }
  const listName = publishedPodListName(podsPath);
  const published = Object.hasOwn(PUBLISHED_OPENB, listName) ? PUBLISHED_OPENB[listName] : undefined;
  if (published && experiment.gpus === 6212 && experiment.inflate === 1.3) {
    const known = experiment.policies.filter((p): p is PublishedPolicy => Object.hasOwn(published, p));
    if (known.length > 0) {
      lines.push(
        `published (FGD, ATC'23, seeds 42-51): ${known.map((p) => `${p} ${published[p].unallocatedPctAt100.toFixed(2)} ± ${published[p].sd.toFixed(2)}`).join(', ')}`,
      );
    }
  }
  return lines;
}

/** One bar over all runs on a terminal; one line per finished run otherwise. */
function progressReporter(io: CliIo, runs: number) {
  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  if (!tty) {
    return {
      onRunEnd: (r: OpenbRunResult) => writeLine(io.stderr, runLine(r)),
      stop: () => {},
    };
  }
  const steps = 1000; // per run
  const multi = new cliProgress.MultiBar(
    {
      stream: io.stderr as NodeJS.WritableStream,
      // Our own ETA from the elapsed time: the built-in one shows "LLs" until it has two samples.
      format: ' {bar} {percentage}% | run {run}/{runs}: {label} | ETA {left}',
      clearOnComplete: true,
      hideCursor: false,
      gracefulExit: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const totalSteps = runs * steps;
  const started = Date.now();
  const bar = multi.create(totalSteps, 0, { run: 1, runs, label: '', left: '…' });
  let lastDraw = 0;
  const set = (value: number, payload: Record<string, unknown> = {}, force = false) => {
    const now = Date.now();
    const fraction = value / totalSteps;
    const left = fraction > 0.01 ? formatDurationMs(((now - started) * (1 - fraction)) / fraction) : '…';
    bar.update(value, { ...payload, left });
    if (force || now - lastDraw >= 100) {
      lastDraw = now;
      multi.update();
    }
  };
  return {
    onRunStart: (info: { policy: string; seed: number; index: number }) =>
      set(info.index * steps, { run: info.index + 1, label: `${info.policy} seed ${info.seed}` }, true),
    onProgress: (info: { index: number }, done: number, total: number) =>
      set(info.index * steps + Math.floor((done / Math.max(1, total)) * steps)),
    onRunEnd: (r: OpenbRunResult, info: { index: number }) => {
      multi.log(`${runLine(r)}\n`);
      set((info.index + 1) * steps, {}, true);
    },
    stop: () => multi.stop(),
  };
}

export function registerSimCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const sim = program
    .command('sim')
    .summary('run simulations locally (no server)')
    .description('Simulations that run on this machine, without a server or an API key.');

  sim
    .command('openb')
    .summary('replay the published openb placement experiment')
    .description(
      "Replay the openb placement experiment of the FGD paper (Weng et al., USENIX ATC'23) with Unidle's policies.\n" +
        'Each seed shuffles the pod list, inflates it to --inflate x GPU capacity and places it pod by pod on an empty ' +
        'cluster (nothing departs); the score is the unallocated GPU % when arrived workload reaches 100% of capacity.',
    )
    .requiredOption('--nodes <file>', 'node list CSV (sn,cpu_milli,memory_mib,gpu,model)')
    .requiredOption('--pods <file>', 'pod list CSV (name,cpu_milli,memory_mib,num_gpu[,gpu_milli,gpu_spec])')
    .option('--policies <list>', `comma list of ${policyNames().join(', ')}`, DEFAULT_POLICIES)
    .option('--seeds <spec>', 'seeds: 42, 42-51, 1,5,9 or a mix', DEFAULT_SEEDS)
    .option('--inflate <x>', 'total GPU demand as a multiple of capacity, above 0 and at most 10', String(DEFAULT_INFLATE))
    .option('--json', 'print one JSON object (runs and summary) instead of the table')
    .option('--out <dir>', 'also write curve.csv (per pod), mean-curve.csv, unallocated.svg and summary.json there')
    .addHelpText(
      'after',
      examples([
        'unidle sim openb --nodes ../shared/traces/openb/openb_node_list_gpu_node.csv \\',
        '    --pods ../shared/traces/openb/openb_pod_list_default.csv --policies best-fit,fgd --seeds 42-51 --out sim-out',
        'unidle sim openb --nodes NODES.csv --pods PODS.csv --policies fgd,unidle --seeds 42 --json',
      ]) +
        '\nProgress goes to stderr; with --json stdout holds only the JSON. Same inputs and seeds give the same\n' +
        'numbers; only wallMs varies. Exit codes: 0 ok, 2 bad flags or trace files.\n',
    )
    .action((flags: SimOpenbFlags) => {
      const policies = parsePolicies(flags.policies);
      const seeds = parseSeeds(flags.seeds);
      const inflate = parseInflate(flags.inflate);
      const nodes: OpenbNode[] = readTrace('--nodes', flags.nodes, readOpenbNodeList);
      const pods: OpenbPod[] = readTrace('--pods', flags.pods, readOpenbPodList);
      const gpus = nodes.reduce((sum, n) => sum + n.gpus, 0);
      if (gpus === 0) throw new UsageError(`--nodes ${flags.nodes}: no node has a GPU`);
      if (!pods.some((p) => p.gpuCount > 0 && p.milliPerGpu > 0)) throw new UsageError(`--pods ${flags.pods}: no pod asks for a GPU`);
      if (flags.out !== undefined) {
        try {
          mkdirSync(flags.out, { recursive: true });
        } catch (err) {
          throw new UsageError(`--out: cannot create directory ${flags.out} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
        }
      }

      const runs = policies.length * seeds.length;
      writeLine(
        io.stderr,
        `openb: ${formatNumber(gpus)} GPUs on ${formatNumber(nodes.length)} nodes, ${formatNumber(pods.length)} pods inflated to ${Number((inflate * 100).toFixed(6))}% of capacity; ` +
          `${runs} run${runs === 1 ? '' : 's'} (${policies.join(', ')} × seeds ${formatSeeds(seeds)})`,
      );
      const progress = progressReporter(io, runs);
      let experiment: OpenbExperiment;
      try {
        experiment = runOpenbExperiment({ nodes, pods, policies, seeds, inflate, ...progress });
      } catch (err) {
        if (err instanceof UnidleError && err.code === 'validation_failed') throw new UsageError(err.message);
        throw err;
      } finally {
        progress.stop();
      }

      const json = toJsonText(experiment);
      if (flags.out !== undefined) {
        const series = meanCurves(experiment);
        const title = `Unallocated GPU: ${basename(flags.pods)}, seeds ${formatSeeds(seeds)}`;
        const files: [string, string][] = [
          ['curve.csv', perPodCurveCsv(experiment)],
          ['mean-curve.csv', curvesToCsv(series)],
          ['unallocated.svg', curvesToSvg(series, { title, arrivedFromPct: 80 })],
          ['summary.json', json],
        ];
        for (const [name, text] of files) writeFileSync(join(flags.out, name), text);
        writeLine(io.stderr, `wrote ${files.map(([name]) => join(flags.out!, name)).join(', ')}`);
      }
      if (flags.json) {
        io.stdout.write(json);
        return;
      }
      writeLine(io.stdout, experimentTable(experiment));
      for (const line of experimentFooter(experiment, flags.pods)) writeLine(io.stdout, line);
    });

  registerSimEnergyCommand(sim, io);
}
