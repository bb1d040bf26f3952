/**
 * Feature flags of the ext2/3/4 superblock, and which of them this
 * implementation can read and write.
 */

/** `s_feature_incompat`: a filesystem with one we do not know cannot be read. */
export const Incompat = {
  COMPRESSION: 0x1,
  FILETYPE: 0x2,
  RECOVER: 0x4,
  JOURNAL_DEV: 0x8,
  META_BG: 0x10,
  EXTENTS: 0x40,
  BIT64: 0x80,
  MMP: 0x100,
  FLEX_BG: 0x200,
  EA_INODE: 0x400,
  DIRDATA: 0x1000,
  CSUM_SEED: 0x2000,
  LARGEDIR: 0x4000,
  INLINE_DATA: 0x8000,
  ENCRYPT: 0x10000,
  CASEFOLD: 0x20000,
} as const;

/** `s_feature_ro_compat`: one we cannot keep consistent means read-only. */
export const RoCompat = {
  SPARSE_SUPER: 0x1,
  LARGE_FILE: 0x2,
  BTREE_DIR: 0x4,
  HUGE_FILE: 0x8,
  GDT_CSUM: 0x10,
  DIR_NLINK: 0x20,
  EXTRA_ISIZE: 0x40,
  HAS_SNAPSHOT: 0x80,
  QUOTA: 0x100,
  BIGALLOC: 0x200,
  METADATA_CSUM: 0x400,
  REPLICA: 0x800,
  READONLY: 0x1000,
  PROJECT: 0x2000,
  SHARED_BLOCKS: 0x4000,
  VERITY: 0x8000,
  ORPHAN_PRESENT: 0x10000,
} as const;

/** `s_feature_compat`: informational for us. */
export const Compat = {
  SPARSE_SUPER2: 0x200,
} as const;

const INCOMPAT_NAMES: Record<number, string> = {
  [Incompat.COMPRESSION]: 'compression',
  [Incompat.FILETYPE]: 'filetype',
  [Incompat.RECOVER]: 'needs_recovery',
  [Incompat.JOURNAL_DEV]: 'journal_dev',
  [Incompat.META_BG]: 'meta_bg',
  [Incompat.EXTENTS]: 'extent',
  [Incompat.BIT64]: '64bit',
  [Incompat.MMP]: 'mmp',
  [Incompat.FLEX_BG]: 'flex_bg',
  [Incompat.EA_INODE]: 'ea_inode',
  [Incompat.DIRDATA]: 'dirdata',
  [Incompat.CSUM_SEED]: 'metadata_csum_seed',
  [Incompat.LARGEDIR]: 'large_dir',
  [Incompat.INLINE_DATA]: 'inline_data',
  [Incompat.ENCRYPT]: 'encrypt',
  [Incompat.CASEFOLD]: 'casefold',
};

const RO_COMPAT_NAMES: Record<number, string> = {
  [RoCompat.SPARSE_SUPER]: 'sparse_super',
  [RoCompat.LARGE_FILE]: 'large_file',
  [RoCompat.BTREE_DIR]: 'btree_dir',
  [RoCompat.HUGE_FILE]: 'huge_file',
  [RoCompat.GDT_CSUM]: 'uninit_bg',
  [RoCompat.DIR_NLINK]: 'dir_nlink',
  [RoCompat.EXTRA_ISIZE]: 'extra_isize',
  [RoCompat.HAS_SNAPSHOT]: 'snapshot',
  [RoCompat.QUOTA]: 'quota',
  [RoCompat.BIGALLOC]: 'bigalloc',
  [RoCompat.METADATA_CSUM]: 'metadata_csum',
  [RoCompat.REPLICA]: 'replica',
  [RoCompat.READONLY]: 'read-only',
  [RoCompat.PROJECT]: 'project',
  [RoCompat.SHARED_BLOCKS]: 'shared_blocks',
  [RoCompat.VERITY]: 'verity',
  [RoCompat.ORPHAN_PRESENT]: 'orphan_present',
};

/** Incompatible features this implementation reads. Any other bit refuses the filesystem. */
export const SUPPORTED_INCOMPAT =
  Incompat.FILETYPE |
  Incompat.RECOVER |
  Incompat.META_BG |
  Incompat.EXTENTS |
  Incompat.BIT64 |
  Incompat.MMP |
  Incompat.FLEX_BG |
  Incompat.EA_INODE |
  Incompat.CSUM_SEED |
  Incompat.LARGEDIR |
  Incompat.INLINE_DATA;

/** Read-only-compatible features whose metadata this implementation keeps right when it writes. */
export const WRITABLE_RO_COMPAT =
  RoCompat.SPARSE_SUPER |
  RoCompat.LARGE_FILE |
  RoCompat.BTREE_DIR |
  RoCompat.HUGE_FILE |
  RoCompat.GDT_CSUM |
  RoCompat.DIR_NLINK |
  RoCompat.EXTRA_ISIZE |
  RoCompat.METADATA_CSUM |
  RoCompat.PROJECT;

/** Incompatible features that are readable but that writing must not ignore (served read-only). */
export const READ_ONLY_INCOMPAT = Incompat.RECOVER | Incompat.MMP;

function names(bits: number, table: Record<number, string>): string[] {
  const out: string[] = [];
  for (let bit = 1; bit !== 0 && bit <= 0x80000000; bit = (bit << 1) >>> 0) {
    if ((bits & bit) >>> 0 !== 0) out.push(table[bit] ?? `0x${bit.toString(16)}`);
  }
  return out;
}

/** The names of incompatible feature bits (unknown bits as hex). */
export function incompatNames(bits: number): string[] {
  return names(bits >>> 0, INCOMPAT_NAMES);
}

/** The names of read-only-compatible feature bits (unknown bits as hex). */
export function roCompatNames(bits: number): string[] {
  return names(bits >>> 0, RO_COMPAT_NAMES);
}
