import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard's build. `scripts/build.mjs` runs it with an `outDir` of its own (built beside
// dist/web and swapped in); `npx vite --config web/vite.config.ts` serves it for development,
// passing /v1 to an `orchestrator serve` (ORCHESTRATOR_URL, default http://127.0.0.1:7700).
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: path.resolve(import.meta.dirname, '../dist/web'),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 2048,
  },
  server: {
    proxy: {
      '/v1': { target: process.env.ORCHESTRATOR_URL ?? 'http://127.0.0.1:7700', changeOrigin: false },
    },
  },
});
