import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// One build serves the Tauri shell (loaded from ui/dist through Tauri's custom protocol, hence
// relative asset paths) and web mode (`promptdesk ui` serves ui/dist).
export default defineConfig({
  plugins: [react()],
  base: './',
  clearScreen: false,
  server: {
    // tauri.conf.json's build.devUrl points here; fail instead of silently moving to another port.
    port: 5173,
    strictPort: true,
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // CodeMirror is the bulk of the bundle; one chunk is fine for a local app.
    chunkSizeWarningLimit: 1500,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    // Some tests wait on the screens' real polling (every 500 ms) for several rounds; a loaded CI
    // machine must not fail them for being slow. Each wait inside a test keeps its own limit.
    testTimeout: 20_000,
  },
});
