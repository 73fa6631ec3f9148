import { defineConfig } from 'vitest/config';

// The app is served by the gateway at `/` on the same origin as the REST API,
// under a strict Content-Security-Policy (no inline script or style), so the
// build emits only external, hashed assets. No React plugin: Vite's own oxc
// transform compiles TSX with React's automatic JSX runtime.
//
// `npm run dev` proxies the API to a running `molbatch serve`
// (MOLBATCH_SERVER, default http://127.0.0.1:8080) for trying changes live.
const server = process.env.MOLBATCH_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'react' },
  },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    // Inlined assets would be data: URLs in CSS/JS; keep every asset a file.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  // `vite preview` answers with the gateway's Content-Security-Policy, so a
  // CSP mistake shows up here as it would behind molbatch.
  preview: {
    headers: {
      'Content-Security-Policy':
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    },
  },
  server: {
    proxy: {
      '/v1': { target: server, changeOrigin: false },
      '/openapi.json': { target: server },
    },
  },
  test: {
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    environment: 'node',
  },
});
