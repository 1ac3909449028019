/**
 * Bundles the console's browser code (src/console/ui, Preact) into one script with esbuild, and
 * copies index.html and app.css beside it: everything the console serves comes from this folder,
 * no CDN. Run by `npm run build` (into dist/console-ui) and by the browser tests (into a temp dir).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const UI_DIR = fileURLToPath(new URL('../../src/console/ui/', import.meta.url));
export const DEFAULT_OUT_DIR = fileURLToPath(new URL('../../dist/console-ui/', import.meta.url));

export async function bundleConsoleUi(outDir: string = DEFAULT_OUT_DIR): Promise<string> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [join(UI_DIR, 'main.tsx')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    // Browsers a trust-and-safety team runs today; no transpiling beyond what they lack.
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    tsconfig: join(UI_DIR, 'tsconfig.json'),
    logLevel: 'warning',
  });
  await copyFile(join(UI_DIR, 'index.html'), join(outDir, 'index.html'));
  await copyFile(join(UI_DIR, 'app.css'), join(outDir, 'app.css'));
  return outDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await bundleConsoleUi(process.argv[2] ?? DEFAULT_OUT_DIR);
  console.log(`console UI bundled into ${out}`);
}
