import type { ReactNode } from 'react';
import { ApiError } from '../api/client.js';
import { useI18n } from '../i18n/i18n.js';

export function Loading({ label }: { label?: string }) {
  const { t } = useI18n();
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label ?? t('state.loading')}
    </div>
  );
}

export function errorText(t: ReturnType<typeof useI18n>['t'], error: Error): string {
  if (error instanceof ApiError) {
    if (error.status === 403) return t('error.forbidden');
    if (error.status === 401) return t('error.unauthorized');
    const fields = error.fields.map((f) => `${f.field}: ${f.message}`).join('; ');
    return fields ? `${error.message} (${fields})` : error.message;
  }
  if (error instanceof TypeError) return t('error.network');
  return error.message;
}

export function ErrorState({ error, retry }: { error: Error; retry?: () => void }) {
  const { t } = useI18n();
  return (
    <div className="state state-error" role="alert">
      <strong>{t('error.title')}</strong> <span>{errorText(t, error)}</span>
      {retry && (
        <button type="button" className="btn btn-small" onClick={retry}>
          {t('action.retry')}
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children && <div>{children}</div>}
    </div>
  );
}

/** Loading → error → content, keeping content on screen while it refreshes. */
export function Async<T>({ data, error, loading, reload, children }: { data: T | undefined; error?: Error; loading: boolean; reload?: () => void; children: (data: T) => ReactNode }) {
  if (data !== undefined)
    return (
      <>
        {error && <ErrorState error={error} retry={reload} />}
        {children(data)}
      </>
    );
  if (error) return <ErrorState error={error} retry={reload} />;
  if (loading) return <Loading />;
  return null;
}
