import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SLURMRESTD_API_VERSION, SLURMRESTD_OPERATIONS } from './gen/slurmrestd-v0.0.38.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('generated slurmrestd client', () => {
  it('is what scripts/gen-slurm-client.mjs makes of the saved OpenAPI document (deterministic, not hand-edited)', () => {
    const out = execFileSync(process.execPath, ['scripts/gen-slurm-client.mjs', '--check'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });

  it('maps the operations the adapter uses to their method and path', () => {
    expect(SLURMRESTD_API_VERSION).toBe('v0.0.38');
    expect(SLURMRESTD_OPERATIONS.slurm_v0_0_38_submit_job).toEqual({ method: 'POST', path: '/slurm/v0.0.38/job/submit' });
    expect(SLURMRESTD_OPERATIONS.slurm_v0_0_38_cancel_job).toEqual({ method: 'DELETE', path: '/slurm/v0.0.38/job/{job_id}' });
    expect(SLURMRESTD_OPERATIONS.slurmdb_v0_0_38_get_jobs).toEqual({ method: 'GET', path: '/slurmdb/v0.0.38/jobs' });
  });
});
