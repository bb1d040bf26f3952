/**
 * The checks of the conformance suites, as Python scripts run under nbdsh
 * with `h` connected to the export. Each prints `SKIP: reason` when it does
 * not apply to the export, and raises (so nbdsh exits non-zero) when the
 * export breaks the contract.
 */

/** The name of a check of the conformance suites. */
export type Check = 'read-after-write' | 'zero' | 'extents' | 'capabilities' | 'multi-conn' | 'read-only' | 'errors';

/** What each check needs from the stack it runs on. */
export interface CheckSpec {
  readonly title: string;
  readonly script: string;
  /** Ask for base:allocation before connecting. */
  readonly baseAllocation?: boolean;
  /** Serve the stack with `-r`. */
  readonly readonly?: boolean;
  /** Put the fault filter beneath the layer under test, armed through a trigger file. */
  readonly faults?: boolean;
}

/** Helpers every script starts with. `NBDKIT_TS_URI` is the export's URI, for second connections. */
const PRELUDE = `
import errno, os, random
size = h.get_size()
minimum = h.get_block_size(nbd.SIZE_MINIMUM) or 1
writable = not h.is_read_only()

def up(n):
    return -(-n // minimum) * minimum

def down(n):
    return n // minimum * minimum

def pattern(n, seed):
    return random.Random(seed).randbytes(n)

def spots(n):
    """A request length near n, and offsets at the start, middle and end of the export."""
    n = min(up(n), down(size))
    out = []
    for o in [0, down(size // 2 - n // 2), down(size - n)]:
        if o >= 0 and o + n <= size and o not in out:
            out.append(o)
    return n, out

def differ(a, b):
    at = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    return "first difference at byte %d of %d" % (at, len(b))

def expect_error(code, what, fn, *args):
    try:
        fn(*args)
    except nbd.Error as e:
        assert e.errnum == getattr(errno, code), "%s: expected %s, got %s (%s)" % (what, code, e.errno, e.string)
        return
    raise AssertionError("%s: expected %s, but it succeeded" % (what, code))

def connect_again():
    h2 = nbd.NBD()
    h2.connect_uri(os.environ["NBDKIT_TS_URI"])
    return h2

def skip(reason):
    print("SKIP: " + reason)
`;

const READ_AFTER_WRITE = `
def check():
    if not writable:
        return skip("the export is read-only")
    if size < minimum:
        return skip("the export is empty")
    for i, want in enumerate([minimum, 12345, 256 * 1024]):
        n, offsets = spots(want)
        for j, off in enumerate(offsets):
            data = pattern(n, 10 * i + j)
            h.pwrite(data, off)
            got = h.pread(n, off)
            assert got == data, "read after a write of %d bytes at %d: %s" % (n, off, differ(got, data))
    unit = up(1000)
    n, offsets = spots(3 * unit)
    if n == 3 * unit:
        for off in offsets:
            outer, inner = pattern(n, 100 + off % 7), pattern(unit, 200 + off % 7)
            h.pwrite(outer, off)
            h.pwrite(inner, off + unit)
            got, want = h.pread(n, off), outer[:unit] + inner + outer[2 * unit:]
            assert got == want, "overlapping writes at %d: %s" % (off, differ(got, want))
    n, offsets = spots(64 * 1024)
    off = offsets[-1]
    if h.can_fua():
        data = pattern(n, 300)
        h.pwrite(data, off, nbd.CMD_FLAG_FUA)
        got = h.pread(n, off)
        assert got == data, "read after a FUA write at %d: %s" % (off, differ(got, data))
    if h.can_flush():
        data = pattern(n, 301)
        h.pwrite(data, off)
        h.flush()
        got = h.pread(n, off)
        assert got == data, "read after a write and flush at %d: %s" % (off, differ(got, data))
check()
`;

const ZERO = `
def check():
    if not writable:
        return skip("the export is read-only")
    if not h.can_zero():
        return skip("the export does not advertise WRITE_ZEROES")
    unit = up(4096)
    n, offsets = spots(3 * unit)
    if n < 3 * unit:
        return skip("the export is smaller than three blocks")
    variants = [(0, "zero"), (nbd.CMD_FLAG_NO_HOLE, "zero with NO_HOLE")]
    if h.can_fua():
        variants.append((nbd.CMD_FLAG_FUA, "zero with FUA"))
    if h.can_fast_zero():
        variants.append((nbd.CMD_FLAG_FAST_ZERO, "zero with FAST_ZERO"))
    for k, (flags, what) in enumerate(variants):
        for off in offsets:
            data = pattern(n, 1000 * k + off % 13)
            h.pwrite(data, off)
            try:
                h.zero(unit, off + unit, flags)
            except nbd.Error as e:
                if flags == nbd.CMD_FLAG_FAST_ZERO and e.errnum == errno.ENOTSUP:
                    continue
                raise
            got, want = h.pread(n, off), data[:unit] + bytes(unit) + data[2 * unit:]
            assert got == want, "%s of %d bytes at %d: %s" % (what, unit, off + unit, differ(got, want))
    n, offsets = spots(1 << 20)
    h.pwrite(pattern(n, 7), offsets[0])
    h.zero(n, offsets[0])
    assert h.pread(n, offsets[0]) == bytes(n), "zero of %d bytes at %d does not read back as zeroes" % (n, offsets[0])
    if h.can_trim():
        n, offsets = spots(3 * unit)
        data = pattern(n, 9)
        h.pwrite(data, offsets[-1])
        h.trim(unit, offsets[-1] + unit)
        got = h.pread(n, offsets[-1])
        assert got[:unit] == data[:unit] and got[2 * unit:] == data[2 * unit:], "trim at %d changed bytes outside the range" % (offsets[-1] + unit)
check()
`;

