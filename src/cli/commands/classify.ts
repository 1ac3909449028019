import { parseArgs } from 'node:util';
import { openClassifier, type Classifier } from '../../worker/classify/index.js';
import { readRgbImage } from '../../worker/sampler/image-file.js';
import { faceAgeFactory } from '../../worker/classify/load-face-part.js';
import { CONFIG_DEFAULTS, resolveConfig, type ResolvedConfig } from '../../config/index.js';
import { ConfigError, errorCode } from '../../domain/errors.js';
import { possibleMinor } from '../../worker/policy/possible-minor.js';
import { createLogger } from './logger.js';
import { processIO, type CommandIO } from './io.js';

const USAGE = `usage: streamscreen classify [options] FILE...

Runs the classifiers on image files (JPEG, PNG, WebP, ...) and prints one JSON object per line:
  {"file", "nudity": {"drawing","hentai","neutral","porn","sexy"},
   "faces": [{"box": [x,y,w,h], "score", "age"}], "possibleMinor"}
Drop-in classifiers from the manifest add "custom": {signal: score}.

options:
  --manifest PATH       model manifest (default: the package's models/manifest.json)
  --threads N           intra-op threads per inference (default ${CONFIG_DEFAULTS.classify.intraOpThreads})
  --challenge-age N     apparent age under which a face is a possible minor (default ${CONFIG_DEFAULTS.policy.challengeAge})
  --no-faces            skip face detection and age estimation
  -h, --help            this text
`;

export async function run(
  argv: string[],
  io: CommandIO = processIO,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        manifest: { type: 'string' },
        threads: { type: 'string' },
        'challenge-age': { type: 'string' },
        'no-faces': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.stderr.write(`streamscreen classify: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const files = args.positionals;
  if (files.length === 0) {
    io.stderr.write(`streamscreen classify: no files given\n\n${USAGE}`);
    return 2;
  }
  // The flags are config values (classify.intraOpThreads, policy.challengeAge): the config's rules check them.
  let resolved: ResolvedConfig;
  try {
    resolved = resolveConfig({
      classify: {
        ...(args.values.manifest === undefined ? {} : { manifestPath: args.values.manifest }),
        ...(args.values.threads === undefined ? {} : { intraOpThreads: Number(args.values.threads) }),
      },
      policy: args.values['challenge-age'] === undefined ? {} : { challengeAge: Number(args.values['challenge-age']) },
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`streamscreen classify: ${err.issues.map(flagIssue).join('; ')}\n`);
    return 2;
  }

  const faceAge = args.values['no-faces'] ? undefined : faceAgeFactory;
  let classifier: Classifier;
  try {
    classifier = await openClassifier({
      // Warnings (a model file that fails its checksum, a face part that cannot load) go to stderr.
      logger: createLogger(env.LOG_LEVEL ?? 'warn'),
      faceAge,
      options: resolved.stages.classifier,
    });
  } catch (err) {
    io.stderr.write(`streamscreen classify: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (!classifier.faces && !args.values['no-faces']) {
    io.stderr.write('streamscreen classify: face/age model not available; faces are not detected\n');
  }

  let failures = 0;
  try {
    // Decode the next file while the current one is being classified.
    let next = files.length > 0 ? readRgbImage(files[0]!, 'view').then(ok, fail) : undefined;
    for (let i = 0; i < files.length; i++) {
      const file = files[i]!;
      const decoded = await next!;
      next = i + 1 < files.length ? readRgbImage(files[i + 1]!, 'view').then(ok, fail) : undefined;
      if ('error' in decoded) {
        failures++;
        io.stderr.write(`streamscreen classify: ${message(decoded.error)}\n`);
        continue;
      }
      try {
        const s = await classifier.classify(decoded.image);
        const line: Record<string, unknown> = {
          file,
          nudity: s.nudity ?? null,
          faces: (s.faces ?? []).map((f) => ({ box: f.box, score: f.score, age: f.age })),
          // The policy's rule, at the challenge age asked for (the policy default otherwise).
          possibleMinor: possibleMinor(s.faces ?? [], resolved.stages.policy.challengeAge),
        };
        if (s.custom) line.custom = s.custom;
        io.stdout.write(`${JSON.stringify(line)}\n`);
      } catch (err) {
        failures++;
        io.stderr.write(`streamscreen classify: ${file}: ${message(err)} (${errorCode(err)})\n`);
      }
    }
  } finally {
    await classifier.close();
  }
  return failures > 0 ? 1 : 0;
}

function ok<T>(image: T): { image: T } {
  return { image };
}

function fail(error: unknown): { error: unknown } {
  return { error };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `classify.intraOpThreads: Too small…` → `--threads: Too small…`. */
function flagIssue(issue: string): string {
  return issue.replace(/^classify\.intraOpThreads:/, '--threads:').replace(/^policy\.challengeAge:/, '--challenge-age:');
}
