/**
 * The Slurm integration suites share one dev cluster (restarts, drains, GPUs in use), so they run
 * from this one file, one after the other: the client layer first, then the executor.
 */
import './slurm-api.integration-suite.js';
import './slurm-executor.integration-suite.js';
