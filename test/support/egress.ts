/**
 * Test sources run on loopback, which the source policy refuses by default (that default is what
 * test/worker/sampler/egress-probes.test.ts proves). Tests that must reach them say so with this.
 */
export const ALLOW_LOOPBACK: string[] = ['127.0.0.0/8', '::1'];
