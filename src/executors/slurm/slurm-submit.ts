/**
 * Pure translation of a SlurmSubmit into what each adapter sends: the REST v0.0.38 job properties, or
 * sbatch arguments plus the environment sbatch runs with. Both say the same thing to Slurm.
 */
import { invalid, invalidMany, type FieldProblem } from '../../domain/errors.js';
import type { V0038JobProperties } from './gen/slurmrestd-v0.0.38.js';
import type { SlurmSubmit } from './slurm-api.js';

/**
 * v0.0.38 job properties as slurmrestd 22.05 really reads them (checked on the dev cluster):
 * - `nodelist`: accepted like sbatch --nodelist, though the document does not list it (and answers its own
 *   `required_nodes` with "Disabled key");
 * - `nodes`: the document says `[min, max]`, but an array is silently ignored (the job gets 1 node); a
 *   number or a count string ("2", "2-4") works.
 */
export type SubmitJobProperties = Omit<V0038JobProperties, 'nodes'> & { nodelist?: string; nodes?: number | string };

const GRES = /^[a-z][a-z0-9_]*(:[A-Za-z0-9_.-]+)?(:\d+)?(,[a-z][a-z0-9_]*(:[A-Za-z0-9_.-]+)?(:\d+)?)*$/;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function positiveInt(problems: FieldProblem[], field: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) problems.push({ field, message: 'must be a positive integer' });
}

/** Rejects what Slurm would reject less clearly (or misread: a comma inside a name, an empty path). */
export function validateSubmit(req: SlurmSubmit): void {
  const problems: FieldProblem[] = [];
  if (!req.name || /[\n\r]/.test(req.name)) problems.push({ field: 'name', message: 'must be a non-empty single line' });
  if (!req.script.startsWith('#!')) problems.push({ field: 'script', message: 'must start with a #! line (sbatch requires it)' });
  if (!req.partition || !NODE_NAME.test(req.partition)) problems.push({ field: 'partition', message: 'must be a partition name' });
  if (req.nodeList) {
    if (req.nodeList.length === 0) problems.push({ field: 'nodeList', message: 'must not be empty when given' });
    req.nodeList.forEach((n, i) => {
      if (!NODE_NAME.test(n)) problems.push({ field: `nodeList.${i}`, message: `"${n}" is not a node name` });
    });
  }
  positiveInt(problems, 'nodes', req.nodes);
  positiveInt(problems, 'cpusPerTask', req.cpusPerTask);
  positiveInt(problems, 'memoryPerNodeMiB', req.memoryPerNodeMiB);
  positiveInt(problems, 'timeLimitMinutes', req.timeLimitMinutes);
  if (req.gres !== undefined && !GRES.test(req.gres)) problems.push({ field: 'gres', message: `"${req.gres}" is not a gres spec like gpu:h100:2 or shard:2` });
  for (const [field, path] of [['workDir', req.workDir], ['stdoutPath', req.stdoutPath], ['stderrPath', req.stderrPath]] as const) {
    if (!path.startsWith('/')) problems.push({ field, message: 'must be an absolute path' });
  }
  for (const key of Object.keys(req.environment)) {
    if (!ENV_NAME.test(key)) problems.push({ field: `environment.${key}`, message: 'is not a valid variable name' });
  }
  if (problems.length === 1) throw invalid(problems[0]!.field, problems[0]!.message);
  if (problems.length > 1) throw invalidMany(problems);
}

/**
 * The `job` object of POST /slurm/v0.0.38/job/submit. The environment is the job's, plus SLURM_CONF when
 * given and the job sets none (as the CLI path does: `srun` inside the job needs it where nodes have no
 * /etc/slurm/slurm.conf, as on the dev cluster).
 */
export function toJobProperties(req: SlurmSubmit, ctx: { slurmConf?: string | undefined } = {}): SubmitJobProperties {
  validateSubmit(req);
  const environment: Record<string, string> = { ...req.environment };
  if (ctx.slurmConf !== undefined && environment.SLURM_CONF === undefined) environment.SLURM_CONF = ctx.slurmConf;
  const job: SubmitJobProperties = {
    name: req.name,
    partition: req.partition,
    current_working_directory: req.workDir,
    standard_output: req.stdoutPath,
    standard_error: req.stderrPath,
    environment,
  };
  if (req.nodeList) job.nodelist = req.nodeList.join(',');
  if (req.nodes !== undefined) job.nodes = req.nodes;
  if (req.gres !== undefined) job.gres = req.gres;
  if (req.cpusPerTask !== undefined) job.cpus_per_task = req.cpusPerTask;
  if (req.memoryPerNodeMiB !== undefined) job.memory_per_node = req.memoryPerNodeMiB;
  if (req.timeLimitMinutes !== undefined) job.time_limit = req.timeLimitMinutes;
  if (req.requeue !== undefined) job.requeue = req.requeue;
  return job;
}

/**
 * `sbatch` arguments (the script goes to stdin) and the environment to run sbatch with. sbatch exports its
 * own environment to the job (--export=ALL), so that environment is exactly the job's, plus SLURM_CONF
 * (sbatch needs it to find the cluster) and PATH when the job sets none (to find sbatch itself).
 */
export function toSbatchInvocation(
  req: SlurmSubmit,
  ctx: { slurmConf?: string | undefined; fallbackPath?: string | undefined } = {},
): { args: string[]; env: Record<string, string> } {
  validateSubmit(req);
  const args = [
    '--parsable',
    `--job-name=${req.name}`,
    `--partition=${req.partition}`,
    `--chdir=${req.workDir}`,
    `--output=${req.stdoutPath}`,
    `--error=${req.stderrPath}`,
  ];
  if (req.nodeList) args.push(`--nodelist=${req.nodeList.join(',')}`);
  if (req.nodes !== undefined) args.push(`--nodes=${req.nodes}`);
  if (req.gres !== undefined) args.push(`--gres=${req.gres}`);
  if (req.cpusPerTask !== undefined) args.push(`--cpus-per-task=${req.cpusPerTask}`);
  if (req.memoryPerNodeMiB !== undefined) args.push(`--mem=${req.memoryPerNodeMiB}M`);
  if (req.timeLimitMinutes !== undefined) args.push(`--time=${req.timeLimitMinutes}`);
  if (req.requeue !== undefined) args.push(req.requeue ? '--requeue' : '--no-requeue');
  args.push('--export=ALL');
  const env: Record<string, string> = { ...req.environment };
  if (ctx.slurmConf !== undefined && env.SLURM_CONF === undefined) env.SLURM_CONF = ctx.slurmConf;
  if (env.PATH === undefined && ctx.fallbackPath !== undefined) env.PATH = ctx.fallbackPath;
  return { args, env };
}

/** sbatch --parsable prints 'jobid' or 'jobid;cluster'. */
export function parseSbatchParsable(stdout: string): number {
  const m = /^(\d+)(;\S+)?\s*$/m.exec(stdout.trim());
  if (!m) throw new Error(`unexpected sbatch output: ${JSON.stringify(stdout.slice(0, 200))}`);
  return Number(m[1]);
}
