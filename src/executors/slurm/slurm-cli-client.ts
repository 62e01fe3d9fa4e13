/**
 * SlurmApi over Slurm's command-line tools: sbatch --parsable, squeue/sinfo/sacct --json, scancel,
 * scontrol. The JSON of squeue/sinfo/sacct is the same v0.0.38 shape slurmrestd serves, so both adapters
 * share the mappers of slurm-records.ts. Programs run without a shell; SLURM_CONF (option or environment)
 * names the cluster.
 */
import { spawn } from 'node:child_process';
import {
  SlurmError,
  SlurmUnavailableError,
  type SlurmAccountingQuery,
  type SlurmAccountingRecord,
  type SlurmApi,
  type SlurmJob,
  type SlurmNode,
  type SlurmPing,
  type SlurmSignal,
  type SlurmSubmit,
} from './slurm-api.js';
import {
  filterActiveSince,
  isControllerUnreachable,
  mapAccountingJobs,
  mapJobs,
  mapNodes,
  mergeExitStatus,
  parseSacctExitCodes,
  parseScontrolPing,
  responseErrors,
  slurmTimeArg,
} from './slurm-records.js';
import { parseSbatchParsable, toSbatchInvocation } from './slurm-submit.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when killed by a signal (or the timeout). */
  code: number | null;
}

/** Runs a program without a shell. Rejects only when it cannot be started (error.code ENOENT etc.). */
export type CommandRunner = (
  file: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; input?: string; timeoutMs: number },
) => Promise<CommandResult>;

export const spawnRunner: CommandRunner = (file, args, options) =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env, stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code }));
    child.stdin.on('error', () => {}); // the program may exit before reading its input
    child.stdin.end(options.input ?? '');
  });

export interface SlurmCliOptions {
  /** slurm.conf for every call; default: SLURM_CONF of the environment (Slurm's own default without it). */
  slurmConf?: string;
  /** Directory holding sbatch, squeue…; default: found on PATH. */
  binDir?: string;
  /** Per command. Default 30 s. */
  timeoutMs?: number;
  /** Environment the commands run with (except sbatch, which gets the job's). Default process.env. */
  env?: NodeJS.ProcessEnv;
  run?: CommandRunner;
}

/** stderr texts that mean "the controller / database can't be reached" rather than "your request is wrong". */
const UNAVAILABLE =
  /Unable to contact slurm controller|Socket timed out|Connection refused|Zero Bytes were transmitted|Problem talking to the database|Unable to establish a connection|slurm_persist_conn_open|Munge (en|de)code failed|Could not establish a configuration source|Could not open configuration file|Unable to connect to database|Connection timed out|Slurm accounting storage is disabled/i;

export class SlurmCliClient implements SlurmApi {
  readonly kind = 'cli' as const;
  private readonly run: CommandRunner;
  private readonly env: NodeJS.ProcessEnv;
  private readonly slurmConf: string | undefined;

  constructor(private readonly opts: SlurmCliOptions = {}) {
    this.run = opts.run ?? spawnRunner;
    this.env = opts.env ?? process.env;
    this.slurmConf = opts.slurmConf ?? this.env.SLURM_CONF;
  }

  private bin(name: string): string {
    return this.opts.binDir ? `${this.opts.binDir.replace(/\/+$/, '')}/${name}` : name;
  }

  /** Runs a Slurm command; throws SlurmUnavailableError / SlurmError on failure, else returns its output. */
  private async exec(
    name: string,
    args: readonly string[],
    extra: { env?: NodeJS.ProcessEnv; input?: string; okStderr?: RegExp } = {},
  ): Promise<CommandResult> {
    const env = extra.env ?? { ...this.env, ...(this.slurmConf ? { SLURM_CONF: this.slurmConf } : {}) };
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    let res: CommandResult;
    try {
      res = await this.run(this.bin(name), args, { env, timeoutMs, ...(extra.input !== undefined ? { input: extra.input } : {}) });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new SlurmUnavailableError(
        code === 'ENOENT'
          ? `${name} not found${this.opts.binDir ? ` in ${this.opts.binDir}` : ' on PATH'}: install the Slurm client (dev: scripts/slurm-dev-cluster.sh start)`
          : `${name} could not be started: ${err instanceof Error ? err.message : String(err)}`,
        err,
      );
    }
    const cmd = `${name} ${args.join(' ')}`.trim();
    const stderr = res.stderr.trim();
    if (res.code === null) throw new SlurmUnavailableError(`${cmd}: no answer within ${timeoutMs} ms (killed)`);
    if (UNAVAILABLE.test(stderr) && !(extra.okStderr && extra.okStderr.test(stderr))) {
      throw new SlurmUnavailableError(`${cmd}: Slurm is unavailable: ${lastLines(stderr)}`);
    }
    if (res.code !== 0) {
      if (/Invalid job id specified/i.test(stderr)) throw new SlurmError('not_found', `${cmd}: ${lastLines(stderr)}`, [stderr]);
      throw new SlurmError('rejected', `${cmd} exited with ${res.code}: ${lastLines(stderr) || res.stdout.trim().slice(0, 300)}`, [stderr]);
    }
    return res;
  }

