/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Django serves the built assets under /static/app/ and index.html for every non-API path.
// The dev server runs at / (client routes are root paths) and proxies /api and /ws to Django on :8000.
// `--mode mock` uses an in-browser fake backend (see src/mock/); its build is served from / so that
// `vite preview --mode mock --outDir dist-mock` works for demos and screenshots without Django.
export default defineConfig(({ command, mode }) => ({
  base: command === 'build' && mode !== 'mock' ? '/static/app/' : '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy:
      mode === 'mock'
        ? undefined
        : {
            // Keep the browser's Host header so Django's CSRF origin check sees a same-origin request.
            '/api': { target: 'http://127.0.0.1:8000', changeOrigin: false },
            '/ws': { target: 'ws://127.0.0.1:8000', ws: true, changeOrigin: false },
          },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    setupFiles: ['src/test/setup.ts'],
  },
}));
