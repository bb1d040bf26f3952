#!/usr/bin/env node
// Sequential write and read of a disk through `nbdkit-ts s3` (with nbdcopy),
// against what the store itself takes: parallel PUT and GET of objects of the
// same size, with a minimal SigV4 client on node:http and with the AWS SDK
// the plugin uses. Starts its own throw-away Ceph cluster (test/ceph-cluster.sh)
// and prints a table with the ratios.
//
//   node packages/plugin-s3/bench/s3-bench.mjs [--size=1G] [--object-size=4M] [--connections=16] [--runs=3]
//
// Not part of the test suite: it takes a few minutes and its numbers depend on
// the machine.
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createHmac, randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { Agent } from 'node:http';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const units = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 };
const bytes = (s) => Number(s.replace(/[KMG]$/i, '')) * (units[s.slice(-1).toUpperCase()] ?? 1);
const SIZE = bytes(args.size ?? '1G');
const OBJECT = bytes(args['object-size'] ?? '4M');
const CONNECTIONS = Number(args.connections ?? 16);
const RUNS = Number(args.runs ?? 3);
const COUNT = SIZE / OBJECT;
const MiB = 2 ** 20;

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const CLUSTER = here('../test/ceph-cluster.sh');
const CLI = process.env.NBDKIT_TS_CLI ?? here('../../server/dist/cli/main.js');
const PATH = `/usr/bin:/usr/sbin:/bin:/sbin:${process.env.PATH}`;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** CPU seconds (user + system) a process has used so far. */
function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of the store's daemons (radosgw and the OSD) so far. */
const storeCpu = () => ['rgw', 'osd'].reduce((sum, d) => sum + cpuOf(Number(readFileSync(join(cluster, `pid.${d}`), 'utf8'))), 0);

/** Runs `task`, and returns its MiB/s and the CPU seconds per GiB of the client (`clientCpu()`) and of the store. */
async function measured(task, clientCpu) {
  const c0 = clientCpu();
  const s0 = storeCpu();
  const start = performance.now();
  await task();
  const seconds = (performance.now() - start) / 1000;
  const perGiB = 2 ** 30 / SIZE;
  return { rate: SIZE / MiB / seconds, client: (clientCpu() - c0) * perGiB, store: (storeCpu() - s0) * perGiB };
}

const ownCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function sh(cmd, argv, env = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, PATH, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** A minimal S3 client: SigV4 with an unsigned payload, keep-alive connections, nothing else. */
function minimalClient(endpoint, accessKey, secretKey) {
  const url = new URL(endpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const hmac = (k, s) => createHmac('sha256', k).update(s).digest();
  const hash = (s) => createHash('sha256').update(s).digest('hex');
  function send(method, path, body) {
    const now = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const scope = `${now.slice(0, 8)}/us-east-1/s3/aws4_request`;
    const headers = { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': now };
    const names = Object.keys(headers).sort();
    const canonical = [method, path, '', ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), 'UNSIGNED-PAYLOAD'].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${secretKey}`, now.slice(0, 8)), 'us-east-1'), 's3'), 'aws4_request');
    const signature = hmac(key, ['AWS4-HMAC-SHA256', now, scope, hash(canonical)].join('\n')).toString('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    if (body !== undefined) headers['content-length'] = body.length;
    return new Promise((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, method, path, headers, agent }, (res) => {
        let n = 0;
        res.on('data', (d) => (n += d.length));
        res.on('end', () => (res.statusCode < 300 ? resolve(n) : reject(new Error(`${method} ${path}: HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  }
  return {
    createBucket: (b) => send('PUT', `/${b}`),
    put: (b, k, body) => send('PUT', `/${b}/${k}`, body),
    get: (b, k) => send('GET', `/${b}/${k}`),
    delete: (b, k) => send('DELETE', `/${b}/${k}`),
    close: () => agent.destroy(),
  };
}

function sdkClient(endpoint, accessKey, secretKey) {
  const s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: CONNECTIONS }) }),
  });
  return {
    put: (b, k, body) => s3.send(new PutObjectCommand({ Bucket: b, Key: k, Body: body })),
    async get(b, k) {
      const r = await s3.send(new GetObjectCommand({ Bucket: b, Key: k }));
      let n = 0;
      for await (const part of r.Body) n += part.length;
      return n;
    },
    delete: (b, k) => s3.send(new DeleteObjectCommand({ Bucket: b, Key: k })),
    close: () => s3.destroy(),
  };
}

/** Runs `task(i)` for i in [0, COUNT) with CONNECTIONS in flight. */
async function parallel(task) {
  let next = 0;
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (next < COUNT) await task(next++);
  }));
}

/**
 * One sequential write and read of SIZE bytes as objects, then their removal,
 * with a new client (the store drops keep-alive connections left idle).
 */
async function rawRun(makeClient, bucket) {
  const client = makeClient();
  try {
    const body = randomFillSync(Buffer.alloc(OBJECT));
    const write = await measured(() => parallel((i) => client.put(bucket, `o${i}`, body)), ownCpu);
    const read = await measured(() => parallel((i) => client.get(bucket, `o${i}`)), ownCpu);
    await parallel((i) => client.delete(bucket, `o${i}`));
    return { write, read };
  } finally {
    client.close();
  }
}