const EXTENTS = `
def status(off, n, flags=0):
    out = []
    def cb(ctx, o, entries, err):
        if ctx == nbd.CONTEXT_BASE_ALLOCATION:
            out.extend((entries[k], entries[k + 1]) for k in range(0, len(entries), 2))
        return 0
    h.block_status(n, off, cb, flags)
    assert out, "block status at %d for %d bytes returned no extent" % (off, n)
    for length, flags in out:
        assert length > 0, "block status at %d returned an empty extent" % off
    return out

def check():
    if not h.can_meta_context(nbd.CONTEXT_BASE_ALLOCATION):
        return skip("the export has no base:allocation")
    if size < minimum:
        return skip("the export is empty")
    off, budget = 0, 16 << 20
    end = min(size, 64 << 20)
    while off < end:
        for length, flags in status(off, min(end - off, 32 << 20)):
            length = min(length, size - off)
            if flags & nbd.STATE_ZERO and budget > 0:
                n = min(length, 1 << 20, budget)
                budget -= n
                assert h.pread(n, off) == bytes(n), "extent at %d reported as zero does not read as zeroes" % off
            off += length
    n, offsets = spots(64 * 1024)
    one = status(offsets[-1], n, nbd.CMD_FLAG_REQ_ONE)
    assert len(one) == 1, "block status with REQ_ONE returned %d extents" % len(one)
    if writable:
        for off in offsets:
            h.pwrite(pattern(n, off % 11), off)
            first = status(off, n)[0]
            assert not first[1] & nbd.STATE_ZERO, "bytes just written at %d are reported as zero" % off
check()
`;

const CAPABILITIES = `
QUERIES = ["get_size", "is_read_only", "can_flush", "can_fua", "can_trim", "can_zero", "can_fast_zero",
           "can_cache", "can_multi_conn", "is_rotational", "can_df"]

def check():
    h2 = connect_again()
    for q in QUERIES:
        a, b = getattr(h, q)(), getattr(h2, q)()
        assert a == b, "%s is %s on one connection and %s on another" % (q, a, b)
    for s in [nbd.SIZE_MINIMUM, nbd.SIZE_PREFERRED, nbd.SIZE_MAXIMUM]:
        assert h.get_block_size(s) == h2.get_block_size(s), "block sizes differ between connections"
    h2.shutdown()
    lo, pref, hi = [h.get_block_size(s) for s in [nbd.SIZE_MINIMUM, nbd.SIZE_PREFERRED, nbd.SIZE_MAXIMUM]]
    if lo:
        assert lo & (lo - 1) == 0 and pref & (pref - 1) == 0, "block sizes %d/%d are not powers of two" % (lo, pref)
        assert lo <= pref <= hi, "block sizes out of order: minimum %d, preferred %d, maximum %d" % (lo, pref, hi)
    if h.can_fast_zero():
        assert h.can_zero(), "FAST_ZERO advertised without WRITE_ZEROES"
    if h.is_read_only():
        for q in ["can_trim", "can_zero", "can_fast_zero", "can_fua"]:
            assert not getattr(h, q)(), "a read-only export advertises %s" % q
    if size < minimum:
        return
    n, offsets = spots(64 * 1024)
    if h.can_flush():
        h.flush()
    if h.can_cache():
        h.cache(n, offsets[-1])
    if h.can_fua() and writable:
        data = h.pread(n, offsets[-1])
        h.pwrite(data, offsets[-1], nbd.CMD_FLAG_FUA)
    if h.can_trim() and writable:
        h.trim(n, offsets[-1])
check()
`;

const MULTI_CONN = `
def check():
    if not h.can_multi_conn():
        return skip("the export does not advertise multi-conn")
    if not writable:
        return skip("the export is read-only")
    if size < minimum:
        return skip("the export is empty")
    h2 = connect_again()
    n, offsets = spots(64 * 1024)
    for k, (writer, reader) in enumerate([(h, h2), (h2, h)]):
        off = offsets[k % len(offsets)]
        reader.pread(n, off)
        data = pattern(n, 500 + k)
        writer.pwrite(data, off)
        if writer.can_flush():
            writer.flush()
        got = reader.pread(n, off)
        assert got == data, "with multi-conn, a write and flush on one connection is not seen by another: %s" % differ(got, data)
    h2.shutdown()
check()
`;

