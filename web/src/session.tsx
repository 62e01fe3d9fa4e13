import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { ApiError, createApi, type Api } from './api/client.js';
import type { Me } from './api/types.js';

/** The API key lives in sessionStorage only: never in the URL, gone when the tab closes. */
const KEY = 'unidle.apiKey';
const ME = 'unidle.me';

export type Role = Me['role'];
export const isOperator = (me: Me | null) => me?.role === 'operator';

interface Session {
  me: Me | null;
  api: Api;
  signIn(key: string): Promise<Me>;
  signOut(): void;
}

const SessionContext = createContext<Session | null>(null);

function read<T>(k: string): T | null {
  try {
    const v = sessionStorage.getItem(k);
    return v ? (JSON.parse(v) as T) : null;
  } catch {
    return null;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(() => (read<string>(KEY) ? read<Me>(ME) : null));
  const signOut = useCallback(() => {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(ME);
    setMe(null);
  }, []);
  const api = useMemo(() => createApi(() => read<string>(KEY), signOut), [signOut]);
  const signIn = useCallback(
    async (key: string) => {
      const trimmed = key.trim();
      const probe = createApi(() => trimmed, () => {});
      const who = await probe.get('/v1/me');
      if (who.role === 'agent') throw new ApiError(403, 'agent_key', 'agent');
      sessionStorage.setItem(KEY, JSON.stringify(trimmed));
      sessionStorage.setItem(ME, JSON.stringify(who));
      setMe(who);
      return who;
    },
    [],
  );
  const value = useMemo(() => ({ me, api, signIn, signOut }), [me, api, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}
