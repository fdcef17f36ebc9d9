import path from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard's build. `scripts/build.mjs` runs it with an `outDir` of its own (built beside
// dist/web and swapped in); `npx vite --config web/vite.config.ts` serves it for development,
// proxying the API to an `orchestrator serve` on the default port.
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
      '/v1': { target: 'http://127.0.0.1:7700', changeOrigin: false },
    },
  },
});
