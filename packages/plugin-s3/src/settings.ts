import { parseBool, parseInteger, parseSize, type ParamSpec } from '@nbdkit-ts/core';

/** How the bucket is named in request URLs. */
export type Addressing = 'path' | 'virtual-host';

/** Everything the plugin was told on the command line, checked. */
export interface Settings {
  readonly bucket: string;
  /** The disk's name: its objects are stored under `key/`. */
  readonly key: string;
  /** The store's URL; undefined for Amazon S3. */
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly addressing: Addressing;
  readonly credentials: Credentials;
  /** Disk size to create the disk with, or to check against an existing one. */
  readonly size: bigint | undefined;
  /** Object size to create the disk with, or to check against an existing one. */
  readonly objectSize: number | undefined;
  /** Most HTTP requests in flight at once (the keep-alive connection pool). */
  readonly connections: number;
  /** How many times in all a throttled or failed request is tried. */
  readonly maxAttempts: number;
  /** Seconds before a silent connection is given up. */
  readonly timeout: number;
  /** Whether request bodies are hashed into the signature (else UNSIGNED-PAYLOAD). */
  readonly payloadSigning: boolean;
}

/** Where the credentials come from. */
export type Credentials =
  | {
      readonly from: 'parameters';
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      readonly sessionToken: string | undefined;
      readonly profile?: undefined;
    }
  | { readonly from: 'file'; readonly file: string; readonly profile: string | undefined }
  | { readonly from: 'default'; readonly profile: string | undefined };

/** The default object size: 4 MiB. */
export const DEFAULT_OBJECT_SIZE = 4 * 1024 * 1024;
/** Smallest and largest object size: powers of two, so the size can be the preferred block size. */
export const MIN_OBJECT_SIZE = 4096;
export const MAX_OBJECT_SIZE = 32 * 1024 * 1024;

/** The parameters of the plugin, for `--help` and routing. */
export const PARAMS: readonly ParamSpec[] = [
  { name: 'bucket', description: 'bucket holding the disk (required)' },
  { name: 'key', description: 'name of the disk: its objects are stored under KEY/ (required)' },
  { name: 'size', description: 'size of the disk to create; checked against an existing disk' },
  { name: 'object-size', description: `size of each chunk object, a power of two (default ${DEFAULT_OBJECT_SIZE / 1048576}M)` },
  { name: 'endpoint', description: 'URL of an S3-compatible store, e.g. http://127.0.0.1:7480 (default: Amazon S3)' },
  { name: 'endpoint-url', description: 'the same as endpoint=' },
  { name: 'region', description: 'region (default: $AWS_REGION, $AWS_DEFAULT_REGION or us-east-1)' },
  { name: 'addressing', description: 'path or virtual-host (default: path with endpoint=, else virtual-host)' },
  { name: 'access-key', description: 'access key id (with secret-key=)' },
  { name: 'secret-key', description: 'secret access key (with access-key=)' },
  { name: 'session-token', description: 'session token of temporary credentials' },
  { name: 'credentials-file', description: 'an AWS shared credentials file to read the keys from' },
  { name: 'profile', description: 'profile of the credentials file (default: $AWS_PROFILE or default)' },
  { name: 'connections', description: 'most HTTP requests in flight at once (default 16)' },
  { name: 'max-attempts', description: 'times in all a throttled or failed request is tried, with back-off (default 5)' },
  { name: 'timeout', description: 'seconds before a silent connection is given up (default 60)' },
  { name: 'payload-signing', description: 'hash written data into the request signature (default: yes over http, no over https)' },
];

/** Checks an object size: a power of two from {@link MIN_OBJECT_SIZE} to {@link MAX_OBJECT_SIZE}. */
export function checkObjectSize(what: string, size: bigint): number {
  if (size < BigInt(MIN_OBJECT_SIZE) || size > BigInt(MAX_OBJECT_SIZE) || (size & (size - 1n)) !== 0n) {
    throw new Error(`${what}: the object size must be a power of two from 4K to 32M`);
  }
  return Number(size);
}

