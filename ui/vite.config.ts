import { defineConfig } from 'vitest/config';

// One build serves the Tauri shell (loaded from ui/dist through Tauri's custom protocol, hence
// relative asset paths) and, later, web mode in a browser.
export default defineConfig({
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
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
