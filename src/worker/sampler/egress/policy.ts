import { lookup as dnsLookup } from 'node:dns/promises';
import { ConfigError } from '../../../domain/errors.js';
import { parseAllowHosts, type AllowList } from '../../../domain/egress/allow-list.js';
import { parseHost } from '../../../domain/egress/host.js';
import { deniedRange } from '../../../domain/egress/ip-ranges.js';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a DNS name to every address it has. Replaceable so tests never need real DNS. */
export type Lookup = (name: string) => Promise<readonly ResolvedAddress[]>;

export type EgressVerdict =
  | {
      readonly ok: true;
      /** The normalised host (lower case, punycode; an IP address as such). */
      readonly host: string;
      /** Every address checked; connect to one of these, never resolve the name again. */
      readonly addresses: readonly [ResolvedAddress, ...ResolvedAddress[]];
    }
  /** `refused`: the policy forbids it (terminal). `unresolvable`: DNS gave nothing usable (may pass). */
  | { readonly ok: false; readonly reason: 'refused' | 'unresolvable'; readonly detail: string };

export interface EgressPolicy {
  /** Resolves `host` (as written in a URL) and checks every address it has. Never throws. */
  check(host: string): Promise<EgressVerdict>;
}

export interface EgressPolicyOptions {
  /** sampler.allowHosts: names, *.names, addresses and CIDR blocks exempt from the deny ranges. */
  readonly allowHosts?: readonly string[] | AllowList;
  readonly lookup?: Lookup;
  /** A resolver that does not answer must not hold the stream's slot. */
  readonly lookupTimeoutMs?: number;
}

/**
 * Names that lead to the cloud metadata services or to this machine whatever DNS says; refused
 * before any lookup. Their addresses are in the denied ranges too: this is the belt to that brace
 * (a resolver that answers metadata.google.internal with something odd is still refused).
 */
const DENIED_NAMES = new Set([
  'localhost',
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);
const DENIED_SUFFIXES = ['.localhost'];

export const systemLookup: Lookup = async (name) => {
  const found = await dnsLookup(name, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * The one check every connection a source causes goes through (the sampler for rtmp and srt,
 * the egress proxy for every http(s) request ffmpeg makes): a host is allowed when it is an
 * allow-listed name or address, or when it is not a denied name and every address it resolves to
 * is outside the denied ranges. Every address, not just the first: ffmpeg and the proxy may
 * connect to any of them.
 */
export function createEgressPolicy(options: EgressPolicyOptions = {}): EgressPolicy {
  const allow = isAllowList(options.allowHosts) ? options.allowHosts : parsed(options.allowHosts ?? []);
  const lookup = options.lookup ?? systemLookup;
  const timeoutMs = options.lookupTimeoutMs ?? 5_000;

  const check = async (raw: string): Promise<EgressVerdict> => {
    const host = parseHost(raw);
    if (!host) return { ok: false, reason: 'refused', detail: `"${raw.slice(0, 300)}" is not a valid host name or address` };
    if (host.kind === 'ip') {
      const denied = allow.allowsAddress(host.address) ? undefined : deniedRange(host.address);
      if (denied) return { ok: false, reason: 'refused', detail: `${host.address} is a ${denied} address` };
      return { ok: true, host: host.address, addresses: [{ address: host.address, family: host.family }] };
    }
    const { name } = host;
    const trusted = allow.allowsName(name);
    if (!trusted && (DENIED_NAMES.has(name) || DENIED_SUFFIXES.some((s) => name.endsWith(s)))) {
      return { ok: false, reason: 'refused', detail: `${name} is a denied name (this machine or a metadata service)` };
    }
    let addresses: readonly ResolvedAddress[];
    try {
      addresses = await withTimeout(lookup(name), timeoutMs);
    } catch (err) {
      return { ok: false, reason: 'unresolvable', detail: `cannot resolve ${name}: ${(err as Error)?.message ?? String(err)}` };
    }
    const first = addresses[0];
    if (!first) return { ok: false, reason: 'unresolvable', detail: `${name} has no addresses` };
    if (!trusted) {
      for (const a of addresses) {
        const denied = allow.allowsAddress(a.address) ? undefined : deniedRange(a.address);
        if (denied) return { ok: false, reason: 'refused', detail: `${name} resolves to ${a.address}, a ${denied} address` };
      }
    }
    return { ok: true, host: name, addresses: [first, ...addresses.slice(1)] };
  };
  return { check };
}

function isAllowList(v: EgressPolicyOptions['allowHosts']): v is AllowList {
  return v !== undefined && !Array.isArray(v);
}

function parsed(entries: readonly string[]): AllowList {
  const { list, issues } = parseAllowHosts(entries);
  if (issues.length) throw new ConfigError('invalid sampler.allowHosts', issues);
  return list;
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
