import { spawnSync } from 'node:child_process';

/** Every external program the tests drive, and the Debian package that has it. */
export const TEST_TOOLS: Readonly<Record<string, string>> = {
  nbdinfo: 'libnbd-bin',
  nbdcopy: 'libnbd-bin',
  nbdsh: 'libnbd-bin',
  'qemu-img': 'qemu-utils',
  'qemu-io': 'qemu-utils',
  fio: 'fio',
  mke2fs: 'e2fsprogs',
  debugfs: 'e2fsprogs',
  e2fsck: 'e2fsprogs',
  nbdkit: 'nbdkit',
  openssl: 'openssl',
  fincore: 'util-linux',
  losetup: 'mount',
  chattr: 'e2fsprogs',
  sfdisk: 'fdisk',
  fdisk: 'fdisk',
  sgdisk: 'gdisk',
  parted: 'parted',
  strace: 'strace',
  'ceph-mon': 'ceph-mon',
  'ceph-osd': 'ceph-osd',
  radosgw: 'radosgw',
  ceph: 'ceph-common',
};

/** PATH with /usr/bin first: nbdsh needs the system python3, which has the nbd module. */
export const TEST_PATH = `/usr/bin:/usr/sbin:/bin:/sbin:${process.env.PATH ?? ''}`;

/** The tools in TEST_TOOLS that are not installed. */
export function missingTools(): string[] {
  return Object.keys(TEST_TOOLS).filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { env: { ...process.env, PATH: TEST_PATH } }).status !== 0);
}
