import { describe, expect, it } from "vitest";
import { parseConfig } from "./config/load-config.js";
import {
  blockedUrlHost,
  canonicalAddress,
  connectRefusal,
  createEgressGuard,
  metadataRanges,
  parseHostRange,
} from "./egress-guard.js";

const guard = createEgressGuard({ allowedHosts: [] });

describe("egress guard", () => {
  it("refuses every metadata range by default", () => {
    expect(metadataRanges).toEqual([
      "169.254.0.0/16",
      "100.100.100.200",
      "fe80::/10",
      "fd00:ec2::254",
      "64:ff9b::a9fe:0/112",
      "64:ff9b::6464:64c8",
      "2002:a9fe::/32",
      "2002:6464:64c8::/48",
    ]);
    for (const address of ["169.254.169.254", "169.254.0.0", "169.254.255.255", "169.254.170.2"])
      expect(guard.blocks(address), address).toBe(true);
    expect(guard.blocks("100.100.100.200")).toBe(true);
    for (const address of ["fe80::1", "fe80::a9fe:a9fe", "febf:ffff::1", "FE80::1", "fe80::1%eth0"])
      expect(guard.blocks(address), address).toBe(true);
    for (const address of ["fd00:ec2::254", "fd00:0ec2:0:0:0:0:0:254", "[fd00:ec2::254]"])
      expect(guard.blocks(address), address).toBe(true);
  });

  it("refuses the NAT64 and 6to4 forms of the IPv4 metadata addresses, and nothing next to them", () => {
    for (const address of [
      "64:ff9b::a9fe:a9fe",
      "64:ff9b::169.254.169.254",
      "64:ff9b::6464:64c8",
      "2002:a9fe:a9fe::1",
      "2002:6464:64c8::",
    ])
      expect(guard.blocks(address), address).toBe(true);
    for (const address of ["64:ff9b::a9ff:1", "64:ff9b::808:808", "2002:a9ff::1", "2002:6464:64c9::1"])
      expect(guard.blocks(address), address).toBe(false);
  });

  it("refuses the IPv4-mapped IPv6 forms, however they are written", () => {
    for (const address of [
      "::ffff:169.254.169.254",
      "::ffff:a9fe:a9fe",
      "0:0:0:0:0:ffff:169.254.1.2",
      "::FFFF:A9FE:0102",
      "::ffff:100.100.100.200",
      "::ffff:6464:64c8",
    ])
      expect(guard.blocks(address), address).toBe(true);
  });

  it("lets ordinary addresses through, the neighbours of the blocked ones included", () => {
    for (const address of [
      "127.0.0.1",
      "::1",
      "10.0.0.1",
      "192.168.1.1",
      "8.8.8.8",
      "169.253.255.255",
      "169.255.0.0",
      "100.100.100.199",
      "100.100.100.201",
      "fec0::1",
      "fd00:ec2::253",
      "fd00:ec2::255",
      "2606:4700::1111",
      "::ffff:127.0.0.1",
      "::ffff:8.8.8.8",
    ])
      expect(guard.blocks(address), address).toBe(false);
  });

  it("is not asked about names: only an IP can be blocked", () => {
    expect(guard.blocks("metadata.google.internal")).toBe(false);
    expect(guard.blocks("")).toBe(false);
  });

  it("lets admin_allowed_hosts through, as addresses or ranges, mapped forms included", () => {
    const allowing = createEgressGuard({
      allowedHosts: ["169.254.169.254", "fe80::/16", "::ffff:100.100.100.200"],
    });
    expect(allowing.blocks("169.254.169.254")).toBe(false);
    expect(allowing.blocks("::ffff:169.254.169.254")).toBe(false);
    expect(allowing.blocks("169.254.169.253")).toBe(true);
    expect(allowing.blocks("fe80::1")).toBe(false);
    expect(allowing.blocks("fe81::1")).toBe(true); // in fe80::/10, not in fe80::/16
    expect(allowing.blocks("100.100.100.200")).toBe(false);
    expect(allowing.blocks("fd00:ec2::254")).toBe(true);
    const range = createEgressGuard({ allowedHosts: ["169.254.0.0/16"] });
    expect(range.blocks("169.254.1.1")).toBe(false);
    expect(range.blocks("::ffff:169.254.1.1")).toBe(false);
    expect(range.blocks("100.100.100.200")).toBe(true);
  });

  it("takes another blocked list, so the connect-time path can be tested on loopback", () => {
    const loopback = createEgressGuard({ allowedHosts: [], blockedHosts: ["127.0.0.0/8", "::1"] });
    expect(loopback.blocks("127.0.0.1")).toBe(true);
    expect(loopback.blocks("::ffff:127.0.0.1")).toBe(true);
    expect(loopback.blocks("::1")).toBe(true);
    expect(loopback.blocks("169.254.169.254")).toBe(false);
  });

  it("refuses an invalid entry by name", () => {
    expect(() => createEgressGuard({ allowedHosts: ["metadata.internal"] })).toThrow(
      'admin_allowed_hosts entry "metadata.internal" must be an IP address or a CIDR range',
    );
  });

  it("parses addresses and CIDR ranges, IPv4-mapped ones as IPv4", () => {
    expect(parseHostRange("169.254.169.254")).toEqual({
      address: "169.254.169.254",
      prefix: 32,
      family: "ipv4",
    });
    expect(parseHostRange("169.254.0.0/16")).toEqual({ address: "169.254.0.0", prefix: 16, family: "ipv4" });
    expect(parseHostRange("fe80::/10")).toEqual({ address: "fe80::", prefix: 10, family: "ipv6" });
    expect(parseHostRange("::ffff:169.254.0.0/112")).toEqual({
      address: "169.254.0.0",
      prefix: 16,
      family: "ipv4",
    });
    for (const bad of [
      "",
      "metadata",
      "169.254.0.0/33",
      "fe80::/129",
      "169.254.0.0/",
      "1.2.3.4/8/8",
      "1.2.3.4/x",
    ])
      expect(parseHostRange(bad), bad).toBeUndefined();
    expect(canonicalAddress("::ffff:a9fe:a9fe")).toEqual({ address: "169.254.169.254", family: "ipv4" });
    expect(canonicalAddress("FD00:0EC2:0000::0254")).toEqual({ address: "fd00:ec2::254", family: "ipv6" });
  });

  it("finds a URL's literal blocked host, in every spelling the URL parser accepts", () => {
    const message = blockedUrlHost("http://169.254.169.254:8080/v1", guard);
    expect(message).toBe(
      "host 169.254.169.254 is refused: link-local/metadata addresses are not allowed for deployments applied through the admin API (see [server] admin_allowed_hosts)",
    );
    for (const url of [
      "http://[fe80::1]/v1",
      "http://[::ffff:169.254.169.254]/v1",
      "http://0xa9fea9fe/v1", // the URL parser reads it as 169.254.169.254
      "https://100.100.100.200",
      "http://[fd00:ec2::254]:80",
    ])
      expect(blockedUrlHost(url, guard), url).toBeDefined();
    for (const url of ["http://127.0.0.1:8000/v1", "https://api.openai.com/v1", "not a url"])
      expect(blockedUrlHost(url, guard), url).toBeUndefined();
  });

  it("names the address in the connect-time refusal", () => {
    expect(connectRefusal("169.254.169.254")).toBe(
      "connection to 169.254.169.254 refused: link-local/metadata addresses are not allowed for deployments applied through the admin API (see [server] admin_allowed_hosts)",
    );
  });
});

describe("[server] admin_allowed_hosts", () => {
  const load = (hosts: string) =>
    parseConfig(`[server]\nadmin_allowed_hosts = ${hosts}\n`, {
      runtimes: new Map(),
      secrets: { env: {}, readFile: () => "" },
    });

  it("takes IP addresses and CIDR ranges", () => {
    const result = load('["169.254.169.254", "169.254.0.0/16", "fd00:ec2::254", "fe80::/10"]');
    expect(result.ok && result.value.server.adminAllowedHosts).toEqual([
      "169.254.169.254",
      "169.254.0.0/16",
      "fd00:ec2::254",
      "fe80::/10",
    ]);
  });

  it("refuses anything else, naming the entry's path", () => {
    const result = load('["169.254.169.254", "metadata.google.internal", "10.0.0.0/40"]');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      {
        path: "server.admin_allowed_hosts[1]",
        message: 'must be an IP address or a CIDR range, e.g. "169.254.169.254" or "169.254.0.0/16"',
      },
      {
        path: "server.admin_allowed_hosts[2]",
        message: 'must be an IP address or a CIDR range, e.g. "169.254.169.254" or "169.254.0.0/16"',
      },
    ]);
  });
});
