import { useCallback, useEffect, useRef, useState } from 'react';
import type { Api } from './client.js';
import { useSession } from '../session.js';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload(): void;
}

/**
 * Loads with the signed-in API and keeps the last good data while reloading or polling.
 * `pollMs` refreshes in the background (paused while the tab is hidden).
 */
export function useApi<T>(load: (api: Api, signal: AbortSignal) => Promise<T>, deps: unknown[], options: { pollMs?: number; enabled?: boolean } = {}): Loaded<T> {
  const { api } = useSession();
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const enabled = options.enabled ?? true;

  useEffect(() => {
    if (!enabled) {
      setLoading(false);
      return;
    }
    const ctrl = new AbortController();
    setLoading(true);
    loadRef
      .current(api, ctrl.signal)
      .then((d) => {
        if (ctrl.signal.aborted) return;
        setData(d);
        setError(undefined);
      })
      .catch((e: unknown) => {
        if (ctrl.signal.aborted || (e instanceof DOMException && e.name === 'AbortError')) return;
        setError(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        if (!ctrl.signal.aborted) setLoading(false);
      });
    return () => ctrl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, tick, enabled, ...deps]);

  useEffect(() => {
    if (!options.pollMs || !enabled) return;
    const id = setInterval(() => {
      if (document.visibilityState !== 'hidden') setTick((t) => t + 1);
    }, options.pollMs);
    return () => clearInterval(id);
  }, [options.pollMs, enabled]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}