  private async json(name: string, args: readonly string[]): Promise<unknown> {
    const res = await this.exec(name, args);
    let body: unknown;
    try {
      body = JSON.parse(res.stdout);
    } catch {
      throw new SlurmError('protocol', `${name} ${args.join(' ')}: output is not JSON: ${res.stdout.slice(0, 200)}`);
    }
    const errors = responseErrors(body);
    if (isControllerUnreachable(errors)) {
      throw new SlurmUnavailableError(`${name} ${args.join(' ')}: slurmctld did not answer (${errors.map((e) => e.text).join('; ')})`);
    }
    if (errors.length > 0) throw new SlurmError('rejected', `${name}: ${errors.map((e) => e.text).join('; ')}`, errors.map((e) => e.text));
    return body;
  }

  async ping(): Promise<SlurmPing> {
    // `scontrol ping` exits 1 when a controller is DOWN; its output still says which.
    let out: string;
    try {
      out = (await this.exec('scontrol', ['ping'])).stdout;
    } catch (err) {
      if (err instanceof SlurmError) throw new SlurmUnavailableError(`scontrol ping: ${err.message}`, err);
      throw err;
    }
    const ping = parseScontrolPing(out);
    if (!ping.controllers.some((c) => c.up)) throw new SlurmUnavailableError(`no slurmctld is up: ${out.trim()}`);
    return ping;
  }

  async listNodes(): Promise<SlurmNode[]> {
    return mapNodes((await this.json('sinfo', ['--json'])) as Parameters<typeof mapNodes>[0]);
  }

  async submit(req: SlurmSubmit): Promise<{ jobId: number }> {
    const { args, env } = toSbatchInvocation(req, { slurmConf: this.slurmConf, fallbackPath: this.env.PATH });
    const res = await this.exec('sbatch', args, { env, input: req.script });
    try {
      return { jobId: parseSbatchParsable(res.stdout) };
    } catch (err) {
      throw new SlurmError('protocol', err instanceof Error ? err.message : String(err));
    }
  }

  /** squeue --json lists every job the controller knows, whatever the filters (22.05 ignores them). */
  async listJobs(): Promise<SlurmJob[]> {
    return mapJobs((await this.json('squeue', ['--json'])) as Parameters<typeof mapJobs>[0]);
  }

  async cancel(jobId: number, signal?: SlurmSignal): Promise<void> {
    // Plain scancel exits 0 even for an unknown job id; -v makes it say so on stderr.
    const args = signal ? ['-v', '--full', `--signal=${signal}`, String(jobId)] : ['-v', String(jobId)];
    let res: CommandResult;
    try {
      res = await this.exec('scancel', args);
    } catch (err) {
      if (err instanceof SlurmError && /already completing or completed/i.test(err.slurmErrors.join('\n'))) return;
      throw err;
    }
    if (/Invalid job id specified/i.test(res.stderr)) throw new SlurmError('not_found', `scancel ${jobId}: invalid job id`, [res.stderr.trim()]);
  }

  async requeue(jobId: number): Promise<void> {
    await this.exec('scontrol', ['requeue', String(jobId)]);
  }

  async accounting(query: SlurmAccountingQuery = {}): Promise<SlurmAccountingRecord[]> {
    if (query.jobIds && query.jobIds.length === 0) return [];
    const select = query.jobIds ? ['-j', query.jobIds.join(',')] : ['-S', slurmTimeArg(query.sinceMs ?? 0), '-E', 'now'];
    const [body, text] = await Promise.all([
      this.json('sacct', ['--json', '-D', ...select]),
      // 22.05's JSON has every normal exit as 0 (see accountingExitStatus): the text output has it right.
      this.exec('sacct', ['-n', '-P', '-X', '-D', '-o', 'JobIDRaw,State,ExitCode', ...select]),
    ]);
    const rows = (body as { jobs?: Parameters<typeof mapAccountingJobs>[0] }).jobs;
    const records = mergeExitStatus(mapAccountingJobs(rows), parseSacctExitCodes(text.stdout));
    return filterActiveSince(records, query.sinceMs);
  }
}

function lastLines(s: string, n = 3): string {
  return s.split(/\r?\n/).filter(Boolean).slice(-n).join(' | ').slice(0, 500);
}

/** From the environment: SLURM_CONF (and PATH for the programs). */
export function slurmCliClientFromEnv(env: NodeJS.ProcessEnv = process.env, extra: Partial<SlurmCliOptions> = {}): SlurmCliClient {
  return new SlurmCliClient({ env, ...(env.SLURM_CONF ? { slurmConf: env.SLURM_CONF } : {}), ...extra });
}
