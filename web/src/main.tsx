import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { loadECharts } from './components/chart.js';
import { I18nProvider } from './i18n/i18n.js';
import { SessionProvider } from './session.js';
import './styles.css';

// An operator lands on the charts: start fetching and compiling ECharts now, beside React's first render.
try {
  if ((JSON.parse(sessionStorage.getItem('unidle.me') ?? 'null') as { role?: string } | null)?.role === 'operator') void loadECharts();
} catch {
  // no session yet
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <I18nProvider>
      <SessionProvider>
        <App />
      </SessionProvider>
    </I18nProvider>
  </StrictMode>,
);
