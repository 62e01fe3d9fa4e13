import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console: `npm run build` writes it to dist/console, which `unidle serve` serves at `/`
// (src/api/console-static.ts). `npm run dev:web` serves it with hot reload and proxies the API to a
// running server (UNIDLE_SERVER, default http://127.0.0.1:8080).
const api = process.env.UNIDLE_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // No source maps: nothing in the bundle points outside the repository.
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 1200,
    reportCompressedSize: false,
  },
  server: {
    port: 5173,
    proxy: Object.fromEntries(['/v1', '/openapi.json', '/docs', '/metrics', '/healthz'].map((p) => [p, { target: api, changeOrigin: true }])),
  },
});
