import { parseArgs } from 'node:util';
import { openClassifier, type Classifier } from '../../worker/classify/index.js';
import { readRgbImage } from '../../worker/sampler/image-file.js';
import { faceAgeFactory } from '../../worker/classify/load-face-part.js';
import { errorCode } from '../../domain/errors.js';
import { DEFAULT_CHALLENGE_AGE, possibleMinor } from '../../worker/policy/possible-minor.js';
import { createLogger } from './logger.js';
import { processIO, type CommandIO } from './io.js';

const USAGE = `usage: streamscreen classify [options] FILE...

Runs the classifiers on image files (JPEG, PNG, WebP, ...) and prints one JSON object per line:
  {"file", "nudity": {"drawing","hentai","neutral","porn","sexy"},
   "faces": [{"box": [x,y,w,h], "score", "age"}], "possibleMinor"}
Drop-in classifiers from the manifest add "custom": {signal: score}.

options:
  --manifest PATH       model manifest (default: the package's models/manifest.json)
  --threads N           intra-op threads per inference (default 1)
  --challenge-age N     apparent age under which a face is a possible minor (default 25)
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
  const threads = args.values.threads === undefined ? 1 : Number(args.values.threads);
  if (!Number.isInteger(threads) || threads < 1) {
    io.stderr.write(`streamscreen classify: --threads must be a positive integer\n`);
    return 2;
  }
  const challengeAge = args.values['challenge-age'] === undefined ? undefined : Number(args.values['challenge-age']);
  if (challengeAge !== undefined && !(challengeAge >= 1 && challengeAge <= 100)) {
    io.stderr.write(`streamscreen classify: --challenge-age must be between 1 and 100\n`);
    return 2;
  }

  const faceAge = args.values['no-faces'] ? undefined : faceAgeFactory;
  let classifier: Classifier;
  try {
    classifier = await openClassifier({
      // Warnings (a model file that fails its checksum, a face part that cannot load) go to stderr.
      logger: createLogger(env.LOG_LEVEL ?? 'warn'),
      faceAge,
      options: { manifestPath: args.values.manifest, intraOpThreads: threads },
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
          possibleMinor: possibleMinor(s.faces ?? [], challengeAge ?? DEFAULT_CHALLENGE_AGE),
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
