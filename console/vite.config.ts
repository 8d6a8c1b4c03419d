// The console is static files: `npm run build` writes console/dist (gitignored), which the
// local stack serves at / and the deploy copies to the console bucket behind CloudFront.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    assetsInlineLimit: 0, // no data: URLs, so the CSP can stay 'self'
    modulePreload: { polyfill: false },
  },
});
