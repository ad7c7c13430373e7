// The egress guard's address rules: a deployment applied through the admin API may not reach
// link-local or cloud metadata addresses unless `[server] admin_allowed_hosts` lists them. The
// remote session's connector (src/remote/guarded-connector.ts) asks it about every connected
// socket's resolved address; the admin service asks it about literal IP hosts at apply time.

import { BlockList, isIP } from "node:net";

/**
 * What the guard refuses by default: IPv4 and IPv6 link-local (AWS, GCP and Azure metadata live
 * at 169.254.169.254), AWS's IPv6 metadata address and Alibaba Cloud's metadata address, and the
 * translated IPv6 forms of the IPv4 ones that reach them through a gateway: NAT64
 * (64:ff9b::a9fe:x, the well-known prefix) and 6to4 (2002:a9fe::/32). Their IPv4-mapped IPv6 forms
 * (::ffff:169.254.x.y, ::ffff:100.100.100.200) are refused too.
 */
export const metadataRanges: readonly string[] = [
  "169.254.0.0/16",
  "100.100.100.200",
  "fe80::/10",
  "fd00:ec2::254",
  "64:ff9b::a9fe:0/112",
  "64:ff9b::6464:64c8",
  "2002:a9fe::/32",
  "2002:6464:64c8::/48",
];

type Family = "ipv4" | "ipv6";

/** One IP address or CIDR range, IPv4-mapped IPv6 forms turned into IPv4. */
export interface HostRange {
  readonly address: string;
  readonly prefix: number;
  readonly family: Family;
}

const MAPPED = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * An address in one canonical form: the zone (`%eth0`) dropped, IPv6 compressed, and an
 * IPv4-mapped IPv6 address (any spelling) as its IPv4 address. Undefined for a non-IP.
 */
export function canonicalAddress(address: string): { address: string; family: Family } | undefined {
  const bare = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const version = isIP(bare);
  if (version === 4) return { address: bare, family: "ipv4" };
  if (version !== 6) return undefined;
  // the WHATWG URL parser writes every spelling of an IPv6 address the same, compressed way
  const compressed = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = MAPPED.exec(compressed);
  if (!mapped) return { address: compressed, family: "ipv6" };
  const high = Number.parseInt(mapped[1] as string, 16);
  const low = Number.parseInt(mapped[2] as string, 16);
  return { address: [high >> 8, high & 255, low >> 8, low & 255].join("."), family: "ipv4" };
}

/** Parses "169.254.169.254", "169.254.0.0/16", "fe80::/10", "::ffff:169.254.0.0/112"…; undefined when it is none. */
export function parseHostRange(entry: string): HostRange | undefined {
  const [address, prefixText, ...rest] = entry.trim().split("/");
  if (address === undefined || rest.length > 0) return undefined;
  const canonical = canonicalAddress(address);
  if (!canonical) return undefined;
  const wasIpv6 = isIP(address.replace(/%.*$/, "")) === 6;
  const width = wasIpv6 ? 128 : 32;
  let prefix = width;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (prefix > width) return undefined;
  }
  if (wasIpv6 && canonical.family === "ipv4") {
    // an IPv4-mapped range: as IPv4 when it stays inside ::ffff:0:0/96, else keep it as IPv6
    if (prefix < 96) return { address: address.replace(/%.*$/, ""), prefix, family: "ipv6" };
    return { ...canonical, prefix: prefix - 96 };
  }
  return { ...canonical, prefix };
}

/** The zod message for an `admin_allowed_hosts` entry that is neither an IP address nor a CIDR range. */
export const hostRangeMessage =
  'must be an IP address or a CIDR range, e.g. "169.254.169.254" or "169.254.0.0/16"';

export interface EgressGuard {
  /**
   * True when `address` (an IP, as in `socket.remoteAddress`) is in the blocked ranges and not in
   * the allowed ones. The guarded connector calls it once each socket has connected; the admin
   * service calls it for a base URL's literal IP host. False for anything that is not an IP.
   */
  blocks(address: string): boolean;
}

function blockListOf(entries: readonly string[], what: string): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const range = parseHostRange(entry);
    if (!range) throw new Error(`${what} entry "${entry}" ${hostRangeMessage}`);
    list.addSubnet(range.address, range.prefix, range.family);
  }
  return list;
}

export function createEgressGuard(options: {
  /** `[server] admin_allowed_hosts`: exceptions to the blocked ranges. */
  readonly allowedHosts: readonly string[];
  /**
   * The refused ranges; `metadataRanges` unless given. Tests give loopback ranges so the
   * connect-time path can run against a local server.
   */
  readonly blockedHosts?: readonly string[];
}): EgressGuard {
  const blocked = blockListOf(options.blockedHosts ?? metadataRanges, "blocked host");
  const allowed = blockListOf(options.allowedHosts, "admin_allowed_hosts");
  return {
    blocks(address) {
      const canonical = canonicalAddress(address);
      if (!canonical) return false;
      return (
        blocked.check(canonical.address, canonical.family) &&
        !allowed.check(canonical.address, canonical.family)
      );
    },
  };
}

const SEE_ALSO =
  "link-local/metadata addresses are not allowed for deployments applied through the admin API (see [server] admin_allowed_hosts)";

/** The connect-time refusal, naming the resolved address. */
export function connectRefusal(address: string | undefined): string {
  return `connection to ${address ?? "an unknown address"} refused: ${SEE_ALSO}`;
}

/**
 * For a URL whose host is a literal IP the guard blocks, the apply-time problem message;
 * undefined for any other URL (a DNS name is checked when it connects).
 */
export function blockedUrlHost(url: string, guard: EgressGuard): string | undefined {
  let hostname: string;
  try {
    hostname = new URL(url).hostname;
  } catch {
    return undefined; // not a URL: the runtime's schema says so
  }
  const canonical = canonicalAddress(hostname);
  if (!canonical || !guard.blocks(canonical.address)) return undefined;
  return `host ${hostname.replace(/^\[|\]$/g, "")} is refused: ${SEE_ALSO}`;
}
