#!/usr/bin/env node
// Fails when the JavaScript a first visit downloads before the app can start
// (the entry chunk and everything it imports statically, gzip-compressed) is over
// budget. Lazy route chunks (dynamic imports) are not counted.
//
// Usage: node scripts/check-bundle-size.mjs [distDir] (after `npm run build`)
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const budgetBytes = 100 * 1024;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const distDir = process.argv[2] ?? join(root, 'server/internal/spa/dist');
const indexPath = join(distDir, 'index.html');

if (!existsSync(indexPath)) {
  console.error(`check-bundle-size: ${relative(root, indexPath)} not found; run \`npm run build\` first`);
  process.exit(1);
}

const html = readFileSync(indexPath, 'utf8');
// The entry <script type="module" src> and the <link rel="modulepreload"> tags Vite adds for its static imports.
const start = [
  ...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g),
  ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g),
].map((m) => m[1]);

if (start.length === 0) {
  console.error('check-bundle-size: no module script in index.html');
  process.exit(1);
}

// Follow static imports in the minified output too (`import"./x.js"`, `from"./x.js"`);
// `import("./x.js")` is a lazy chunk and is left out.
const staticImport = /(?:\bfrom\s*|\bimport\s*)["'](\.{1,2}\/[^"']+\.js)["']/g;
const seen = new Map();
const queue = start.map((src) => posix.normalize(src.replace(/^\//, '')));
while (queue.length > 0) {
  const file = queue.shift();
  if (seen.has(file)) continue;
  const code = readFileSync(join(distDir, file));
  seen.set(file, gzipSync(code, { level: 9 }).length);
  for (const m of code.toString('utf8').matchAll(staticImport)) {
    queue.push(posix.normalize(posix.join(posix.dirname(file), m[1])));
  }
}

let total = 0;
for (const [file, size] of seen) {
  total += size;
  console.log(`${(size / 1024).toFixed(1).padStart(7)} KB  ${file}`);
}
const verdict = total <= budgetBytes ? 'ok' : 'OVER BUDGET';
console.log(
  `initial JS: ${(total / 1024).toFixed(1)} KB gzip of ${(budgetBytes / 1024).toFixed(0)} KB budget: ${verdict}`,
);
process.exit(total <= budgetBytes ? 0 : 1);
