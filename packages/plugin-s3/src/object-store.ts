import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { fromIni } from '@aws-sdk/credential-provider-ini';
import { nbdError, NbdkitError, Semaphore } from '@nbdkit-ts/core';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Readable } from 'node:stream';
import { keepAliveAgents } from './http-agent.js';
import type { Credentials, Settings } from './settings.js';
import { storeError, storeErrorName } from './store-errors.js';

/** One page of a listing. */
export interface Listing {
  readonly keys: readonly string[];
  /** Whether more keys follow the last one. */
  readonly truncated: boolean;
}

/** The client options that say where the credentials come from. */
function credentialOptions(c: Credentials): Pick<S3ClientConfig, 'credentials' | 'profile'> {
  const profile = c.profile === undefined ? {} : { profile: c.profile };
  switch (c.from) {
    case 'parameters':
      return {
        credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }) },
      };
    case 'file':
      return { credentials: fromIni({ filepath: c.file, ...profile }) };
    case 'default':
      return profile;
  }
}

const SDK_NODE_WARNING = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * A client, made without the SDK's NodeVersionSupportWarning, which it prints on Node 20 (its
 * versions from 2027 on need Node 22) once per process, when the first client is made. The
 * environment variable that turns it off is set only while the client is made, unless the user
 * set it.
 */
function newClient(config: S3ClientConfig): S3Client {
  if (process.env[SDK_NODE_WARNING] !== undefined) return new S3Client(config);
  process.env[SDK_NODE_WARNING] = 'true';
  try {
    return new S3Client(config);
  } finally {
    Reflect.deleteProperty(process.env, SDK_NODE_WARNING);
  }
}

function clientConfig(s: Settings): S3ClientConfig {
  return {
    region: s.region,
    ...(s.endpoint === undefined ? {} : { endpoint: s.endpoint }),
    forcePathStyle: s.addressing === 'path',
    ...credentialOptions(s.credentials),
    maxAttempts: s.maxAttempts,
    retryMode: 'standard',
    // Checksums only where the API requires one: many S3-compatible stores reject the newer headers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      ...keepAliveAgents(s.connections),
      connectionTimeout: s.timeout * 1000,
      requestTimeout: s.timeout * 1000,
    }),
  };
}

/**
 * The bucket, seen through the calls the disk needs. At most
 * `connections` requests are in flight at once, over keep-alive
 * connections; throttled and failed requests are retried with back-off by
 * the S3 client; errors come out as errno-style errors (see storeError).
 */
export class ObjectStore {
  private readonly client: S3Client;
  private readonly slots: Semaphore;
  readonly bucket: string;
  /** The store's address, for messages. */
  readonly endpoint: string;

  constructor(settings: Settings) {
    this.client = newClient(clientConfig(settings));
    if (!settings.payloadSigning) {
      // A payload hash the signer finds already set is not computed.
      this.client.middlewareStack.add(
        (next) => (args) => {
          const request = args.request as { headers?: Record<string, string> };
          if (request.headers !== undefined) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
          return next(args);
        },
        { step: 'build', name: 'unsignedPayload' },
      );
    }
    this.slots = new Semaphore(settings.connections);
    this.bucket = settings.bucket;
    this.endpoint = settings.endpoint ?? `Amazon S3 (${settings.region})`;
  }

  /** `s3://bucket/key`, for messages. */
  url(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  private async call<T>(what: string, key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await this.slots.run(run);
    } catch (e) {
      if (e instanceof NbdkitError) throw e;
      throw storeError(e, `${what} ${this.url(key)}`, this.endpoint);
    }
  }

  /**
   * Reads `target.length` bytes of object `key` from `start` into `target`
   * with one ranged GET. Returns false, leaving `target` alone, when the
   * object does not exist.
   */
  readRange(key: string, start: number, target: Uint8Array): Promise<boolean> {
    return this.call('GET', key, async () => {
      let body: Readable;
      try {
        const r = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${start + target.length - 1}` }),
        );
        body = r.Body as Readable;
      } catch (e) {
        if (storeErrorName(e) === 'NoSuchKey') return false;
        if (storeErrorName(e) === 'InvalidRange') throw shortObject(this.url(key), start + target.length);
        throw e;
      }
      const got = await copyInto(body, target);
      if (got !== target.length) throw shortObject(this.url(key), start + target.length, got > target.length ? 'longer' : 'shorter');
      return true;
    });
  }

  /** Reads a whole small object as text, or undefined when it does not exist. */
  readText(key: string): Promise<string | undefined> {
    return this.call('GET', key, async () => {
      try {
        const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        return await (r.Body as { transformToString(): Promise<string> }).transformToString();
      } catch (e) {
        if (storeErrorName(e) === 'NoSuchKey') return undefined;
        throw e;
      }
    });
  }

  /** Writes object `key`; resolves once the store acknowledged it. */
  put(key: string, body: Uint8Array): Promise<void> {
    return this.call('PUT', key, async () => {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length }));
    });
  }

  /** Deletes object `key` (deleting a missing object succeeds). */
  delete(key: string): Promise<void> {
    return this.call('DELETE', key, async () => {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    });
  }

  /** Lists up to `max` keys under `prefix` that sort after `startAfter`. */
  list(prefix: string, startAfter: string | undefined, max: number): Promise<Listing> {
    return this.call('LIST', prefix, async () => {
      const r = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, MaxKeys: max, ...(startAfter === undefined ? {} : { StartAfter: startAfter }) }),
      );
      return { keys: (r.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [o.Key])), truncated: r.IsTruncated === true };
    });
  }

  /** Closes the connections. */
  close(): void {
    this.client.destroy();
  }
}

/**
 * Copies a response body into `target` as it arrives (data events, no
 * buffering), and returns how many bytes the body had.
 */
function copyInto(body: Readable, target: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    let at = 0;
    body.on('data', (part: Buffer) => {
      if (at + part.length <= target.length) target.set(part, at);
      at += part.length;
    });
    body.once('end', () => resolve(at));
    body.once('error', reject);
  });
}

function shortObject(url: string, expected: number, how = 'shorter'): NbdkitError {
  return nbdError('EIO', `GET ${url}: the object is ${how} than the ${expected} bytes its chunk needs: the disk is damaged`);
}
