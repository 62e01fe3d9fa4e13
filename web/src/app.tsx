import { useEffect, useState, type ComponentType } from 'react';
import { Loading } from './components/states.js';
import type { MessageKey } from './i18n/en.js';
import { LOCALES, useI18n } from './i18n/i18n.js';
import { Link, navigate, usePath } from './router.js';
import { isOperator, useSession } from './session.js';
import { SignIn } from './pages/sign-in.js';

/**
 * A page loaded on first use. Not React.lazy: a Suspense boundary holds revealed content back by up
 * to 300 ms, which would be a third of the overview's load-time budget.
 */
function lazyPage(load: () => Promise<{ default: ComponentType }>): ComponentType {
  let cached: ComponentType | null = null;
  let pending: Promise<ComponentType> | null = null;
  const get = () => (pending ??= load().then((m) => (cached = m.default)).catch((e: unknown) => ((pending = null), Promise.reject(e))));
  return function LazyPage() {
    const { t } = useI18n();
    const [Page, setPage] = useState<ComponentType | null>(() => cached);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (!Page) get().then((c) => setPage(() => c), () => setFailed(true));
    }, [Page]);
    if (failed)
      return (
        <div className="state state-error" role="alert">
          {t('error.network')}{' '}
          <button type="button" className="btn btn-small" onClick={() => location.reload()}>
            {t('action.retry')}
          </button>
        </div>
      );
    return Page ? <Page /> : <Loading />;
  };
}

const Overview = lazyPage(() => import('./pages/overview.js'));
const HeatmapPage = lazyPage(() => import('./pages/heatmap-page.js'));
const Nodes = lazyPage(() => import('./pages/nodes.js'));
const Tenants = lazyPage(() => import('./pages/tenants.js'));
const Prices = lazyPage(() => import('./pages/prices.js'));
const Jobs = lazyPage(() => import('./pages/jobs.js'));
const JobDetailPage = lazyPage(() => import('./pages/job-detail.js'));
const Submit = lazyPage(() => import('./pages/submit.js'));
const Billing = lazyPage(() => import('./pages/billing.js'));
const Demand = lazyPage(() => import('./pages/demand.js'));
const SimReports = lazyPage(() => import('./pages/sim-reports.js'));
const Reservations = lazyPage(() => import('./pages/reservations.js'));
const Team = lazyPage(() => import('./pages/team.js'));

interface Route {
  path: string;
  label: MessageKey;
  page: ComponentType;
}
const OPERATOR: Route[] = [
  { path: '/overview', label: 'nav.overview', page: Overview },
  { path: '/heatmap', label: 'nav.heatmap', page: HeatmapPage },
  { path: '/nodes', label: 'nav.nodes', page: Nodes },
  { path: '/tenants', label: 'nav.tenants', page: Tenants },
  { path: '/prices', label: 'nav.prices', page: Prices },
  { path: '/demand', label: 'nav.demand', page: Demand },
  { path: '/simulations', label: 'nav.sim', page: SimReports },
  { path: '/jobs', label: 'nav.jobs', page: Jobs },
];
const tenantRoutes = (admin: boolean): Route[] => [
  { path: '/submit', label: 'nav.submit', page: Submit },
  { path: '/jobs', label: 'nav.jobs', page: Jobs },
  { path: '/reservations', label: 'nav.reservations', page: Reservations },
  { path: '/billing', label: 'nav.billing', page: Billing },
  { path: '/prices', label: 'nav.prices', page: Prices },
  { path: '/team', label: admin ? 'nav.team' : 'nav.keys', page: Team },
];
const TENANT_ADMIN = tenantRoutes(true);
const TENANT_MEMBER = tenantRoutes(false);

function LanguageSwitch() {
  const { locale, setLocale, t } = useI18n();
  return (
    <div className="lang" role="group" aria-label={t('nav.language')}>
      {LOCALES.map((l) => (
        <button key={l.id} type="button" lang={l.id} aria-pressed={locale === l.id} className={locale === l.id ? 'on' : ''} onClick={() => setLocale(l.id)}>
          {l.label}
        </button>
      ))}
    </div>
  );
}

export function App() {
  const { me, signOut } = useSession();
  const { t } = useI18n();
  const { path } = usePath();
  const [menuOpen, setMenuOpen] = useState(false);
  const routes = me ? (isOperator(me) ? OPERATOR : me.role === 'tenant-admin' ? TENANT_ADMIN : TENANT_MEMBER) : [];
  const home = routes[0]?.path ?? '/signin';

  useEffect(() => {
    if (!me && path !== '/signin') navigate(`/signin${path !== '/' ? `?next=${encodeURIComponent(path)}` : ''}`, true);
    else if (me && (path === '/' || path === '/signin')) navigate(home, true);
  }, [me, path, home]);
  useEffect(() => setMenuOpen(false), [path]);

  const route = routes.find((r) => path === r.path);
  const jobMatch = /^\/jobs\/([^/]+)$/.exec(path);
  const current = route ?? (jobMatch ? routes.find((r) => r.path === '/jobs') : undefined);
  useEffect(() => {
    document.title = current ? `${t(current.label)} · Unidle` : 'Unidle';
  }, [current, t]);

  if (!me) {
    return (
      <div className="signin-shell">
        <div className="signin-top">
          <LanguageSwitch />
        </div>
        <SignIn />
      </div>
    );
  }

  let content;
  if (route) content = <route.page />;
  else if (jobMatch) content = <JobDetailPage />;
  else if (path === '/' || path === '/signin') content = <Loading />;
  else
    content = (
      <div className="state state-empty">
        <strong>{t('notFound.title')}</strong>
        <Link href={home}>{t('notFound.home')}</Link>
      </div>
    );

  return (
    <div className="shell">
      <a className="skip" href="#main">
        {t('nav.skip')}
      </a>
      <header className="topbar">
        <Link href={home} className="brand" aria-label="Unidle">
          <span className="logo" aria-hidden="true">▦</span> Unidle
        </Link>
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen((o) => !o)}>
          {t('nav.menu')}
        </button>
        <nav id="nav" className={menuOpen ? 'open' : ''} aria-label={t('nav.main')}>
          {routes.map((r) => (
            <Link key={r.path} href={r.path} aria-current={current === r ? 'page' : undefined} className={current === r ? 'active' : ''}>
              {t(r.label)}
            </Link>
          ))}
        </nav>
        <div className="who">
          <LanguageSwitch />
          <span className="who-name" title={me.tenantName ?? undefined}>
            {me.name} · {t(`role.${me.role}` as MessageKey)}
            {me.tenantName ? ` · ${me.tenantName}` : ''}
          </span>
          <button type="button" className="btn btn-small btn-ghost" onClick={signOut}>
            {t('nav.signOut')}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {content}
      </main>
    </div>
  );
}
