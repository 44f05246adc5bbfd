import { maskCacheUrl, parseCacheUrl } from './parseCacheUrl';

/** The message of the error `parse` throws; fails the test when it does not throw a TypeError. */
function errorOf(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error('expected a TypeError, but nothing was thrown');
}

describe('parseCacheUrl: accepted forms', () => {
  it.each(['mem://', 'memory://', 'MEM://', ' mem://\n'])('reads %j as the memory backend', (url) => {
    expect(parseCacheUrl(url)).toStrictEqual({ kind: 'memory' });
  });

  it('reads a bare redis:// host with port 6379 and database 0 by default', () => {
    expect(parseCacheUrl('redis://localhost')).toStrictEqual({ kind: 'redis', host: 'localhost', port: 6379, db: 0, tls: false });
  });

  it('reads port and database', () => {
    expect(parseCacheUrl('redis://cache.example.com:6380/3')).toStrictEqual({
      kind: 'redis',
      host: 'cache.example.com',
      port: 6380,
      db: 3,
      tls: false,
    });
  });

  it('accepts any non-negative database number, beyond the default 16 databases', () => {
    expect(parseCacheUrl('redis://h/0')).toMatchObject({ db: 0 });
    expect(parseCacheUrl('redis://h/15')).toMatchObject({ db: 15 });
    expect(parseCacheUrl('redis://h/16')).toMatchObject({ db: 16 });
    expect(parseCacheUrl('redis://h:6379/1000')).toMatchObject({ db: 1000 });
  });

  it('reads an empty path (a trailing slash) as database 0', () => {
    expect(parseCacheUrl('redis://h:7000/')).toStrictEqual({ kind: 'redis', host: 'h', port: 7000, db: 0, tls: false });
  });

  it('reads the seed documentation examples', () => {
    expect(parseCacheUrl('redis://localhost:6379/0')).toStrictEqual({ kind: 'redis', host: 'localhost', port: 6379, db: 0, tls: false });
    expect(parseCacheUrl('redis://user:password@redis.example.com:6379/0')).toStrictEqual({
      kind: 'redis',
      host: 'redis.example.com',
      port: 6379,
      db: 0,
      username: 'user',
      password: 'password',
      tls: false,
    });
    expect(parseCacheUrl('rediss://redis.example.com:6379/0')).toStrictEqual({
      kind: 'redis',
      host: 'redis.example.com',
      port: 6379,
      db: 0,
      tls: true,
    });
  });

  it('turns TLS on for rediss:// only, whatever the case of the scheme', () => {
    expect(parseCacheUrl('rediss://h')).toMatchObject({ kind: 'redis', tls: true });
    expect(parseCacheUrl('REDISS://h')).toMatchObject({ kind: 'redis', tls: true });
    expect(parseCacheUrl('Redis://h')).toMatchObject({ kind: 'redis', tls: false });
  });

  it('reads a password without a user name, and a user name without a password', () => {
    expect(parseCacheUrl('redis://:s3cret@h')).toStrictEqual({ kind: 'redis', host: 'h', port: 6379, db: 0, password: 's3cret', tls: false });
    expect(parseCacheUrl('redis://app@h')).toStrictEqual({ kind: 'redis', host: 'h', port: 6379, db: 0, username: 'app', tls: false });
  });

  it('treats empty credentials as none', () => {
    expect(parseCacheUrl('redis://app:@h')).toStrictEqual({ kind: 'redis', host: 'h', port: 6379, db: 0, username: 'app', tls: false });
    expect(parseCacheUrl('redis://@h')).toStrictEqual({ kind: 'redis', host: 'h', port: 6379, db: 0, tls: false });
  });

  it('percent-decodes user name and password', () => {
    expect(parseCacheUrl('redis://us%3Aer:p%40ss%2Fw%3Ard%25@h:6379/1')).toMatchObject({
      username: 'us:er',
      password: 'p@ss/w:rd%',
    });
  });

  it('splits credentials at the last @ and the first :, so raw @ and : in a password survive', () => {
    expect(parseCacheUrl('redis://app:p@ss:w@rd@h:6379')).toMatchObject({ host: 'h', username: 'app', password: 'p@ss:w@rd' });
  });

  it('reads an IPv6 host in brackets, with or without a port', () => {
    expect(parseCacheUrl('redis://[::1]:6380/2')).toStrictEqual({ kind: 'redis', host: '::1', port: 6380, db: 2, tls: false });
    expect(parseCacheUrl('redis://[2001:db8::7]')).toMatchObject({ host: '2001:db8::7', port: 6379 });
    expect(parseCacheUrl('redis://u:p@[fe80::1%25eth0]:6379')).toMatchObject({ host: 'fe80::1%eth0', password: 'p' });
  });

  it('accepts host names with digits, dashes and underscores, and IPv4 addresses', () => {
    expect(parseCacheUrl('redis://redis_primary-1.svc.cluster.local')).toMatchObject({ host: 'redis_primary-1.svc.cluster.local' });
    expect(parseCacheUrl('redis://10.0.0.12:6379')).toMatchObject({ host: '10.0.0.12', port: 6379 });
  });

  it('reads a comma-separated node list as a Cluster, scheme and credentials given once', () => {
    expect(parseCacheUrl('redis://node1:6379,node2:6379,node3:6379')).toStrictEqual({
      kind: 'cluster',
      nodes: [
        { host: 'node1', port: 6379 },
        { host: 'node2', port: 6379 },
        { host: 'node3', port: 6379 },
      ],
      tls: false,
    });
    expect(parseCacheUrl('rediss://app:s%40cret@node1:7000,[::1]:7001,node3')).toStrictEqual({
      kind: 'cluster',
      nodes: [
        { host: 'node1', port: 7000 },
        { host: '::1', port: 7001 },
        { host: 'node3', port: 6379 },
      ],
      username: 'app',
      password: 's@cret',
      tls: true,
    });
  });

  it('allows /0 (and a trailing slash) after a Cluster node list, as in the seed example', () => {
    expect(parseCacheUrl('redis://node1:6379,node2:6379,node3:6379/0')).toMatchObject({ kind: 'cluster' });
    expect(parseCacheUrl('redis://node1,node2/')).toMatchObject({ kind: 'cluster' });
  });

  it('ignores spaces around the commas of a node list', () => {
    expect(parseCacheUrl('redis://a:1, b:2 ,c:3')).toMatchObject({
      nodes: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
        { host: 'c', port: 3 },
      ],
    });
  });

  it('reads a list of one node as a plain server', () => {
    expect(parseCacheUrl('redis://node1:6379/4')).toStrictEqual({ kind: 'redis', host: 'node1', port: 6379, db: 4, tls: false });
  });
});

