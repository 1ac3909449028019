/**
 * The dependency rules of src/, checked for every folder by `npm run lint:deps` (part of npm test).
 * Layers point one way: contracts <- domain <- nats <- config <- hash <- deployables <- cli. A
 * deployable (worker, bridge, enforcer, review, console, matcher) imports the shared layers and
 * its own folder only, so each can be built, reasoned about and deployed alone. hash/ (PDQ, hash
 * lists, the index and matcher) is shared by the worker and the matcher's lookup API.
 */
const DEPLOYABLES = ['worker', 'bridge', 'enforcer', 'review', 'console', 'matcher'];
const SHARED = '^src/(domain|contracts|nats|config|metrics|hash)/';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
    {
      name: 'contracts-stand-alone',
      comment: 'The wire contracts are zod schemas and nothing else, so any consumer can import them.',
      severity: 'error',
      from: { path: '^src/contracts/' },
      to: { path: '^src/', pathNot: '^src/contracts/' },
    },
    {
      name: 'domain-on-contracts-only',
      comment: 'domain/ holds types, errors and pure helpers built on the wire contracts.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/(domain|contracts)/' },
    },
    {
      name: 'nats-kit-knows-no-feature',
      comment: 'The NATS kit is shared plumbing: it knows no stream, frame or case.',
      severity: 'error',
      from: { path: '^src/nats/' },
      to: { path: '^src/', pathNot: '^src/(nats|domain|contracts)/' },
    },
    {
      name: 'config-below-deployables',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/(config|domain|contracts|nats)/' },
    },
    {
      name: 'hash-below-deployables',
      comment: 'PDQ, lists, index and matcher: a library the worker and the matcher share; it knows no stage.',
      severity: 'error',
      from: { path: '^src/hash/' },
      to: { path: '^src/', pathNot: '^src/(hash|config|domain|contracts|nats)/' },
    },
    {
      name: 'metrics-below-deployables',
      severity: 'error',
      from: { path: '^src/metrics/' },
      to: { path: '^src/', pathNot: '^src/(metrics|domain)/' },
    },
    ...DEPLOYABLES.map((d) => ({
      name: `${d}-imports-shared-and-itself-only`,
      comment: `A deployable imports contracts/, nats/, domain/, config/, metrics/ and its own folder.`,
      severity: 'error',
      from: { path: `^src/${d}/` },
      to: { path: '^src/', pathNot: [SHARED, `^src/${d}/`] },
    })),
    {
      name: 'policy-is-pure',
      comment:
        'The policy is a pure function of signals and state: no I/O, no NATS, no other stage. Types (its options from config/) are fine: they do nothing at run time.',
      severity: 'error',
      from: { path: '^src/worker/policy/' },
      to: {
        pathNot: ['^src/worker/policy/', '^src/domain/', '^src/contracts/', '^node_modules/zod/'],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'intake-and-publish-take-collaborators',
      comment: 'intake/ and publish/ get the other stages through their deps, never by import.',
      severity: 'error',
      from: { path: '^src/worker/(intake|publish)/' },
      to: { path: '^src/worker/', pathNot: ['^src/worker/(intake|publish)/', '^src/worker/events\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
