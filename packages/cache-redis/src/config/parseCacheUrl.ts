import { isIPv6 } from 'node:net';
import { describeValue } from '@toolkit/cache';

/** One Redis server: a host name, IPv4 address or (unbracketed) IPv6 address, and a port. */
export interface RedisNode {
  /** Host name or IP address; an IPv6 address comes without its URL brackets (`'::1'`). */
  host: string;
  /** TCP port, 1 to 65535. @default 6379 */
  port: number;
}

/** Keep everything in process memory: no L2, no backplane (`mem://`, `memory://`). */
export interface MemoryBackend {
  kind: 'memory';
}

/** One standalone Redis server (`redis://…` or `rediss://…` with a single host). */
export interface RedisBackend extends RedisNode {
  kind: 'redis';
  /** Logical database selected with `SELECT`: any non-negative integer. @default 0 */
  db: number;
  /** ACL user name, percent-decoded; absent when the URL has none. */
  username?: string;
  /** Password, percent-decoded; absent when the URL has none (or an empty one). */
  password?: string;
  /** `true` for `rediss://`. */
  tls: boolean;
}

/** A Redis Cluster reached through its seed nodes (`redis://node1:6379,node2:6379,…`). */
export interface ClusterBackend {
  kind: 'cluster';
  /** The seed nodes, in the order given; at least two, no duplicates. */
  nodes: RedisNode[];
  /** ACL user name shared by every node, percent-decoded; absent when the URL has none. */
  username?: string;
  /** Password shared by every node, percent-decoded; absent when the URL has none (or an empty one). */
  password?: string;
  /** `true` for `rediss://`. */
  tls: boolean;
}

/** Where the cache keeps its L2 values, as described by a cache URL (see {@link parseCacheUrl}). */
export type CacheBackend = MemoryBackend | RedisBackend | ClusterBackend;

const DEFAULT_PORT = 6379;

const GOOD_FORMS =
  'expected mem://, redis://[user[:password]@]host[:port][/db], rediss://… for TLS, ' +
  'or redis://node1:6379,node2:6379,node3:6379 for a Redis Cluster';

/**
 * Parses a cache URL, as found in `CACHE_URL` or `REDIS_URL`, into a {@link CacheBackend}.
 *
 * Accepted forms (surrounding whitespace is ignored, the scheme is case-insensitive):
 * - `mem://` or `memory://`: in-memory only, nothing may follow the scheme;
 * - `redis://[user[:password]@]host[:port][/db]`: one server; port 6379 and database 0 by default;
 *   user name and password are percent-decoded (write `@` as `%40`, `%` as `%25`); an empty
 *   password counts as none; an IPv6 host goes in brackets (`redis://[::1]:6380`);
 * - `rediss://…`: the same over TLS;
 * - `redis://node1:6379,node2:6379,node3:6379[/0]`: a Redis Cluster; scheme and credentials are
 *   given once, at the front, and apply to every node. A Cluster has only database 0, so `/0` is
 *   the only database allowed after a list. A list of one node is a plain server.
 *
 * Anything else (an unknown scheme, a bad host, port or database, a query string, a scheme repeated
 * or mixed inside a node list) throws a `TypeError` that names `variable`, shows the value with its
 * password replaced by `***`, and says what a good URL looks like.
 *
 * @param url the cache URL
 * @param variable the environment variable the URL comes from, named in error messages
 * @returns the backend the URL describes
 * @throws TypeError when the URL is not one of the forms above
 *
 * @example
 * parseCacheUrl('mem://');
 * // { kind: 'memory' }
 * parseCacheUrl('rediss://app:s%40cret@cache.internal:6380/2');
 * // { kind: 'redis', host: 'cache.internal', port: 6380, db: 2, username: 'app', password: 's@cret', tls: true }
 * parseCacheUrl('redis://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000');
 * // { kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, …], tls: false }
 * parseCacheUrl('http://cache:6379', 'REDIS_URL');
 * // TypeError: `REDIS_URL` has the unsupported scheme http://: got "http://cache:6379"; expected mem://, …
 */
