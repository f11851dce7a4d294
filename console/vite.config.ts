import { defineConfig } from 'vitest/config';

// The node the dev server (`npm run dev`) talks to; in production the node serves the console
// itself, so every request is same-origin.
const api = process.env.YUN_API ?? 'http://127.0.0.1:8645';

// Everything is bundled into dist/ (no CDN at run time); the node embeds dist/ in `yun`.
export default defineConfig({
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022', chunkSizeWarningLimit: 600 },
  // The dev proxy presents the node's own origin, as the embedded console does: the node
  // refuses writes from other origins.
  server: { proxy: { '/v1': { target: api, changeOrigin: true, headers: { origin: api } } } },
  test: { include: ['tests/unit/**/*.test.ts'] },
});
