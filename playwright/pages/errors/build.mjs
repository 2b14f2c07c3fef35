// Builds app.min.js and its source map from app.src.js (run from the repository root after
// `npm ci` in js/: `node playwright/pages/errors/build.mjs`).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
execFileSync(root + 'js/node_modules/.bin/esbuild', [
  here + 'app.src.js', '--minify', '--format=iife', '--sourcemap', '--sources-content=true', '--target=es2020',
  '--outfile=' + here + 'app.min.js', '--log-level=warning',
], { stdio: 'inherit' });
