#if canImport(Glibc)
import Glibc

/// glibc's `mallopt(3)` (declared in <malloc.h>, which the Glibc module does not import).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// How the serving loop asks the C heap to reuse freed memory, on huge pages.
public enum HeapReuse {
    /// Makes glibc's `malloc` serve blocks of up to 32 MiB from its heap and keep up to 64 MiB
    /// freed at its top (`M_MMAP_THRESHOLD`, `M_TRIM_THRESHOLD`), instead of a fresh `mmap` for
    /// every block of 128 KiB or more and a `munmap` at its `free`; and grows the heap now by
    /// 32 MiB (`M_TOP_PAD`) advised to use transparent huge pages (`MADV_HUGEPAGE`).
    ///
    /// Fresh memory costs a page fault and a zeroing per 4 KiB page when first written (here
    /// 1-3 µs a page); reused heap memory costs nothing, and a huge page costs one fault per
    /// 2 MiB. One request of 10^5 logits allocates its line (2.4 MB), its logits (0.8 MB and a
    /// second half's 0.4 MB), the oracle's outputs (4 MB) and the answer's text one after
    /// another, and frees the line and the second half's array on the way: with the heap, the
    /// later blocks take the freed ones' pages (`eval` of a softmax request of 10^5 logits:
    /// about 1680 page faults before, 200 after, five of them huge).
    /// These are the values glibc itself moves to once a block of 32 MiB has been freed (its
    /// dynamic threshold), set from the start; larger blocks are still mapped and unmapped.
    /// Memory use is unchanged except that up to 64 MiB freed may stay resident. Call it once,
    /// before any thread is started; nothing is done off glibc.
    public static func keepFreedMemory() {
        #if canImport(Glibc)
        guard !heapOnHugePages else { return }
        let trimThreshold: Int32 = -1, topPad: Int32 = -2, mmapThreshold: Int32 = -3  // M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD
        _ = glibcMallopt(mmapThreshold, 32 << 20)
        _ = glibcMallopt(trimThreshold, 64 << 20)
        _ = glibcMallopt(topPad, 32 << 20)
        adviseHeapTop()
        #endif
    }

    /// ``keepFreedMemory()``, unless `descriptor` (the serving loop's input) is a regular file of
    /// under `smallBytes` (default 1 MiB, about 40 000 logits as JSON Lines text). Advising the
    /// heap's top costs a 2 MiB huge page zeroed at once (about 0.25 ms of `eval`'s start-up of
    /// 1.2 ms, measured against the binary without it on a one-logit request); a request that
    /// small allocates too little to repay it. Pipes and larger files (their size is unknown or
    /// large) take it.
    public static func keepFreedMemory(unlessSmallFile descriptor: Int32, smallBytes: Int = 1 << 20) {
        #if canImport(Glibc)
        var status = stat()
        if fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size < smallBytes { return }
        keepFreedMemory()
        #endif
    }

    /// Whether ``keepFreedMemory()`` put the heap's free top on huge pages: `malloc` then serves
    /// a large buffer (``ByteBuffer``) on huge pages by itself. Set once, by the serving thread,
    /// before others start.
    nonisolated(unsafe) static var heapOnHugePages = false

    #if canImport(Glibc)
    /// Grows the heap by 32 MiB and puts its free top on whole 2 MiB pages advised to use
    /// transparent huge pages, so that every block later carved from the top lies on them.
    ///
    /// A block of 1 MiB taken from the top grows the heap (it reaches past the old break and ends
    /// before the new one: it came from the top of the heap, the only free memory there). Its
    /// memory and everything below the old break may hold small pages already; the first 2 MiB
    /// page past both is untouched, and so is all memory after it, which is advised. The block
    /// is then grown in place up to that page (`realloc` into the free top) and kept for good:
    /// the top's header, written there, is the first write to the advised pages (a huge page),
    /// and the free top starts there. Nothing is kept when a step does not go as described (the
    /// advice alone stays: it changes no byte, only how pages are backed).
    private static func adviseHeapTop() {
        let hugePage = UInt(1) << 21, probeBytes = 1 << 20
        guard let oldBreak = sbrk(0), let probe = malloc(probeBytes) else { return }
        let probeEnd = UInt(bitPattern: probe) + UInt(probeBytes)
        guard let newBreak = sbrk(0), probeEnd > UInt(bitPattern: oldBreak), probeEnd <= UInt(bitPattern: newBreak) else {
            return free(probe)  // not from the heap's top (another thread's arena, or a free block inside)
        }
        // After the top's header past the block (16 bytes), and after the old break.
        let start = (max(probeEnd + 32, UInt(bitPattern: oldBreak)) + hugePage - 1) & ~(hugePage - 1)
        let end = UInt(bitPattern: newBreak) & ~(hugePage - 1)
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return free(probe) }
        _ = madvise(p, Int(end - start), MADV_HUGEPAGE)
        heapOnHugePages = true
        // The block's chunk (its 16-byte header before it) then ends where the top's starts.
        let grown = realloc(probe, Int(start - UInt(bitPattern: probe)))
        if grown != probe { free(grown) }
    }
    #endif
}