describe('parseCacheUrl: rejections', () => {
  it('names the variable it was given, CACHE_URL by default', () => {
    expect(errorOf(() => parseCacheUrl('http://h'))).toMatch(/^`CACHE_URL` /);
    expect(errorOf(() => parseCacheUrl('http://h', 'REDIS_URL'))).toMatch(/^`REDIS_URL` /);
  });

  it('says what a good URL looks like', () => {
    const message = errorOf(() => parseCacheUrl('http://h'));
    expect(message).toContain('mem://');
    expect(message).toContain('redis://[user[:password]@]host[:port][/db]');
    expect(message).toContain('rediss://');
    expect(message).toContain('redis://node1:6379,node2:6379,node3:6379');
  });

  it.each(['', '   ', '\n'])('rejects the empty value %j', (url) => {
    expect(errorOf(() => parseCacheUrl(url))).toMatch(/`CACHE_URL` is empty/);
  });

  it('rejects a value that is not a string', () => {
    expect(errorOf(() => parseCacheUrl(undefined as unknown as string))).toBe('`CACHE_URL` must be a string, got undefined');
  });

  it.each([
    ['http://cache:6379', 'http://'],
    ['unix:///tmp/redis.sock', 'unix://'],
    ['valkey://cache', 'valkey://'],
  ])('rejects the unknown scheme of %j', (url, scheme) => {
    expect(errorOf(() => parseCacheUrl(url))).toContain(`has the unsupported scheme ${scheme}: got ${JSON.stringify(url)}`);
  });

  it.each(['redis:/x', 'redis:x', 'localhost:6379', '//cache:6379'])('rejects %j, which has no scheme://', (url) => {
    expect(errorOf(() => parseCacheUrl(url))).toContain('does not start with a scheme such as redis://');
  });

  it('rejects anything after mem://', () => {
    expect(errorOf(() => parseCacheUrl('mem://?size=100'))).toContain('takes nothing after mem://');
    expect(errorOf(() => parseCacheUrl('memory://x'))).toContain('takes nothing after memory://');
  });

  it.each(['0', '70000', '65536', 'abc', '-1', '6379.5', ''])('rejects the port %j', (port) => {
    expect(errorOf(() => parseCacheUrl(`redis://h:${port}/0`))).toContain(
      `has the invalid port ${JSON.stringify(port)}; a port is a whole number from 1 to 65535`,
    );
  });

  it('accepts the edge ports 1 and 65535', () => {
    expect(parseCacheUrl('redis://h:1')).toMatchObject({ port: 1 });
    expect(parseCacheUrl('redis://h:65535')).toMatchObject({ port: 65535 });
  });

  it.each(['-1', '1.5', 'abc', '0/1', ' 1', '99999999999999999999'])('rejects the database %j', (db) => {
    expect(errorOf(() => parseCacheUrl(`redis://h:6379/${db}`))).toContain(`has the invalid database ${JSON.stringify(db)}`);
  });

  it('rejects a database other than 0 after a Cluster node list', () => {
    expect(errorOf(() => parseCacheUrl('redis://node1:6379,node2:6379,node3:6379/1'))).toContain(
      'selects database 1 for a Cluster node list, but a Redis Cluster has only database 0',
    );
  });

  it('rejects mixed schemes in a node list', () => {
    expect(errorOf(() => parseCacheUrl('redis://node1:6379,rediss://node2:6379'))).toContain(
      'mixes redis:// and rediss:// in one node list',
    );
    expect(errorOf(() => parseCacheUrl('rediss://a, mem://'))).toContain('mixes rediss:// and mem://');
  });

  it('rejects a scheme repeated inside a node list', () => {
    expect(errorOf(() => parseCacheUrl('redis://node1:6379,redis://node2:6379'))).toContain(
      'repeats redis:// inside its node list; give the scheme and credentials once, at the front',
    );
  });

  it('rejects an empty entry in a node list, and a missing host', () => {
    expect(errorOf(() => parseCacheUrl('redis://a:6379,,b:6379'))).toContain('has an empty entry in its node list');
    expect(errorOf(() => parseCacheUrl('redis://a:6379,'))).toContain('has an empty entry in its node list');
    expect(errorOf(() => parseCacheUrl('redis://'))).toContain('has no host');
    expect(errorOf(() => parseCacheUrl('redis://u:p@/0'))).toContain('has no host');
    expect(errorOf(() => parseCacheUrl('redis://:6379'))).toContain('has no host before the port');
  });

  it('rejects the same node listed twice', () => {
    expect(errorOf(() => parseCacheUrl('redis://a:6379,b:6379,A:6379'))).toContain('lists the node A:6379 twice');
    expect(errorOf(() => parseCacheUrl('redis://[::1]:7000,[::1]:7000'))).toContain('lists the node [::1]:7000 twice');
  });

  it('rejects unbracketed or malformed IPv6 hosts', () => {
    expect(errorOf(() => parseCacheUrl('redis://::1:6379'))).toContain('has an IPv6 address without brackets');
    expect(errorOf(() => parseCacheUrl('redis://[::1:6379'))).toContain('without its closing bracket');
    expect(errorOf(() => parseCacheUrl('redis://[::1]6379'))).toContain('unexpected text after the IPv6 address [::1]');
    expect(errorOf(() => parseCacheUrl('redis://[not-an-ip]:6379'))).toContain('has an invalid IPv6 address [not-an-ip]');
    expect(errorOf(() => parseCacheUrl('redis://[127.0.0.1]'))).toContain('has an invalid IPv6 address');
  });

  it.each(['my host', 'a..b', '-lead', 'trail-', 'h%20x', 'host!'])('rejects the host name %j', (host) => {
    expect(errorOf(() => parseCacheUrl(`redis://${host}:6379`))).toContain(`has an invalid host name ${JSON.stringify(host)}`);
  });

  it('rejects query strings and fragments rather than ignoring them', () => {
    expect(errorOf(() => parseCacheUrl('redis://h:6379/0?family=6'))).toContain('has a query string or fragment');
    expect(errorOf(() => parseCacheUrl('redis://h:6379#x'))).toContain('has a query string or fragment');
  });

  it('rejects credentials that are not valid percent-encoding, without echoing them', () => {
    const message = errorOf(() => parseCacheUrl('redis://app:100%real@h'));
    expect(message).toContain('has a password that is not valid percent-encoding (write a literal % as %25)');
    expect(message).not.toContain('100%real');
    expect(errorOf(() => parseCacheUrl('redis://b%ZZob:x@h'))).toContain('has a user name that is not valid percent-encoding');
  });
});

