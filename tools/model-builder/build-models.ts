/**
 * Builds models/*.onnx and models/manifest.json from the open weights shipped in npm packages.
 * Runs from `npm run models` (part of `prepare`, so `npm ci` builds them) and from tests through
 * `ensureModels()` when models/ is missing or stale.
 *
 * Idempotent: a model is reconverted only when its source files' sha256, its converter version
 * or the file on disk changed. Manifest entries that no converter owns (a platform's drop-in
 * models) are kept. Writes go to temp files renamed into place, under a lock directory, so
 * parallel test workers and a concurrent `npm run models` never see half-written files.
 *
 * Adding a model: write tools/model-builder/convert-<name>.ts exporting a `ModelConverter`
 * (tools/model-builder/onnx/converter.ts) and append it to CONVERTERS below.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MANIFEST_VERSION, parseManifest, type Manifest, type ManifestEntry } from '../../src/worker/classify/manifest.js';
import { ageGenderConverter, faceDetectorConverter } from './convert-face.js';
import { nsfwConverter } from './convert-nsfw.js';
import { sha256Hex, type ModelConverter } from './onnx/index.js';

/** Every model of the default pack, in manifest order. Extension point: add converters here. */
export const CONVERTERS: ModelConverter[] = [nsfwConverter, faceDetectorConverter, ageGenderConverter];

export const MANIFEST_FILE = 'manifest.json';

export interface BuildModelsOptions {
  /** Output folder; default `<repo>/models`. */
  readonly outDir?: string;
  /** Reconvert even when the cache says the files are current. */
  readonly force?: boolean;
  readonly converters?: readonly ModelConverter[];
  readonly log?: (line: string) => void;
}

export interface BuildModelsResult {
  readonly manifestPath: string;
  readonly manifest: Manifest;
  readonly built: readonly string[];
  readonly cached: readonly string[];
}

/** The repository root: the nearest folder above this file with streamscreen's package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name;
        if (name === 'streamscreen') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the streamscreen package root above tools/model-builder');
    dir = parent;
  }
}

export function defaultModelsDir(): string {
  return join(repoRoot(), 'models');
}

export async function buildModels(options: BuildModelsOptions = {}): Promise<BuildModelsResult> {
  const outDir = resolve(options.outDir ?? defaultModelsDir());
  const log = options.log ?? (() => {});
  const converters = options.converters ?? CONVERTERS;
  await mkdir(outDir, { recursive: true });
  return withLock(join(outDir, '.build-lock'), log, async () => {
    const manifestPath = join(outDir, MANIFEST_FILE);
    const previous = await readPreviousManifest(manifestPath, log);
    const owned = new Set(converters.map((c) => c.id));
    const entries: ManifestEntry[] = [];
    const built: string[] = [];
    const cached: string[] = [];
    for (const converter of converters) {
      const source = await converter.source();
      const old = previous.find((e) => e.id === converter.id);
      const target = join(outDir, converter.file);
      if (!options.force && old && (await isCurrent(old, converter, source.sha256, target))) {
        entries.push(old);
        cached.push(converter.id);
        log(`${converter.id}: up to date (${converter.file})`);
        continue;
      }
      const started = Date.now();
      const { bytes, entry } = await converter.convert();
      await writeAtomic(target, bytes);
      entries.push({
        id: converter.id,
        ...entry,
        file: converter.file,
        sha256: sha256Hex(bytes),
        license: source.license,
        source: { package: source.package, version: source.version, sha256: source.sha256, files: [...source.files] },
        converter: { name: converter.name, version: converter.version },
      });
      built.push(converter.id);
      log(
        `${converter.id}: converted ${source.package}@${source.version} → ${converter.file} (${(bytes.byteLength / 1e6).toFixed(1)} MB, ${Date.now() - started} ms)`,
      );
    }
    // Keep the platform's own drop-in entries (no `converter`); an entry of a converter that no
    // longer exists is dropped with the converter.
    for (const e of previous) {
      if (!owned.has(e.id) && !e.converter) entries.push(e);
    }
    const manifest: Manifest = { version: MANIFEST_VERSION, models: entries };
    parseManifest(manifest, manifestPath); // refuse to write a manifest the runtime would reject
    await writeAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    return { manifestPath, manifest, built, cached };
  });
}

/**
 * Builds the models unless models/manifest.json already lists current files for every converter.
 * For tests and first start: cheap when everything is current (hashes the sources only).
 */
export async function ensureModels(options: Omit<BuildModelsOptions, 'force'> = {}): Promise<BuildModelsResult> {
  return buildModels({ ...options, force: false });
}

async function isCurrent(old: ManifestEntry, converter: ModelConverter, sourceSha: string, target: string): Promise<boolean> {
  if (old.file !== converter.file || old.source.sha256 !== sourceSha) return false;
  if (old.converter?.name !== converter.name || old.converter.version !== converter.version) return false;
  try {
    return sha256Hex(await readFile(target)) === old.sha256;
  } catch {
    return false;
  }
}

async function readPreviousManifest(path: string, log: (line: string) => void): Promise<ManifestEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  try {
    return parseManifest(JSON.parse(text), path).models;
  } catch (err) {
    // A broken manifest would otherwise block every rebuild; say so and start over, but keep
    // a copy: it may hold a platform's hand-written drop-in entries.
    await writeFile(`${path}.invalid`, text);
    log(`${path} is invalid, rebuilding it (old copy kept as ${path}.invalid): ${err instanceof Error ? err.message : String(err)}`);
    return [];
  }
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

const LOCK_STALE_MS = 10 * 60_000;
const LOCK_WAIT_MS = 5 * 60_000;

/**
 * A lock directory holding the owner's pid. A lock whose owner is gone (a build killed midway)
 * or that is older than LOCK_STALE_MS is taken over instead of waited for.
 */
async function withLock<T>(lockDir: string, log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const abandoned = await lockAbandoned(lockDir);
      if (abandoned) {
        log(`taking over ${lockDir}: ${abandoned}`);
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${lockDir} (another model build running? remove it if not)`, { cause: err });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

/** Why the lock's owner is taken to be gone (said in the log), or false while it may still hold it. */
async function lockAbandoned(lockDir: string): Promise<string | false> {
  const age = await stat(lockDir).then(
    (s) => Date.now() - s.mtimeMs,
    () => 0,
  );
  if (age > LOCK_STALE_MS) return `older than ${LOCK_STALE_MS / 60_000} minutes`;
  const pid = Number(await readFile(join(lockDir, 'pid'), 'utf8').catch(() => ''));
  // No pid yet: the owner is between mkdir and writeFile; give it a moment.
  if (!Number.isInteger(pid) || pid <= 0) return age > 5_000 ? 'no owner pid after 5 s' : false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH' ? `its owner (pid ${pid}) is gone` : false;
  }
}

async function main(argv: string[]): Promise<number> {
  const force = argv.includes('--force');
  const outIdx = argv.indexOf('--out');
  const outDir = outIdx >= 0 ? argv[outIdx + 1] : undefined;
  const result = await buildModels({ force, outDir, log: (line) => process.stdout.write(`models: ${line}\n`) });
  process.stdout.write(`models: ${result.manifestPath} (${result.built.length} built, ${result.cached.length} up to date)\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`models: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
