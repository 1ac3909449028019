/**
 * The contract between `tools/model-builder/build-models.ts` and each model converter
 * (tools/model-builder/convert-*.ts). A converter describes its source cheaply (`source()`, hashing only)
 * so the build can skip it when nothing changed, and converts on demand (`convert()`).
 */
import type { ManifestEntry } from '../../../src/worker/classify/manifest.js';

export interface ModelSourceInfo {
  /** npm package the weights ship in, and its installed version. */
  readonly package: string;
  readonly version: string;
  readonly license: string;
  /** sha256 over every source file the conversion reads, in a fixed order. */
  readonly sha256: string;
  /** Those files, relative to the package root (for the manifest). */
  readonly files: readonly string[];
}

/**
 * Manifest fields a converter supplies; the build adds id, file, sha256, license, source and
 * converter. Extra model-specific fields (anchors, mean values, ...) are allowed and kept.
 */
export interface ConvertedEntryFields {
  readonly kind: string;
  readonly input?: ManifestEntry['input'];
  readonly outputs?: string[];
  readonly labels?: string[];
  readonly signals?: ManifestEntry['signals'];
  readonly accuracy?: ManifestEntry['accuracy'];
  readonly [extra: string]: unknown;
}

export interface ConvertedModel {
  readonly bytes: Uint8Array;
  readonly entry: ConvertedEntryFields;
}

export interface ModelConverter {
  /** Manifest id, e.g. `nsfw-mobilenet-v2`. */
  readonly id: string;
  /** Output file name inside models/. */
  readonly file: string;
  /** Converter name and version, recorded in the manifest; bump the version when output changes. */
  readonly name: string;
  readonly version: string;
  source(): Promise<ModelSourceInfo>;
  convert(): Promise<ConvertedModel>;
}
