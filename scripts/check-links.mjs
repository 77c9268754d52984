#!/usr/bin/env node
// Fails when a Markdown file of the repository links to a file that is not in
// it: a relative link that leads outside the checkout or to nothing. The
// README and docs/ must stand on their own in a fresh clone.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const files = execFileSync('git', ['ls-files', '*.md'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);
const link = /\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
const problems = [];

for (const file of files) {
  const text = readFileSync(join(root, file), 'utf8');
  for (const [, target] of text.matchAll(link)) {
    if (/^(https?:|mailto:|#)/.test(target)) continue;
    const path = resolve(root, dirname(file), decodeURI(target.split('#')[0]));
    const inside = !relative(root, path).startsWith('..');
    if (!inside || !existsSync(path)) {
      problems.push(`${file}: ${target} ${inside ? 'does not exist' : 'is outside the repository'}`);
    }
  }
}
if (problems.length > 0) {
  console.error(`check-links: links to files the repository does not have:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-links: ${files.length} Markdown files link only to files in the repository`);