describe('parseCacheUrl: passwords never reach an error message', () => {
  const secret = 'Sup3r-S3cret';

  it.each([
    [`http://app:${secret}@h:6379`, '"http://app:***@h:6379"'],
    [`redis://app:${secret}@h:70000/0`, '"redis://app:***@h:70000/0"'],
    [`redis://app:${secret}@h:6379/-1`, '"redis://app:***@h:6379/-1"'],
    [`rediss://:${secret}@a:1,b:2/3`, '"rediss://:***@a:1,b:2/3"'],
    [`redis://app:${secret}@a:1,rediss://app:${secret}@b:2`, '"redis://app:***@a:1,rediss://app:***@b:2"'],
    [`redis:/app:${secret}@h`, '"redis:***@h"'],
    [`redis://app:${secret}@h?tls=true`, '"redis://app:***@h?tls=true"'],
    [`redis://app:p@${secret}@bad host`, '"redis://app:***@bad host"'],
  ])('masks the password of %j', (url, shown) => {
    const message = errorOf(() => parseCacheUrl(url));
    expect(message).not.toContain(secret);
    expect(message).toContain(`got ${shown}`);
  });
});

describe('maskCacheUrl', () => {
  it('replaces the password with ***, keeping the user name', () => {
    expect(maskCacheUrl('redis://app:s3cret@cache:6379/0')).toBe('redis://app:***@cache:6379/0');
    expect(maskCacheUrl('rediss://:s3cret@cache')).toBe('rediss://:***@cache');
  });

  it('returns a URL without a password as it is', () => {
    expect(maskCacheUrl('redis://cache:6379/0')).toBe('redis://cache:6379/0');
    expect(maskCacheUrl('redis://app@cache:6379')).toBe('redis://app@cache:6379');
    expect(maskCacheUrl('redis://app:@cache:6379')).toBe('redis://app:@cache:6379');
    expect(maskCacheUrl('mem://')).toBe('mem://');
  });

  it('hides everything up to the last @, so a raw @ in a password is hidden too', () => {
    expect(maskCacheUrl('redis://app:p@ss@cache')).toBe('redis://app:***@cache');
  });

  it('masks a string without a scheme', () => {
    expect(maskCacheUrl('app:s3cret@cache:6379')).toBe('app:***@cache:6379');
  });
});
