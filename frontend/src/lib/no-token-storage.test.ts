// The SPA holds no token and stores nothing for auth: it never touches Web
// Storage or document.cookie. A guard over the source, so a change that starts
// to is caught in review rather than in production.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) ? [path] : [];
  });
}

describe('frontend source', () => {
  const files = sourceFiles(srcDir);

  it('finds the source files', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(['localStorage', 'sessionStorage', 'document.cookie', 'indexedDB', 'dangerouslySetInnerHTML', 'style={'])(
    'never uses %s',
    (needle) => {
      const offenders = files.filter((file) => readFileSync(file, 'utf8').includes(needle));
      expect(offenders).toEqual([]);
    },
  );
});