const READ_ONLY = `
def check():
    assert h.is_read_only(), "the export is writable under -r"
    for q in ["can_trim", "can_zero", "can_fast_zero", "can_fua"]:
        assert not getattr(h, q)(), "a read-only export advertises %s" % q
    if size < minimum:
        return
    h.set_strict_mode(0)
    n, offsets = spots(64 * 1024)
    for off in offsets:
        before = h.pread(n, off)
        expect_error("EPERM", "write at %d on a read-only export" % off, h.pwrite, pattern(n, 1), off)
        expect_error("EPERM", "zero at %d on a read-only export" % off, h.zero, n, off)
        expect_error("EPERM", "trim at %d on a read-only export" % off, h.trim, n, off)
        assert h.pread(n, off) == before, "data at %d changed on a read-only export" % off
check()
`;

/** Errors of the layer beneath a filter, injected by the fault filter through its trigger file. */
const FILTER_ERRORS = `
trigger = os.environ["NBDKIT_TS_FAULT_FILE"]

def arm(code):
    with open(trigger, "w") as f:
        f.write(code)

def disarm():
    os.unlink(trigger)

def check():
    if size < minimum:
        return skip("the export is empty")
    n, offsets = spots(64 * 1024)
    # A layer may answer some reads without the layer beneath (a cache, a hole it
    # knows of), so not every read must fail; but one must, and each with its code.
    arm("EIO")
    failed = []
    for off in offsets:
        try:
            h.pread(n, off)
        except nbd.Error as e:
            failed.append((off, e))
    disarm()
    assert failed, "every read succeeded while the layer beneath failed them with EIO"
    for off, e in failed:
        assert e.errnum == errno.EIO, "read at %d while the layer beneath fails with EIO: got %s (%s)" % (off, e.errno, e.string)
    for off in offsets:
        h.pread(n, off)
    off = offsets[-1]
    if not writable:
        return
    data = pattern(n, 42)
    arm("ENOSPC")
    failed = []
    for what, call in [("write", lambda: h.pwrite(data, off)), ("flush", h.flush if h.can_flush() else None)]:
        if call is None:
            continue
        try:
            call()
        except nbd.Error as e:
            failed.append((what, e))
    disarm()
    assert failed, "a write and flush succeeded while every call beneath failed with ENOSPC"
    for what, e in failed:
        assert e.errnum == errno.ENOSPC, "%s while the layer beneath fails with ENOSPC: got %s (%s)" % (what, e.errno, e.string)
    h.pwrite(data, off)
    if h.can_flush():
        h.flush()
    got = h.pread(n, off)
    assert got == data, "read after the faults were gone: %s" % differ(got, data)
check()
`;

/** The errors every export gives for requests beyond its end. */
const PLUGIN_ERRORS = `
def check():
    h.set_strict_mode(0)
    expect_error("EINVAL", "read beyond the end", h.pread, minimum, size)
    if writable:
        expect_error("ENOSPC", "write beyond the end", h.pwrite, bytes(minimum), size)
        if h.can_zero():
            expect_error("ENOSPC", "zero beyond the end", h.zero, minimum, size)
    if size >= minimum:
        h.pread(minimum, 0)
check()
`;

const spec = (title: string, body: string, extra: Omit<CheckSpec, 'title' | 'script'> = {}): CheckSpec => ({ title, script: PRELUDE + body, ...extra });

/** The checks testPlugin and testFilter run, in order. */
export function checks(kind: 'plugin' | 'filter'): ReadonlyMap<Check, CheckSpec> {
  return new Map<Check, CheckSpec>([
    ['read-after-write', spec('reads back what was written (unaligned, overlapping, FUA, after flush)', READ_AFTER_WRITE)],
    ['zero', spec('zeroed ranges read back as zeroes and leave their neighbours alone; trim stays in its range', ZERO)],
    ['extents', spec('block status covers the export, zero extents read as zeroes, written data is not reported as zero', EXTENTS, { baseAllocation: true })],
    ['capabilities', spec('capabilities are the same on every connection, consistent, and what is advertised works', CAPABILITIES)],
    ['multi-conn', spec('with multi-conn, a write and flush on one connection is seen by another', MULTI_CONN)],
    ['read-only', spec('under -r nothing can be written and the data stays as it was', READ_ONLY, { readonly: true })],
    kind === 'filter'
      ? ['errors', spec('errors of the layer beneath reach the client with their codes, and the export works once they stop', FILTER_ERRORS, { faults: true })]
      : ['errors', spec('requests beyond the end fail with EINVAL (read) and ENOSPC (write, zero), and the export goes on', PLUGIN_ERRORS)],
  ]);
}
