import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Address ranges a stream source must never make the worker connect to, by the name logs give
 * them. A stream URL comes from whoever can start a stream on the platform; without this list it
 * would let them aim the worker's ffmpeg at anything the worker can reach: the cloud metadata
 * service (credentials), the NATS server, admin ports on the host, the rest of the private network.
 */
const DENIED: ReadonlyArray<readonly [label: string, cidr: string]> = [
  ['unspecified', '0.0.0.0/8'],
  ['private', '10.0.0.0/8'],
  // Carrier-grade NAT; also where Alibaba Cloud's metadata service (100.100.100.200) lives.
  ['cgnat', '100.64.0.0/10'],
  ['loopback', '127.0.0.0/8'],
  // Link-local; AWS, GCP, Azure and OpenStack metadata at 169.254.169.254.
  ['link-local', '169.254.0.0/16'],
  ['private', '172.16.0.0/12'],
  // IETF protocol assignments (DS-Lite, NAT64 discovery); nothing a stream is served from.
  ['reserved', '192.0.0.0/24'],
  ['documentation', '192.0.2.0/24'],
  ['private', '192.168.0.0/16'],
  ['benchmarking', '198.18.0.0/15'],
  ['documentation', '198.51.100.0/24'],
  ['documentation', '203.0.113.0/24'],
  ['multicast', '224.0.0.0/4'],
  // Reserved, and the limited broadcast address 255.255.255.255.
  ['reserved', '240.0.0.0/4'],

  ['unspecified', '::/128'],
  ['loopback', '::1/128'],
  ['discard', '100::/64'],
  // Local-use NAT64 (RFC 8215): translates to whatever IPv4 the local network chooses.
  ['nat64-local', '64:ff9b:1::/48'],
  // Teredo hides an obfuscated IPv4 address; no stream server needs it.
  ['teredo', '2001::/32'],
  ['documentation', '2001:db8::/32'],
  // Unique local addresses; AWS's IPv6 metadata endpoint fd00:ec2::254 is one.
  ['unique-local', 'fc00::/7'],
  ['link-local', 'fe80::/10'],
  ['site-local', 'fec0::/10'],
  ['multicast', 'ff00::/8'],
];

const byLabel = new Map<string, BlockList>();
for (const [label, cidr] of DENIED) {
  const [net, bits] = cidr.split('/') as [string, string];
  let list = byLabel.get(label);
  if (!list) byLabel.set(label, (list = new BlockList()));
  list.addSubnet(net, Number(bits), isIPv4(net) ? 'ipv4' : 'ipv6');
}

/**
 * The denied range an address is in (its label), or undefined when it is a public unicast
 * address. IPv6 forms that carry an IPv4 address (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d,
 * NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by the IPv4 address they lead to, so
 * `::ffff:127.0.0.1` is loopback. Anything that is not an IP address at all is `invalid`.
 */
export function deniedRange(address: string): string | undefined {
  if (isIPv4(address)) return labelOf(address, 'ipv4');
  if (!isIPv6(address)) return 'invalid';
  const embedded = embeddedIPv4(address);
  if (embedded !== undefined) return labelOf(embedded, 'ipv4');
  return labelOf(address, 'ipv6');
}

function labelOf(address: string, family: 'ipv4' | 'ipv6'): string | undefined {
  for (const [label, list] of byLabel) if (list.check(address, family)) return label;
  return undefined;
}

/** The IPv4 address an IPv6 address stands for, when it is one of the forms that embed one. */
export function embeddedIPv4(address: string): string | undefined {
  const words = ipv6Words(address);
  if (!words) return undefined;
  const zeros = (from: number, to: number): boolean => words.slice(from, to).every((w) => w === 0);
  const v4 = (hi: number, lo: number): string => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible; :: and ::1 themselves are left to the v6 table).
  if (zeros(0, 5) && words[5] === 0xffff) return v4(words[6]!, words[7]!);
  if (zeros(0, 6) && (words[6] !== 0 || words[7]! > 1)) return v4(words[6]!, words[7]!);
  // 64:ff9b::a.b.c.d, the well-known NAT64 prefix (RFC 6052).
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6)) return v4(words[6]!, words[7]!);
  // 2002:AABB:CCDD::/48, 6to4 (RFC 3056).
  if (words[0] === 0x2002) return v4(words[1]!, words[2]!);
  return undefined;
}

/** The eight 16-bit words of a valid IPv6 address (dotted IPv4 tail allowed), or undefined. */
export function ipv6Words(address: string): number[] | undefined {
  if (!isIPv6(address) || address.includes('%')) return undefined;
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const b = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const parse = (s: string): number[] => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const fill = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  const words = [...left, ...fill, ...right];
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : undefined;
}