/** Collects `key=value` parameters, then checks them together. */
export class SettingsBuilder {
  private readonly values = new Map<string, string>();

  /** Records one parameter; throws when it is malformed or given twice. */
  set(key: string, value: string): void {
    const name = key === 'endpoint-url' ? 'endpoint' : key;
    if (this.values.has(name)) throw new Error(`${key}= given more than once`);
    if (value === '' && key !== 'session-token') throw new Error(`${key}= must not be empty`);
    switch (name) {
      case 'size':
        parseSize(key, value);
        break;
      case 'object-size':
        checkObjectSize(`${key}=${value}`, parseSize(key, value));
        break;
      case 'endpoint':
        checkEndpoint(key, value);
        break;
      case 'addressing':
        if (value !== 'path' && value !== 'virtual-host') throw new Error(`${key}=${value}: expected path or virtual-host`);
        break;
      case 'key':
        if (value.startsWith('/') || value.endsWith('/')) throw new Error(`${key}=${value}: the key must not start or end with /`);
        break;
      case 'connections':
        parseInteger(key, value, 1, 1024);
        break;
      case 'max-attempts':
        parseInteger(key, value, 1, 100);
        break;
      case 'timeout':
        parseInteger(key, value, 1, 86400);
        break;
      case 'payload-signing':
        parseBool(key, value);
        break;
    }
    this.values.set(name, value);
  }

  /** Checks that required parameters were given and that they agree. */
  build(env: NodeJS.ProcessEnv = process.env): Settings {
    const v = (k: string) => this.values.get(k);
    const bucket = v('bucket');
    const key = v('key');
    if (bucket === undefined) throw new Error('bucket= is required: the bucket holding the disk');
    if (key === undefined) throw new Error('key= is required: the name of the disk inside the bucket');
    const endpoint = v('endpoint');
    const size = v('size');
    const objectSize = v('object-size');
    return {
      bucket,
      key,
      endpoint,
      region: v('region') ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1',
      addressing: (v('addressing') as Addressing | undefined) ?? (endpoint === undefined ? 'virtual-host' : 'path'),
      credentials: this.credentials(),
      size: size === undefined ? undefined : parseSize('size', size),
      objectSize: objectSize === undefined ? undefined : Number(parseSize('object-size', objectSize)),
      connections: parseInteger('connections', v('connections') ?? '16', 1, 1024),
      maxAttempts: parseInteger('max-attempts', v('max-attempts') ?? '5', 1, 100),
      timeout: parseInteger('timeout', v('timeout') ?? '60', 1, 86400),
      payloadSigning: parseBool('payload-signing', v('payload-signing') ?? String(endpoint !== undefined && new URL(endpoint).protocol === 'http:')),
    };
  }

  private credentials(): Credentials {
    const accessKeyId = this.values.get('access-key');
    const secretAccessKey = this.values.get('secret-key');
    const sessionToken = this.values.get('session-token');
    const file = this.values.get('credentials-file');
    const profile = this.values.get('profile');
    if (accessKeyId !== undefined || secretAccessKey !== undefined || sessionToken !== undefined) {
      if (accessKeyId === undefined || secretAccessKey === undefined) {
        throw new Error('access-key= and secret-key= must be given together');
      }
      if (file !== undefined || profile !== undefined) {
        throw new Error('access-key= cannot be combined with credentials-file= or profile=: give the keys one way');
      }
      return { from: 'parameters', accessKeyId, secretAccessKey, sessionToken: nonEmpty(sessionToken) };
    }
    if (file !== undefined) return { from: 'file', file, profile };
    return { from: 'default', profile };
  }
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

function checkEndpoint(key: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${key}=${value}: expected a URL such as http://127.0.0.1:7480`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${key}=${value}: the URL must start with http:// or https://`);
}
