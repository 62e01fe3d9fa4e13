import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/client.js';
import { useI18n } from '../i18n/i18n.js';
import { navigate, usePath } from '../router.js';
import { useSession } from '../session.js';

export function SignIn() {
  const { t } = useI18n();
  const { signIn } = useSession();
  const { query } = usePath();
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!key.trim()) return setError(t('signin.empty'));
    setBusy(true);
    setError(null);
    try {
      const me = await signIn(key);
      const next = query.get('next');
      const home = me.role === 'operator' ? '/overview' : '/submit';
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : home, true);
    } catch (err) {
      setError(err instanceof ApiError ? (err.status === 401 ? t('signin.rejected') : err.code === 'agent_key' ? t('signin.agent') : err.message) : t('error.network'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <h1>
        <span className="logo" aria-hidden="true">▦</span> Unidle
      </h1>
      <p className="muted">{t('signin.tagline')}</p>
      <form onSubmit={submit} className="card" noValidate>
        <label htmlFor="api-key">{t('signin.keyLabel')}</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="unk_…"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-invalid={!!error}
          aria-describedby="api-key-hint"
          autoFocus
        />
        <div id="api-key-hint" className="field-hint">
          {t('signin.hint')}
        </div>
        {error && (
          <div className="state state-error" role="alert">
            {error}
          </div>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? t('signin.checking') : t('signin.submit')}
        </button>
      </form>
    </main>
  );
}
