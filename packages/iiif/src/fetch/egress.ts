import { promises as dns, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { LoupeError, type Logger } from '@loupe/contracts';
import { Agent, buildConnector, fetch as undiciFetch, type Dispatcher } from 'undici';
import { connectionError, lowLevelCode } from './fetch-errors.js';

/** One address a host name resolves to. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all its addresses (node:dns `lookup` with `all: true` by default). */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export interface EgressOptions {
  /** Refuse loopback, private, link-local, CGNAT, multicast, reserved and other non-public addresses. */
  readonly denyPrivate: boolean;
  /** Host names (matched exactly against the URL's host), IP addresses and CIDR blocks (matched against each resolved address) let through anyway. */
  readonly allow?: readonly string[] | undefined;
  /** Tests make names resolve where they like; default node:dns lookup. */
  readonly lookup?: Resolver | undefined;
  /** Where a refusal's reason goes: it is never told to the caller. */
  readonly log?: Pick<Logger, 'warn'> | undefined;
  /** Certificates trusted besides Node's own (a private CA); NODE_EXTRA_CA_CERTS does the same for the whole process. */
  readonly ca?: string | Buffer | undefined;
}

/** Addresses checked for one URL, pinned for the connections made to its host until `release`. */
export interface EgressLease {
  /** The first checked address and the port: what one server is, whatever the URL's spelling. */
  readonly key: string;
  release(): void;
}

export type EgressFetch = (input: string | URL, init?: Parameters<typeof undiciFetch>[1]) => ReturnType<typeof undiciFetch>;

/**
 * The one gate every outbound request passes (SSRF defence). A host name is resolved once, every
 * address it resolves to is checked, and the connection goes to a checked address: the dispatcher's
 * connector never resolves a name itself except through the same check, so a DNS answer that
 * changes between check and connect (rebinding) cannot reach a denied address. TLS still verifies
 * the certificate against the URL's host name.
 */
export interface EgressPolicy {
  readonly denyPrivate: boolean;
  /** Resolves and checks the URL's host; throws LOUPE_ERR_FETCH_EGRESS_REFUSED, LOUPE_ERR_FETCH_DNS (no such host) or LOUPE_ERR_FETCH_NETWORK. */
  admit(url: URL): Promise<EgressLease>;
  /** An undici dispatcher whose every new connection goes to a checked address (redirect hops included). */
  readonly dispatcher: Dispatcher;
  /** fetch() through `dispatcher`; a refusal rejects with the LoupeError itself. */
  readonly fetch: EgressFetch;
  close(): Promise<void>;
}

/** Ranges no public service lives in, named for the log. */
const DENIED_V4: readonly (readonly [string, string, number])[] = [
  ['"this network"', '0.0.0.0', 8],
  ['private', '10.0.0.0', 8],
  ['carrier-grade NAT', '100.64.0.0', 10],
  ['loopback', '127.0.0.0', 8],
  ['link-local (cloud metadata)', '169.254.0.0', 16],
  ['private', '172.16.0.0', 12],
  ['IETF protocol assignments', '192.0.0.0', 24],
  ['documentation', '192.0.2.0', 24],
  ['6to4 relay anycast', '192.88.99.0', 24],
  ['private', '192.168.0.0', 16],
  ['benchmarking', '198.18.0.0', 15],
  ['documentation', '198.51.100.0', 24],
  ['documentation', '203.0.113.0', 24],
  ['multicast', '224.0.0.0', 4],
  ['reserved and broadcast', '240.0.0.0', 4],
];

const DENIED_V6: readonly (readonly [string, string, number])[] = [
  ['unspecified', '::', 128],
  ['loopback', '::1', 128],
  ['discard-only', '100::', 64],
  ['NAT64 local-use', '64:ff9b:1::', 48],
  ['Teredo', '2001::', 32],
  ['documentation', '2001:db8::', 32],
  ['documentation', '3fff::', 20],
  ['unique local (private)', 'fc00::', 7],
  ['site-local', 'fec0::', 10],
  ['link-local', 'fe80::', 10],
  ['multicast', 'ff00::', 8],
];

/**
 * IPv6 forms that carry an IPv4 address, and where: the IPv4 one is what gets checked, so
 * `::ffff:127.0.0.1`, `64:ff9b::7f00:1` or `2002:7f00:1::` are as loopback as 127.0.0.1.
 */
const EMBEDS_V4: readonly (readonly [string, readonly number[], number])[] = [
  ['IPv4-mapped', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 12],
  ['IPv4-translated', [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], 12],
  ['NAT64', [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 12],
  ['IPv4-compatible', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 12],
  ['6to4', [0x20, 0x02], 2],
];

function blockList(ranges: readonly (readonly [string, string, number])[], type: 'ipv4' | 'ipv6'): readonly (readonly [string, BlockList])[] {
  return ranges.map(([name, net, prefix]) => {
    const list = new BlockList();
    list.addSubnet(net, prefix, type);
    return [name, list] as const;
  });
}

const DENIED_V4_LISTS = blockList(DENIED_V4, 'ipv4');
const DENIED_V6_LISTS = blockList(DENIED_V6, 'ipv6');

/** The 16 bytes of an IPv6 address (valid, as node:net's isIPv6 says; a zone is ignored). */
function ipv6Bytes(address: string): number[] {
  const bare = address.split('%')[0]!;
  const groups = (text: string): number[] => {
    if (text === '') return [];
    return text.split(':').flatMap((part) => {
      if (part.includes('.')) {
        const [a, b, c, d] = part.split('.').map(Number) as [number, number, number, number];
        return [(a << 8) | b, (c << 8) | d];
      }
      return [parseInt(part, 16)];
    });
  };
  const [head, tail] = bare.includes('::') ? bare.split('::') : [bare, undefined];
  const front = groups(head!);
  const back = tail === undefined ? [] : groups(tail);
  const words = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** Why `address` is refused when private ranges are denied, or undefined for a public address. */
export function deniedRange(address: string): string | undefined {
  const family = isIP(address.split('%')[0]!);
  if (family === 4) return DENIED_V4_LISTS.find(([, list]) => list.check(address, 'ipv4'))?.[0];
  if (family !== 6) return 'not an IP address';
  const bytes = ipv6Bytes(address);
  const bare = address.split('%')[0]!;
  // Exact ranges first: `::` and `::1` also lie inside the IPv4-compatible prefix.
  const direct = DENIED_V6_LISTS.find(([, list]) => list.check(bare, 'ipv6'))?.[0];
  if (direct) return direct;
  for (const [form, prefix, at] of EMBEDS_V4) {
    if (prefix.every((b, i) => bytes[i] === b)) {
      const v4 = bytes.slice(at, at + 4).join('.');
      const inner = deniedRange(v4);
      return inner && `${form} ${v4} (${inner})`;
    }
  }
  return undefined;
}

/** `[::1]` -> `::1`, `Example.ORG.` -> `example.org`: the host as the allow list and the resolver see it. */
function bareHost(hostname: string): string {
  const unbracketed = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return unbracketed.toLowerCase().replace(/\.$/, '');
}

interface AllowList {
  readonly hosts: ReadonlySet<string>;
  readonly nets: BlockList;
}

function parseAllow(entries: readonly string[]): AllowList {
  const hosts = new Set<string>();
  const nets = new BlockList();
  const problems: string[] = [];
  for (const entry of entries) {
    const [rawAddress, rawPrefix] = entry.trim().split('/') as [string, string | undefined];
    const address = bareHost(rawAddress);
    const family = isIP(address);
    if (family === 0) {
      if (rawPrefix !== undefined || address === '') problems.push(`${JSON.stringify(entry)}: not a host name, an IP address or a CIDR block`);
      else hosts.add(address);
      continue;
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const prefix = rawPrefix === undefined ? (family === 4 ? 32 : 128) : Number(rawPrefix);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
      problems.push(`${JSON.stringify(entry)}: the prefix length must be 0 to ${family === 4 ? 32 : 128}`);
      continue;
    }
    nets.addSubnet(address, prefix, type);
  }
  if (problems.length > 0) {
    throw new LoupeError('LOUPE_ERR_CONFIG_INVALID', `Invalid egress allow list: ${problems.join('; ')}`, { details: { problems } });
  }
  return { hosts, nets };
}

const systemLookup: Resolver = async (hostname) =>
  (await dns.lookup(hostname, { all: true })).map((a: LookupAddress) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

/** IPv4 first, as resolved within each family: one stable first address per server for the per-host limit. */
const ipv4First = (addresses: readonly ResolvedAddress[]): ResolvedAddress[] => [
  ...addresses.filter((a) => a.family === 4),
  ...addresses.filter((a) => a.family === 6),
];

/** What refusals say to anyone outside: the URL, never the address or the range. */
function refused(url: string): LoupeError {
  return new LoupeError('LOUPE_ERR_FETCH_EGRESS_REFUSED', `${url}: refused by egress policy`, { details: { url } });
}

/** Builds the policy; `createEgressPolicy(config.egress)` in a process entry. */
export function createEgressPolicy(options: EgressOptions): EgressPolicy {
  const allow = parseAllow(options.allow ?? []);
  const lookup = options.lookup ?? systemLookup;
  const pins = new Map<string, { addresses: readonly ResolvedAddress[]; holders: number }>();

  /** The reason to refuse `addresses` for `host`, or undefined: every address must pass. */
  function refusal(host: string, addresses: readonly ResolvedAddress[]): { address: string; range: string } | undefined {
    if (!options.denyPrivate || allow.hosts.has(host)) return undefined;
    for (const { address, family } of addresses) {
      if (allow.nets.check(address, family === 4 ? 'ipv4' : 'ipv6')) continue;
      const range = deniedRange(address);
      if (range) return { address, range };
    }
    return undefined;
  }

  /** Resolves `host` (an IP literal resolves to itself) and checks it; `shown` names it in errors. */
  async function checkedAddresses(host: string, shown: string): Promise<readonly ResolvedAddress[]> {
    const family = isIP(host);
    let addresses: readonly ResolvedAddress[];
    if (family !== 0) {
      addresses = [{ address: host, family: family as 4 | 6 }];
    } else {
      try {
        addresses = ipv4First(await lookup(host));
      } catch (err) {
        options.log?.warn({ url: shown, host, cause: lowLevelCode(err) ?? String(err) }, 'lookup failed');
        throw connectionError(shown, host, err);
      }
      if (addresses.length === 0) throw new LoupeError('LOUPE_ERR_FETCH_NETWORK', `could not fetch ${shown}`, { details: { url: shown } });
    }
    const why = refusal(host, addresses);
    if (why) {
      options.log?.warn({ url: shown, host, address: why.address, range: why.range }, 'egress refused');
      throw refused(shown);
    }
    return addresses;
  }

  async function admit(url: URL): Promise<EgressLease> {
    const host = bareHost(url.hostname);
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    let pin = pins.get(host);
    if (!pin) {
      const addresses = await checkedAddresses(host, url.href);
      // Another request may have pinned the host meanwhile: share its addresses, so both agree.
      pin = pins.get(host) ?? { addresses, holders: 0 };
      pins.set(host, pin);
    }
    pin.holders++;
    const held = pin;
    const first = held.addresses[0]!;
    let released = false;
    return {
      key: first.family === 6 ? `[${first.address}]:${port}` : `${first.address}:${port}`,
      release() {
        if (released) return;
        released = true;
        if (--held.holders === 0 && pins.get(host) === held) pins.delete(host);
      },
    };
  }

  /**
   * node:net's `lookup` hook: the pinned addresses of an admitted host, or a fresh resolution
   * through the same check (a redirect that fetch() follows on its own, a connection made after
   * the lease ended). Either way only checked addresses reach the socket.
   */
  function checkedLookup(
    hostname: string,
    opts: { all?: boolean; family?: number | string },
    callback: (err: Error | null, address?: string | LookupAddress[], family?: number) => void,
  ): void {
    const host = bareHost(hostname);
    const pinned = pins.get(host)?.addresses;
    (pinned ? Promise.resolve(pinned) : checkedAddresses(host, host)).then(
      (addresses) => {
        const wanted = opts.family === 4 || opts.family === 6 ? addresses.filter((a) => a.family === opts.family) : addresses;
        if (wanted.length === 0) return callback(new LoupeError('LOUPE_ERR_FETCH_NETWORK', `could not fetch ${host}`, { details: { url: host } }));
        if (opts.all) return callback(null, wanted.map((a) => ({ address: a.address, family: a.family })));
        return callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (err: Error) => callback(err),
    );
  }

  const connectChecked = buildConnector({ lookup: checkedLookup, ...(options.ca !== undefined && { ca: options.ca }) } as buildConnector.BuildOptions);
  const dispatcher = new Agent({
    // node:net skips `lookup` for an IP literal, so literals are checked here before the socket opens.
    connect(opts, callback) {
      const host = bareHost(opts.hostname);
      if (isIP(host) !== 0) {
        const shown = `${opts.protocol}//${opts.host ?? host}`;
        checkedAddresses(host, shown).then(
          () => connectChecked(opts, callback),
          (err: Error) => callback(err, null),
        );
        return;
      }
      connectChecked(opts, callback);
    },
  });

  const policyFetch: EgressFetch = async (input, init) => {
    try {
      return await undiciFetch(input, { ...init, dispatcher });
    } catch (err) {
      // fetch() wraps a connector's error in a TypeError: hand back the refusal itself.
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof LoupeError && cause.code === 'LOUPE_ERR_FETCH_EGRESS_REFUSED') throw refused(String(input));
      throw err;
    }
  };

  return {
    denyPrivate: options.denyPrivate,
    admit,
    dispatcher,
    fetch: policyFetch,
    close: () => dispatcher.close(),
  };
}
