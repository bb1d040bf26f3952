#!/usr/bin/env python3
"""Puts a disk image into a known page-cache state (Linux, Python standard library only).

The known state: every page of the image resident, in order-0 (4 KiB) folios.
On Linux 6.x an image read in with read-ahead sits in large folios, and every
4 KiB write then dirties a whole large folio: random 4 KiB writes become several
times slower for any server. Dropping the image and reading it back with
read-ahead disabled (POSIX_FADV_RANDOM) gives 4 KiB folios.

usage: page_cache.py prepare IMAGE always|check [SAMPLES]
  always  write back dirty pages, drop the image from the page cache, read it
          back without read-ahead
  check   write back dirty pages; read back, in 4 KiB pages without read-ahead,
          the pages that are no longer resident (per mincore(2): something such
          as proactive reclaim evicted them); then verify that none of SAMPLES
          random pages is in a large folio (/proc/self/pagemap and
          /proc/kpageflags), and reset only if one is or this cannot be
          verified (not root)
Prints one JSON line: {"reset": bool, "reason": str, "refetched": n, "pages": n,
"sampled": n, "large": n|null, "seconds": s}.
"""
import ctypes
import json
import mmap
import os
import random
import struct
import sys
import time

PAGE = 4096
KPF_COMPOUND_HEAD = 15
KPF_COMPOUND_TAIL = 16


def reset(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)  # dirty pages cannot be dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)  # no read-ahead: order-0 folios
        while os.read(fd, 1 << 20):
            pass
    finally:
        os.close(fd)


class Mapping:
    """The image mapped read-only, to ask the kernel about its pages."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDONLY)
        self.size = os.fstat(self.fd).st_size
        self.pages = (self.size + PAGE - 1) // PAGE
        self.map = mmap.mmap(self.fd, self.size, prot=mmap.PROT_READ)
        # The address of the mapping, from /proc/self/maps (mmap objects do not expose it).
        self.base = None
        real = os.path.realpath(path)
        with open("/proc/self/maps") as maps:
            for line in maps:
                f = line.split(maxsplit=5)
                if len(f) == 6 and f[5].rstrip("\n") == real:
                    self.base = int(f[0].split("-")[0], 16)
                    break

    def close(self):
        self.map.close()
        os.close(self.fd)

    def missing(self):
        """Indexes of the pages not in the page cache (mincore), or None if it cannot be asked."""
        if self.base is None:
            return None
        libc = ctypes.CDLL(None, use_errno=True)
        vec = (ctypes.c_ubyte * self.pages)()
        if libc.mincore(ctypes.c_void_p(self.base), ctypes.c_size_t(self.size), vec) != 0:
            return None
        return [i for i in range(self.pages) if not vec[i] & 1]

    def large_folios(self, samples):
        """(sampled, how many of them are in large folios), or (0, None) when not readable.
        Call only when every page is resident: touching one then maps it without I/O."""
        try:
            pm = os.open("/proc/self/pagemap", os.O_RDONLY)
            kf = os.open("/proc/kpageflags", os.O_RDONLY)
        except OSError:
            return 0, None
        large = checked = 0
        try:
            for i in random.sample(range(self.pages), min(samples, self.pages)):
                self.map[i * PAGE]
                entry = struct.unpack("<Q", os.pread(pm, 8, (self.base // PAGE + i) * 8))[0]
                pfn = entry & ((1 << 55) - 1)
                if not entry >> 63 & 1 or pfn == 0:  # not present, or PFNs hidden (no CAP_SYS_ADMIN)
                    return 0, None
                flags = struct.unpack("<Q", os.pread(kf, 8, pfn * 8))[0]
                checked += 1
                if flags >> KPF_COMPOUND_HEAD & 1 or flags >> KPF_COMPOUND_TAIL & 1:
                    large += 1
        finally:
            os.close(pm)
            os.close(kf)
        return checked, large


def refetch(path, pages):
    """Reads the given pages back in 4 KiB reads without read-ahead (order-0 folios)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        for i in pages:
            os.pread(fd, PAGE, i * PAGE)
    finally:
        os.close(fd)


def check(path, samples, out):
    m = Mapping(path)
    try:
        missing = m.missing()
        out["pages"] = m.pages
        if missing is None:
            return "residency cannot be read"
        if missing:
            refetch(path, missing)
            out["refetched"] = len(missing)
            missing = m.missing()
            if missing:
                return "%d pages still not resident" % len(missing)
        out["sampled"], out["large"] = m.large_folios(samples)
        if out["large"] is None:
            return "folio sizes cannot be read (needs root)"
        if out["large"] > 0:
            return "%d of %d sampled pages in large folios" % (out["large"], out["sampled"])
        return None
    finally:
        m.close()


def prepare(path, mode, samples):
    t0 = time.monotonic()
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    out = {"reset": False, "reason": "", "refetched": 0}
    reason = "always" if mode == "always" else check(path, samples, out)
    if reason is not None:
        out.update(reset=True, reason=reason)
        reset(path)
        if mode == "check":
            after = {}
            out["after"] = check(path, samples, after) or "ok"
            out["after_large"] = after.get("large")
    out["seconds"] = round(time.monotonic() - t0, 3)
    print(json.dumps(out))
    return 0


def main(argv):
    if len(argv) < 3 or argv[0] != "prepare" or argv[2] not in ("always", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    samples = int(argv[3]) if len(argv) > 3 else 512
    return prepare(argv[1], argv[2], samples)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