export function parseCacheUrl(url: string, variable = 'CACHE_URL'): CacheBackend {
  if (typeof url !== 'string') {
    throw new TypeError(`\`${variable}\` must be a string, got ${describeValue(url)}`);
  }
  const value = url.trim();
  const fail = (problem: string): TypeError =>
    new TypeError(`\`${variable}\` ${problem}: got ${describeValue(maskCacheUrl(value))}; ${GOOD_FORMS}`);

  if (value === '') throw fail('is empty');
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(value);
  if (match === null) throw fail('does not start with a scheme such as redis://');
  const scheme = (match[1] ?? '').toLowerCase();
  const rest = match[2] ?? '';

  if (scheme === 'mem' || scheme === 'memory') {
    if (rest !== '') throw fail(`takes nothing after ${scheme}://`);
    return { kind: 'memory' };
  }
  if (scheme !== 'redis' && scheme !== 'rediss') throw fail(`has the unsupported scheme ${scheme}://`);
  const tls = scheme === 'rediss';

  const inner = /,\s*([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
  if (inner !== null) {
    const other = (inner[1] ?? '').toLowerCase();
    throw fail(
      other === scheme
        ? `repeats ${scheme}:// inside its node list; give the scheme and credentials once, at the front`
        : `mixes ${scheme}:// and ${other}:// in one node list; every node of a Cluster uses the scheme given once, at the front`,
    );
  }

  // The last '@' ends the credentials: a host, port or database never contains one.
  const at = rest.lastIndexOf('@');
  const credentials = at >= 0 ? parseCredentials(rest.slice(0, at), fail) : {};
  const location = at >= 0 ? rest.slice(at + 1) : rest;
  if (/[?#]/.test(location)) throw fail('has a query string or fragment, which is not supported');

  const slash = location.indexOf('/');
  const hostList = slash >= 0 ? location.slice(0, slash) : location;
  const db = parseDb(slash >= 0 ? location.slice(slash + 1) : '', fail);

  const items = hostList.split(',').map((item) => item.trim());
  if (items.length === 1 && items[0] === '') throw fail('has no host');
  const nodes = items.map((item) => parseNode(item, fail));

  const [first] = nodes;
  if (nodes.length === 1 && first !== undefined) {
    return { kind: 'redis', host: first.host, port: first.port, db, ...credentials, tls };
  }
  const seen = new Set<string>();
  for (const node of nodes) {
    const id = `${node.host.toLowerCase()}:${node.port}`;
    if (seen.has(id)) throw fail(`lists the node ${formatNode(node)} twice`);
    seen.add(id);
  }
  if (db !== 0) {
    throw fail(`selects database ${db} for a Cluster node list, but a Redis Cluster has only database 0 (drop /${db})`);
  }
  return { kind: 'cluster', nodes, ...credentials, tls };
}

/**
 * Replaces the password in a cache URL with `***`, so that the URL can be logged or shown in an
 * error message. Each URL of a comma-separated list is masked on its own; a string that is not a
 * well-formed URL is masked as far as it can be told apart (everything between the first `:` of the
 * credentials and the last `@` is hidden). A URL without a password is returned as it is.
 *
 * @param url the cache URL, well-formed or not
 * @returns the URL with its password, if any, replaced by `***`
 *
 * @example
 * maskCacheUrl('redis://app:s3cret@cache:6379/0'); // 'redis://app:***@cache:6379/0'
 */
export function maskCacheUrl(url: string): string {
  return url
    .split(/(?=,\s*[A-Za-z][A-Za-z0-9+.-]*:\/\/)/)
    .map(maskOne)
    .join('');
}

function maskOne(segment: string): string {
  const at = segment.lastIndexOf('@');
  if (at < 0) return segment;
  const schemeEnd = segment.indexOf('://');
  const start = schemeEnd >= 0 && schemeEnd < at ? schemeEnd + 3 : 0;
  const colon = segment.indexOf(':', start);
  if (colon < 0 || colon >= at || colon === at - 1) return segment;
  return `${segment.slice(0, colon + 1)}***${segment.slice(at)}`;
}

type Fail = (problem: string) => TypeError;

function parseCredentials(userinfo: string, fail: Fail): { username?: string; password?: string } {
  const colon = userinfo.indexOf(':');
  const username = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'user name', fail);
  const password = decode(colon >= 0 ? userinfo.slice(colon + 1) : '', 'password', fail);
  return {
    ...(username === '' ? {} : { username }),
    ...(password === '' ? {} : { password }),
  };
}

function decode(text: string, what: string, fail: Fail): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // Never echo the text: it may be the password.
    throw fail(`has a ${what} that is not valid percent-encoding (write a literal % as %25)`);
  }
}

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

function parseNode(text: string, fail: Fail): RedisNode {
  if (text === '') throw fail('has an empty entry in its node list');
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) throw fail(`has an IPv6 address without its closing bracket (${text})`);
    const inside = text.slice(1, close);
    const after = text.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw fail(`has unexpected text after the IPv6 address [${inside}]`);
    portText = after === '' ? undefined : after.slice(1);
    // A zone id is written %25zone in a URL (RFC 6874).
    host = inside.replace('%25', '%');
    if (!isIPv6(host)) throw fail(`has an invalid IPv6 address [${inside}]`);
  } else {
    const parts = text.split(':');
    if (parts.length > 2) throw fail(`has an IPv6 address without brackets (${text}); write it as [${text}]`);
    host = parts[0] ?? '';
    portText = parts[1];
    if (host === '') throw fail(`has no host before the port (${text})`);
    if (!host.split('.').every((label) => LABEL.test(label))) throw fail(`has an invalid host name ${describeValue(host)}`);
  }
  return { host, port: portText === undefined ? DEFAULT_PORT : parsePort(portText, fail) };
}

function parsePort(text: string, fail: Fail): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw fail(`has the invalid port ${describeValue(text)}; a port is a whole number from 1 to 65535`);
  }
  return port;
}

function parseDb(text: string, fail: Fail): number {
  if (text === '') return 0;
  const db = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(db)) {
    throw fail(`has the invalid database ${describeValue(text)}; a database is a non-negative whole number such as /0`);
  }
  return db;
}

function formatNode(node: RedisNode): string {
  return node.host.includes(':') ? `[${node.host}]:${node.port}` : `${node.host}:${node.port}`;
}
