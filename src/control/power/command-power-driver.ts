import { spawn } from 'node:child_process';
import { PowerDriverError, type NodePowerDriver, type PowerTarget } from './node-power-driver.js';

export interface CommandPowerDriverOptions {
  /** Shell command that powers a node down, e.g. `ipmitool -H "$UNIDLE_NODE_HOSTNAME-bmc" … chassis power soft`. */
  parkCommand: string;
  /** Shell command that powers a node up, e.g. `ipmitool … chassis power on` or a Redfish POST. */
  wakeCommand: string;
  /** Optional: exits 0 once the node is up (e.g. `ping -c1 -W1 "$UNIDLE_NODE_HOSTNAME"`); without it the agent's heartbeat says so. */
  statusCommand?: string;
  /** A command running longer than this is killed and counts as failed; default 120 s. */
  timeoutMs?: number;
  /** Extra environment for the commands (tests; credentials files). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Operator-given shell commands (ipmitool, Redfish via curl, a site script): the node is passed in
 * the environment as UNIDLE_NODE_ID, UNIDLE_NODE_NAME and UNIDLE_NODE_HOSTNAME, never spliced into
 * the command text, so a node name cannot inject shell syntax. A non-zero exit or a timeout is a
 * failure, reported with the end of the command's stderr.
 */
export function commandPowerDriver(options: CommandPowerDriverOptions): NodePowerDriver {
  if (!options.parkCommand.trim()) throw new RangeError('the park command is empty');
  if (!options.wakeCommand.trim()) throw new RangeError('the wake command is empty');
  const timeoutMs = options.timeoutMs ?? 120_000;
  const run = (action: 'park' | 'wake' | 'status', command: string, node: PowerTarget) =>
    new Promise<{ code: number | null; stderr: string }>((resolveRun, rejectRun) => {
      const child = spawn('/bin/sh', ['-c', command], {
        env: { ...process.env, ...options.env, UNIDLE_NODE_ID: node.id, UNIDLE_NODE_NAME: node.name, UNIDLE_NODE_HOSTNAME: node.hostname },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-2000);
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        rejectRun(new PowerDriverError(action, node.name, `the command ran longer than ${Math.round(timeoutMs / 1000)} s and was killed`));
      }, timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        rejectRun(new PowerDriverError(action, node.name, err.message));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolveRun({ code, stderr: stderr.trim() });
      });
    });
  const must = async (action: 'park' | 'wake', command: string, node: PowerTarget) => {
    const r = await run(action, command, node);
    if (r.code !== 0) throw new PowerDriverError(action, node.name, `the command exited with ${r.code ?? 'a signal'}${r.stderr ? `: ${r.stderr.split('\n').slice(-3).join(' | ')}` : ''}`);
  };
  return {
    name: 'command',
    park: (node) => must('park', options.parkCommand, node),
    wake: (node) => must('wake', options.wakeCommand, node),
    async isAwake(node) {
      if (!options.statusCommand) return undefined;
      const r = await run('status', options.statusCommand, node);
      return r.code === 0;
    },
  };
}
