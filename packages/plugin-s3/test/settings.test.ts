import { describe, expect, it } from 'vitest';
import { cliPath, run, startServer } from '@nbdkit-ts/testing';
import { decodeMetadata, encodeMetadata, Layout } from '../src/layout.js';
import { SettingsBuilder } from '../src/settings.js';

function build(params: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  const b = new SettingsBuilder();
  for (const [k, v] of Object.entries(params)) b.set(k, v);
  return b.build(env);
}

describe('plugin-s3 parameters', () => {
  it('defaults: path-style with an endpoint, virtual-host without; region from the environment', () => {
    const s = build({ bucket: 'b', key: 'k', endpoint: 'http://127.0.0.1:7480' });
    expect(s).toMatchObject({
      addressing: 'path',
      region: 'us-east-1',
      connections: 16,
      maxAttempts: 5,
      timeout: 60,
      size: undefined,
      objectSize: undefined,
      payloadSigning: true,
    });
    expect(s.credentials).toEqual({ from: 'default', profile: undefined });
    expect(build({ bucket: 'b', key: 'k' }, { AWS_REGION: 'eu-west-3' })).toMatchObject({
      addressing: 'virtual-host',
      region: 'eu-west-3',
      endpoint: undefined,
      payloadSigning: false,
    });
    expect(build({ bucket: 'b', key: 'k', endpoint: 'HTTPS://ceph.example' }).payloadSigning).toBe(false);
    expect(build({ bucket: 'b', key: 'k', endpoint: 'http://ceph.example', 'payload-signing': 'no' }).payloadSigning).toBe(false);
    expect(build({ bucket: 'b', key: 'k', region: 'ap-south-1' }, { AWS_REGION: 'eu-west-3' }).region).toBe('ap-south-1');
    expect(build({ bucket: 'b', key: 'k' }, { AWS_DEFAULT_REGION: 'sa-east-1' }).region).toBe('sa-east-1');
  });

  it('parses sizes, endpoint-url=, counts and the three sources of credentials', () => {
    const s = build({ bucket: 'b', key: 'a/b', 'endpoint-url': 'https://s3.example', size: '20G', 'object-size': '64K', connections: '4', 'max-attempts': '1', timeout: '5' });
    expect(s).toMatchObject({ endpoint: 'https://s3.example', size: 20n << 30n, objectSize: 65536, connections: 4, maxAttempts: 1, timeout: 5 });
    expect(build({ bucket: 'b', key: 'k', 'access-key': 'A', 'secret-key': 'S', 'session-token': 'T' }).credentials).toEqual({
      from: 'parameters',
      accessKeyId: 'A',
      secretAccessKey: 'S',
      sessionToken: 'T',
    });
    expect(build({ bucket: 'b', key: 'k', 'credentials-file': '/c', profile: 'p' }).credentials).toEqual({ from: 'file', file: '/c', profile: 'p' });
    expect(build({ bucket: 'b', key: 'k', profile: 'p' }).credentials).toEqual({ from: 'default', profile: 'p' });
  });

  it.each([
    [{ key: 'k' }, /^bucket= is required/],
    [{ bucket: 'b' }, /^key= is required/],
    [{ bucket: 'b', key: 'k', 'access-key': 'A' }, /access-key= and secret-key= must be given together/],
    [{ bucket: 'b', key: 'k', 'secret-key': 'S' }, /access-key= and secret-key= must be given together/],
    [{ bucket: 'b', key: 'k', 'access-key': 'A', 'secret-key': 'S', 'credentials-file': '/c' }, /access-key= cannot be combined with credentials-file=/],
  ])('refuses %j', (params, message) => {
    expect(() => build(params)).toThrow(message);
  });

  it.each([
    ['size', 'big', /^size=big: expected a size/],
    ['object-size', '3M', /^object-size=3M: the object size must be a power of two from 4K to 32M/],
    ['object-size', '2K', /^object-size=2K: the object size must be a power of two/],
    ['object-size', '64M', /^object-size=64M: the object size must be a power of two/],
    ['endpoint', 'localhost:7480', /^endpoint=localhost:7480: the URL must start with http:\/\/ or https:\/\//],
    ['endpoint-url', 'not a url', /^endpoint-url=not a url: expected a URL/],
    ['addressing', 'dns', /^addressing=dns: expected path or virtual-host/],
    ['key', 'vm1/', /^key=vm1\/: the key must not start or end with \//],
    ['connections', '0', /^connections=0: expected a whole number from 1 to 1024/],
    ['max-attempts', 'many', /^max-attempts=many: expected a whole number from 1 to 100/],
    ['timeout', '-1', /^timeout=-1: expected a whole number/],
    ['bucket', '', /^bucket= must not be empty/],
    ['payload-signing', 'maybe', /^payload-signing=maybe: expected a boolean/],
  ])('refuses %s=%s', (key, value, message) => {
    expect(() => new SettingsBuilder().set(key, value)).toThrow(message);
  });

  it('refuses a parameter given twice, also as endpoint= and endpoint-url=', () => {
    const b = new SettingsBuilder();
    b.set('endpoint', 'http://a');
    expect(() => b.set('endpoint-url', 'http://b')).toThrow('endpoint-url= given more than once');
  });

  it('the command line shows the errors, naming the parameter', async () => {
    await expect(startServer(['s3', 'key=vm1'])).rejects.toThrow(/s3: bucket= is required: the bucket holding the disk/);
    await expect(startServer(['s3', 'bucket=b', 'key=vm1', 'object-size=1000'])).rejects.toThrow(/object-size=1000: the object size must be a power of two/);
  });

  it("starts without the AWS SDK's NodeVersionSupportWarning", async () => {
    const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined };
    const args = [cliPath(), '-r', '-U', '-', 's3', 'endpoint=http://127.0.0.1:9', 'bucket=b', 'key=k', 'access-key=a', 'secret-key=s', 'max-attempts=1', '--run', 'true'];
    const r = await run(process.execPath, args, { env });
    expect(r.stderr).toContain('s3: ');
    expect(r.stderr).not.toContain('NodeVersionSupportWarning');
  });
});

describe('plugin-s3 layout', () => {
  const layout = new Layout('disks/vm1', 10n * 1024n * 1024n + 5n, 4 * 1024 * 1024);

  it('names chunks by 16 hex digits under KEY/, and the metadata object beside them', () => {
    expect(layout.chunks).toBe(3n);
    expect(layout.chunkKey(42n)).toBe('disks/vm1/000000000000002a');
    expect(layout.chunkIndex('disks/vm1/000000000000002a')).toBe(42n);
    expect(layout.chunkIndex('disks/vm1/metadata.json')).toBeUndefined();
    expect(layout.chunkIndex('disks/vm2/000000000000002a')).toBeUndefined();
    expect(layout.metadataKey).toBe('disks/vm1/metadata.json');
    expect(layout.chunkLength(1n)).toBe(4 * 1024 * 1024);
    expect(layout.chunkLength(2n)).toBe(2 * 1024 * 1024 + 5);
  });

  it('splits a request into one piece per chunk', () => {
    const MiB = 1024 * 1024;
    expect([...layout.pieces(3n * BigInt(MiB), 6 * MiB + 5)]).toEqual([
      { index: 0n, within: 3 * MiB, length: MiB, done: 0 },
      { index: 1n, within: 0, length: 4 * MiB, done: MiB },
      { index: 2n, within: 0, length: MiB + 5, done: 5 * MiB },
    ]);
  });

  it('round-trips the metadata and explains what is wrong with a bad one', () => {
    expect(decodeMetadata(encodeMetadata(layout), 'm')).toEqual({ size: layout.size, objectSize: layout.objectSize });
    expect(() => decodeMetadata('{', 's3://b/k/metadata.json')).toThrow("s3://b/k/metadata.json is not a disk's metadata (not JSON)");
    expect(() => decodeMetadata('{"format":"other"}', 'm')).toThrow('m is not a disk\'s metadata (format is not nbdkit-ts-s3-disk)');
    expect(() => decodeMetadata('{"format":"nbdkit-ts-s3-disk","version":2}', 'm')).toThrow('m has metadata version 2, which this plugin cannot read');
    expect(() => decodeMetadata('{"format":"nbdkit-ts-s3-disk","version":1,"size":5,"objectSize":4096}', 'm')).toThrow('m has a malformed size or objectSize');
  });
});
