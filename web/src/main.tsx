import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import './styles.css';

// A link to a session loads the session page's code at once, beside the app's first checks.
if (/^#\/sessions\/./.test(window.location.hash)) void import('./session/session-page.tsx');

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
