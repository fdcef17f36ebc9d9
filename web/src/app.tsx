import { lazy, Suspense, useState } from 'react';
import { AuthProvider, KeyPrompt, useAuth } from './auth.tsx';
import { SessionsList } from './pages/sessions-list.tsx';
import { useRoute } from './router.ts';
import { ErrorBoundary } from './ui/error-boundary.tsx';

// The session page (React Flow, the layout, the panels) and analytics load when first opened,
// so the list shows with the smallest first load.
const SessionPage = lazy(() => import('./session/session-page.tsx').then((m) => ({ default: m.SessionPage })));
const Analytics = lazy(() => import('./pages/analytics.tsx').then((m) => ({ default: m.Analytics })));

export function App() {
  return (
    <AuthProvider>
      <Shell />
    </AuthProvider>
  );
}

function Shell() {
  const route = useRoute();
  const { state, principal, forgetKey, error } = useAuth();
  const [askKey, setAskKey] = useState(false);
  return (
    <>
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="top">
        <a href="#/sessions" className="brand">
          AI Orchestrator
        </a>
        <nav aria-label="Main">
          <a href="#/sessions" aria-current={route.page !== 'analytics' ? 'page' : undefined}>
            Sessions
          </a>
          <a href="#/analytics" aria-current={route.page === 'analytics' ? 'page' : undefined}>
            Analytics
          </a>
          <a href="/docs">API</a>
        </nav>
        <div className="who" data-testid="principal">
          {principal ? (
            <span>
              Key <strong>{principal.name}</strong>
              {principal.local ? ' (this machine: no key needed)' : ''}:{' '}
              <span data-testid="principal-scopes">{principal.scopes.join(', ')}</span>
            </span>
          ) : state === 'checking' ? (
            <span>Checking…</span>
          ) : (
            <span>No key</span>
          )}
          <button type="button" onClick={() => setAskKey((v) => !v)} aria-expanded={askKey}>
            {principal && !principal.local ? 'Change key' : 'Enter a key'}
          </button>
          {principal && !principal.local ? (
            <button type="button" onClick={forgetKey}>
              Forget key
            </button>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {askKey || state === 'needs-key' ? <KeyPrompt onDone={() => setAskKey(false)} /> : null}
        {state === 'unreachable' ? (
          <p className="error" role="alert">
            The server cannot be reached: {error}
          </p>
        ) : null}
        {/* The page loads while the key is checked; its buttons wait for the key's scopes. */}
        {state === 'ready' || state === 'checking' ? (
          <ErrorBoundary resetKey={route.page === 'session' ? `session:${route.sessionId}` : route.page}>
            <Suspense fallback={<p className="muted">Loading…</p>}>
              {route.page === 'sessions' ? <SessionsList query={route.query} /> : null}
              {route.page === 'session' ? (
                <SessionPage key={route.sessionId} sessionId={route.sessionId} query={route.query} />
              ) : null}
              {route.page === 'analytics' ? <Analytics query={route.query} /> : null}
            </Suspense>
          </ErrorBoundary>
        ) : null}
      </main>
    </>
  );
}
