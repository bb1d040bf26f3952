import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { runOk, tempDir } from '@nbdkit-ts/testing';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./ceph-cluster.sh', import.meta.url));

/** The SDK's notice about Node 20, for the tests' own clients (the plugin keeps it out of the servers' stderr itself). */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** A running single-node Ceph cluster with radosgw, made fresh for one test file. */
export interface Ceph {
  readonly dir: string;
  /** `http://127.0.0.1:PORT` of radosgw. */
  readonly endpoint: string;
  readonly port: number;
  /** Keys of the user that owns the test buckets. */
  readonly accessKey: string;
  readonly secretKey: string;
  /** Keys of a second user, who has no rights to the owner's buckets. */
  readonly otherAccessKey: string;
  readonly otherSecretKey: string;
  /** An S3 client of the owner, to look at the bucket from outside the server. */
  readonly s3: S3Client;
  /** Creates a bucket owned by the owner. */
  createBucket(name: string): Promise<void>;
  /** Lets the other user read (not write) a bucket. */
  allowOtherToRead(bucket: string): Promise<void>;
  /** The object keys under `prefix`, sorted. */
  keys(bucket: string, prefix: string): Promise<string[]>;
  /** An object's bytes. */
  object(bucket: string, key: string): Promise<Buffer>;
  /** Sets a radosgw option in the cluster's configuration and restarts radosgw to apply it. */
  setGatewayOption(name: string, value: string): Promise<void>;
  /** What radosgw logged so far (one line per request, with its HTTP status). */
  gatewayLog(): string;
  /** Stops radosgw (the data stays) and starts it again on the same port. */
  stopGateway(): Promise<void>;
  startGateway(): Promise<void>;
  /** Stops every daemon by its process id and removes the cluster's folder. */
  stop(): Promise<void>;
}

/**
 * Starts a fresh cluster (one monitor, one memstore OSD, radosgw) on ports
 * chosen for this run, every socket on 127.0.0.1. Fails, never skips, when
 * Ceph is not installed: the message names the Debian packages.
 */
export async function startCeph(): Promise<Ceph> {
  const dir = tempDir('nbdkit-ts-ceph-');
  let out: string;
  try {
    out = (await runOk(SCRIPT, ['start', dir], { timeout: 90_000 })).stdout;
  } catch (e) {
    await runOk(SCRIPT, ['stop', dir]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const info = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
    endpoint: string;
    accessKey: string;
    secretKey: string;
    otherAccessKey: string;
    otherSecretKey: string;
  };
  const s3 = new S3Client({
    endpoint: info.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: info.accessKey, secretAccessKey: info.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const stopGateway = async (): Promise<void> => {
    await runOk(SCRIPT, ['stop-rgw', dir]);
  };
  const startGateway = async (): Promise<void> => {
    await runOk(SCRIPT, ['start-rgw', dir], { timeout: 60_000 });
  };
  return {
    ...info,
    dir,
    port: Number(new URL(info.endpoint).port),
    s3,
    async createBucket(name) {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
    },
    async allowOtherToRead(bucket) {
      const policy = {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: ['arn:aws:iam:::user/other'] },
            Action: ['s3:GetObject', 's3:ListBucket'],
            Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
          },
        ],
      };
      await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
    },
    async keys(bucket, prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of r.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
        token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys.sort();
    },
    async object(bucket, key) {
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    },
    async setGatewayOption(name, value) {
      await runOk('ceph', ['config', 'set', 'client.rgw.0', name, value], { env: { CEPH_CONF: join(dir, 'ceph.conf') } });
      await stopGateway();
      await startGateway();
    },
    gatewayLog() {
      return readFileSync(join(dir, 'log/ceph-client.rgw.0.log'), 'utf8');
    },
    stopGateway,
    startGateway,
    async stop() {
      s3.destroy();
      await runOk(SCRIPT, ['stop', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
