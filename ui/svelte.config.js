import { vitePreprocess } from "@sveltejs/vite-plugin-svelte";

export default {
  preprocess: vitePreprocess(),
  // Component CSS goes to the bundle's .css file: the CSP forbids inline styles.
  compilerOptions: { css: "external" },
};
