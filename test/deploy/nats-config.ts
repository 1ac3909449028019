/**
 * The reference nats-server configuration (deploy/nats/) as tests run it: the directory copied to
 * a temp dir (the files include each other), with only what a test on one machine must change
 * (store directory, addresses, certificate paths) rewritten in the copy, each edit checked to
 * have matched, so a test never silently runs a config that differs from the reference in more.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NATS_DEPLOY_DIR = fileURLToPath(new URL('../../deploy/nats/', import.meta.url));
export const ROLES = ['worker', 'bridge', 'enforcer', 'console', 'lists', 'matcher'] as const;
export type Role = (typeof ROLES)[number];

export const rolePassword = (role: string): string => `test-password-for-${role}`;

/** The environment the reference config reads its passwords from. */
export function natsEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const r of [...ROLES, 'admin']) env[`STREAMSCREEN_${r.toUpperCase()}_PASSWORD`] = rolePassword(r);
  return env;
}

/** Copies deploy/nats/ and applies `edits` to `file` in the copy; returns the copy's path of `file`. */
export function copyNatsConfig(file: string, edits: ReadonlyArray<readonly [RegExp, string]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'streamscreen-nats-conf-'));
  for (const f of readdirSync(NATS_DEPLOY_DIR)) if (f.endsWith('.conf')) copyFileSync(join(NATS_DEPLOY_DIR, f), join(dir, f));
  let text = readFileSync(join(dir, file), 'utf8');
  for (const [pattern, replacement] of edits) {
    const next = text.replace(pattern, replacement);
    if (next === text) throw new Error(`${file}: ${pattern} matched nothing`);
    text = next;
  }
  writeFileSync(join(dir, file), text);
  return join(dir, file);
}

/** A fresh JetStream store directory for a copy. */
export function storeDir(): string {
  return mkdtempSync(join(tmpdir(), 'streamscreen-nats-store-'));
}
