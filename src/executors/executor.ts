/**
 * The executor port: how work placed by Unidle reaches an engine that runs it. The node agent is the
 * pull-based executor (it calls the API); engines such as Slurm are driven from the control plane by
 * an adapter that implements this interface, reconciling on every pass what the database says with
 * what the engine reports.
 */
export interface ExecutorHealth {
  ok: boolean;
  /** Why not, for job reasons and `unidle executors`; null when ok. */
  message: string | null;
  /** When the current ok/not-ok period began, ms. */
  since: number;
  lastSyncAt: number | null;
}

export interface ExecutorSyncResult {
  nodes: number;
  submitted: number;
  started: number;
  finished: number;
  signalled: number;
  lost: number;
  /** Submitted jobs the engine has not started yet (the control plane looks again soon while any wait). */
  waiting: number;
}

export interface Executor {
  /** The `nodes.executor` value of the nodes it runs work on. */
  readonly name: string;
  /** One reconcile pass: inventory, submissions, state changes, cancels and preemptions, logs. Never throws for engine outages. */
  sync(): Promise<ExecutorSyncResult>;
  health(): ExecutorHealth;
}
