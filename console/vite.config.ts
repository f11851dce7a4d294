import { defineConfig } from 'vitest/config';

// Everything is bundled into dist/ (no CDN at run time); the node embeds dist/ in `yun`.
export default defineConfig({
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022', chunkSizeWarningLimit: 600 },
  server: { proxy: { '/v1': 'http://127.0.0.1:8645' } },
  test: { include: ['tests/unit/**/*.test.ts'] },
});
