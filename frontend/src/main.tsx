import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import './styles.css';

async function start() {
  // `vite --mode mock` / `npm run build:mock`: an in-browser fake backend for demos and screenshots.
  // The condition is a build-time constant, so production builds contain none of the mock code.
  if (import.meta.env.MODE === 'mock') {
    const { installMockBackend } = await import('./mock/backend');
    installMockBackend();
  }
  createRoot(document.getElementById('root')!).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

void start();
