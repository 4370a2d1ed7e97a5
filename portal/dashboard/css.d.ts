// css.d.ts: esbuild bundles the imported stylesheet into the page's CSS file.
declare module "*.css";
