import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { parseHost } from './host.js';

/**
 * Hosts the operator trusts although they are in a denied range (sampler.allowHosts): the
 * platform's own ingest servers on a private network, loopback in tests. An entry is a DNS name
 * (`ingest.example.net`), a wildcard for its subdomains (`*.ingest.example.net`, not the name
 * itself), an address (`10.1.2.3`, `::1`) or a CIDR block (`10.1.0.0/16`, `fd00:1::/64`).
 */
export interface AllowList {
  allowsName(name: string): boolean;
  allowsAddress(address: string): boolean;
  readonly size: number;
}

/** Parses every entry; `issues` names each one that is not a name, address or CIDR block. */
export function parseAllowHosts(entries: readonly string[]): { readonly list: AllowList; readonly issues: readonly string[] } {
  const names = new Set<string>();
  const suffixes: string[] = [];
  const blocks = new BlockList();
  const issues: string[] = [];
  for (const entry of entries) {
    const raw = entry.trim();
    const cidr = /^\[?([^\]/]+)\]?\/(\d{1,3})$/.exec(raw);
    if (cidr) {
      const [, net, bitsText] = cidr as unknown as [string, string, string];
      const bits = Number(bitsText);
      const family = isIPv4(net) ? 'ipv4' : isIPv6(net) ? 'ipv6' : undefined;
      if (!family || bits > (family === 'ipv4' ? 32 : 128)) issues.push(`"${entry}" is not a valid CIDR block`);
      else blocks.addSubnet(net, bits, family);
      continue;
    }
    const wildcard = raw.startsWith('*.');
    const host = parseHost(wildcard ? raw.slice(2) : raw);
    if (!host || (wildcard && host.kind !== 'name')) {
      issues.push(`"${entry}" is not a host name, *.name, IP address or CIDR block`);
    } else if (host.kind === 'ip') {
      blocks.addAddress(host.address, host.family === 4 ? 'ipv4' : 'ipv6');
    } else if (wildcard) {
      suffixes.push(`.${host.name}`);
    } else {
      names.add(host.name);
    }
  }
  const list: AllowList = {
    size: entries.length,
    allowsName: (name) => names.has(name) || suffixes.some((s) => name.endsWith(s)),
    allowsAddress: (address) => {
      const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
      return family !== undefined && blocks.check(address, family);
    },
  };
  return { list, issues };
}
