import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The installed streamscreen package root (holds models/), found by walking up from this file:
 * the same code runs from src/ under tsx and from dist/src/ when built.
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'streamscreen') return (cached = dir);
      } catch {
        // unreadable package.json: not ours, keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot locate the streamscreen package root');
    dir = parent;
  }
}

export function defaultManifestPath(): string {
  return join(packageRoot(), 'models', 'manifest.json');
}
