/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

// The Go server embeds the build (server/internal/spa, `//go:embed all:dist`).
const outDir = fileURLToPath(new URL('../server/internal/spa/dist', import.meta.url));

// `npm run dev` proxies the server's routes so the session cookie stays
// same-origin with the page. Start the Go server first (default :8080).
const backend = process.env.BFF_URL ?? 'http://localhost:8080';
const proxied = ['/api', '/auth', '/healthz', '/readyz'];

// emptyOutDir wipes dist/, including the committed placeholder that lets
// `go build` embed dist/ before any npm build; put it back so git stays clean.
function keepPlaceholder(): Plugin {
  return {
    name: 'keep-dist-placeholder',
    apply: 'build',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: '.gitkeep', source: '' });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react(), keepPlaceholder()],
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: 'assets',
    // No data: URIs: the server's CSP allows files from 'self' only.
    assetsInlineLimit: 0,
    sourcemap: false,
    // Every browser that runs this app supports <link rel="modulepreload">.
    modulePreload: { polyfill: false },
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: Object.fromEntries(proxied.map((path) => [path, { target: backend, changeOrigin: false }])),
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