/** Starts `nbdkit-ts s3` on a fresh disk; returns its URI and a stop function. */
async function startPlugin(endpoint, info, key, extra) {
  const sockDir = mkdtempSync(join(tmpdir(), 's3-bench-sock-'));
  const socket = join(sockDir, 'nbd.sock');
  const server = spawn(process.execPath, [
    CLI, '-f', '-U', socket, 's3', `endpoint=${endpoint}`, 'bucket=disks', `key=${key}`, `size=${SIZE}`,
    `object-size=${OBJECT}`, `connections=${CONNECTIONS}`, `access-key=${info.accessKey}`, `secret-key=${info.secretKey}`, ...extra,
  ], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, PATH } });
  for (let i = 0; !existsSync(socket); i++) {
    if (i > 300 || server.exitCode !== null) throw new Error('the server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    uri: `nbd+unix:///?socket=${socket}`,
    cpu: () => cpuOf(server.pid),
    async stop() {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
      rmSync(sockDir, { recursive: true, force: true });
    },
  };
}

/**
 * One sequential write (from `image`) and read (to nowhere) of the whole disk
 * with nbdcopy, then a trim of the whole disk (its objects are deleted), so
 * that every run writes new objects as the raw runs do.
 */
async function pluginRun(server, image) {
  const write = await measured(async () => sh('nbdcopy', ['--connections=4', '--flush', image, server.uri]), server.cpu);
  const read = await measured(async () => sh('nbdcopy', ['--connections=4', server.uri, 'null:']), server.cpu);
  sh('nbdsh', ['-u', server.uri, '-c', 'h.trim(h.get_size(), 0)']);
  return { write, read };
}

const dir = mkdtempSync(join(tmpdir(), 's3-bench-'));
const image = join(dir, 'data.img');
const fd = openSync(image, 'w');
const block = Buffer.alloc(16 * MiB);
for (let at = 0; at < SIZE; at += block.length) writeSync(fd, randomFillSync(block), 0, Math.min(block.length, SIZE - at));
closeSync(fd);
const cluster = join(dir, 'ceph');
sh('mkdir', ['-p', cluster]);
const servers = [];
try {
  const info = JSON.parse(sh(CLUSTER, ['start', cluster], { MEMSTORE_BYTES: String(SIZE * 4 + 512 * MiB) }).trim().split('\n').at(-1));
  const endpoint = info.endpoint;
  const minimal = () => minimalClient(endpoint, info.accessKey, info.secretKey);
  const sdk = () => sdkClient(endpoint, info.accessKey, info.secretKey);
  const admin = minimal();
  await admin.createBucket('raw');
  await admin.createBucket('disks');
  admin.close();
  const signed = await startPlugin(endpoint, info, 'signed', []);
  servers.push(signed);
  const unsigned = await startPlugin(endpoint, info, 'unsigned', ['payload-signing=no']);
  servers.push(unsigned);
  const results = [
    { name: 'store: minimal client (UNSIGNED-PAYLOAD)', run: () => rawRun(minimal, 'raw') },
    { name: 'store: AWS SDK v3 client (signed payload)', run: () => rawRun(sdk, 'raw') },
    { name: 'plugin, payload-signing=yes (the default over http)', run: () => pluginRun(signed, image) },
    { name: 'plugin, payload-signing=no', run: () => pluginRun(unsigned, image) },
  ].map((r) => ({ ...r, write: undefined, read: undefined }));
  const best = (a, b) => (a === undefined || b.rate > a.rate ? b : a);
  // Interleaved runs, so that other load on the machine falls on every line alike; the best run counts.
  for (let run = 0; run < RUNS; run++) {
    for (const r of results) {
      const m = await r.run();
      r.write = best(r.write, m.write);
      r.read = best(r.read, m.read);
      process.stderr.write(`run ${run + 1}: ${r.name}: write ${m.write.rate.toFixed(1)} MiB/s, read ${m.read.rate.toFixed(1)} MiB/s\n`);
    }
  }
  const base = results[0];
  const load = loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`\n${SIZE / MiB} MiB, objects of ${OBJECT / MiB} MiB, ${CONNECTIONS} requests in flight, best of ${RUNS} runs (MiB/s); load average at the end ${load}\n`);
  console.log('CPU: seconds per GiB of the client (the bench process, or the nbdkit-ts server) and of the store (radosgw + OSD), in the best run.\n');
  console.log('| what | write MiB/s | read MiB/s | write / store | read / store | write CPU client, store | read CPU client, store |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const pct = (a, b) => `${Math.round((100 * a.rate) / b.rate)}%`;
  const cpu = (m) => `${m.client.toFixed(2)}, ${m.store.toFixed(2)}`;
  for (const r of results) {
    console.log(`| ${r.name} | ${r.write.rate.toFixed(1)} | ${r.read.rate.toFixed(1)} | ${pct(r.write, base.write)} | ${pct(r.read, base.read)} | ${cpu(r.write)} | ${cpu(r.read)} |`);
  }
} finally {
  for (const server of servers) await server.stop();
  spawnSync(CLUSTER, ['stop', cluster], { stdio: 'inherit', env: { ...process.env, PATH } });
  rmSync(dir, { recursive: true, force: true });
}
