import DoubleWordArithmetic
// The output array of softmax and log_softmax: allocated once, uninitialized, advised to use huge
// pages when large, and filled in place by chunks of indices (pairs on SIMD lanes where they
// certify, single outputs elsewhere).

import ParallelExecution

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The outputs of a row function, one at a time or two at a time on SIMD lanes
/// (`DoubleWordTier.fillOutputs`).
protocol RowOutputs {
    /// Output i, or nil when it does not certify.
    func single(_ i: Int) -> OracleValue?
    /// Writes outputs i and i + 1 to out[0] and out[1] and returns true, or writes nothing and
    /// returns false. Where it writes, the outputs are those `single` gives.
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool
    /// Writes outputs i ..< i + `OutputLanes.scalarCount` to out[0...] and returns true, or writes
    /// nothing and returns false. Where it writes, the outputs are those `single` gives.
    /// (Default: false, nothing written.)
    func lanes(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool
    /// Writes the rounded values of outputs i ..< i + `OutputLanes.scalarCount` to out[0...] and
    /// returns true, or writes nothing and returns false (for `DoubleWordTier.roundedOutputs`).
    /// Where it writes, the values are those of `single`'s outputs. (Default: false.)
    func roundedLanes(_ i: Int, into out: UnsafeMutablePointer<Double>) -> Bool
}

/// The lane width of the output loops: 4 in every build (8 lanes measured twice as slow in the
/// AVX-512 build, with 40-byte outputs: the masks and the lane-by-lane stores dominated there).
typealias OutputLanes = SIMD4<Double>

extension RowOutputs {
    /// No outputs on `OutputLanes`: the fill takes pairs and singles.
    @inline(__always)
    func lanes(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool { false }

    /// No rounded values on lanes: `roundedOutputs` takes `fillRange`'s outputs.
    @inline(__always)
    func roundedLanes(_ i: Int, into out: UnsafeMutablePointer<Double>) -> Bool { false }
}

/// What an output slot holds: a whole output (`OracleValue`) or its rounded value alone
/// (`Double`, for `Oracle.evaluateRounded`).
protocol OutputSlot {
    /// The slot's value for output v.
    init(slot v: OracleValue)
}

extension OracleValue: OutputSlot {
    @inline(__always) init(slot v: OracleValue) { self = v }
}

extension Double: OutputSlot {
    @inline(__always) init(slot v: OracleValue) { self = v.rounded }
}

extension DoubleWordTier {
    /// A value handed to other threads that write disjoint parts of it (the callers guarantee it).
    struct UncheckedSendable<T>: @unchecked Sendable {
        let value: T
    }

    /// A new array of n outputs, filled by `body` (true: all n initialized; false: give up, nil).
    /// An output array of 32 MB or more (glibc serves those with fresh mmaps every time) is
    /// advised to use transparent huge pages (Linux): writing it then costs one page fault per
    /// 2 MB instead of per 4 KB, which was most of the cost of filling 10^6 fresh outputs.
    /// (Smaller arrays come from reused heap memory, where the advice only costs time.)
    static func withOutputs(count n: Int, _ body: (UnsafeMutablePointer<OracleValue>) -> Bool) -> [OracleValue]? {
        if n == 0 { return [] }
        var ok = false
        let values = [OracleValue](unsafeUninitializedCapacity: n) { buffer, count in
            let base = buffer.baseAddress!
            adviseHugePages(UnsafeMutableRawPointer(base), bytes: n * MemoryLayout<OracleValue>.stride)
            ok = body(base)
            count = ok ? n : 0  // OracleValue is trivial: a partly written buffer needs no cleanup
        }
        return ok ? values : nil
    }

    /// Advises the whole pages of [p, p + bytes) to use transparent huge pages, for 32 MB or more
    /// (Linux; elsewhere nothing).
    static func adviseHugePages(_ p: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        guard bytes >= 32 << 20 else { return }
        let page = UInt(4096)
        let start = (UInt(bitPattern: p) + page - 1) & ~(page - 1)
        let end = (UInt(bitPattern: p) + UInt(bytes)) & ~(page - 1)
        if end > start {
            _ = madvise(UnsafeMutableRawPointer(bitPattern: start), Int(end - start), MADV_HUGEPAGE)
        }
        #endif
    }

    /// Initializes slots[0..<n] with the outputs, in ranges of indices on up to 2·threads
    /// threads for a row of `parallelThreshold` or more: at index i `outputs.lanes(i, into:
    /// slots + i)` may write the next `OutputLanes.scalarCount` outputs, else `outputs.pair` the next
    /// two (each with all its indices in the same range); otherwise output i is
    /// `outputs.single(i)`. False, with the slots partly written, when some `single(i)` is
    /// nil (the request then goes to the MPFR path). Generic, so that each function's loop is
    /// specialized with direct (inlined) calls.
    @inline(__always)
    static func fillOutputs<Outputs: RowOutputs>(_ slots: UnsafeMutablePointer<OracleValue>, count n: Int,
                                                 threads: Int, _ outputs: Outputs) -> Bool {
        let split = StageSplit(threads: threads, count: n)
        let base = UncheckedSendable(value: slots)
        let failures = split.run(count: n) { range -> Bool in
            !fillChunk(base.value, range, outputs)
        }
        return !failures.contains(true)
    }

    /// `fillRange`, compiled on its own for each `Outputs` rather than inlined where
    /// `fillOutputs` is: inlined into its caller (softmax's `plainValues`), the loop ran about
    /// 25% slower (perf over `eval` of a row of 10^5 normal logits).
    @inline(never)
    static func fillChunk<Outputs: RowOutputs>(_ out: UnsafeMutablePointer<OracleValue>, _ range: Range<Int>, _ outputs: Outputs) -> Bool {
        fillRange(out, range, outputs)
    }

    /// Initializes out[i] for i in `range` as `fillOutputs` does (lanes, pairs, singles, all
    /// within `range`); false, with the slots partly written, when some `single(i)` is nil. `out`
    /// is only written at indices in `range`.
    @inline(__always)
    static func fillRange<Outputs: RowOutputs>(_ out: UnsafeMutablePointer<OracleValue>, _ range: Range<Int>, _ outputs: Outputs) -> Bool {
        var i = range.lowerBound
        let width = OutputLanes.scalarCount
        while i < range.upperBound {
            if i + width <= range.upperBound && outputs.lanes(i, into: out + i) {
                i += width
                continue
            }
            if i + 1 < range.upperBound && outputs.pair(i, into: out + i) {
                i += 2
                continue
            }
            guard let v = outputs.single(i) else { return false }
            (out + i).initialize(to: v)
            i += 1
        }
        return true
    }

    /// Outputs per block of `roundedOutputs`: its `OracleValue` buffer (32 KiB) stays in cache.
    static let roundedBlock = 1024

    /// The rounded values of the n outputs `fillOutputs` would write, or nil where it gives false:
    /// groups of `OutputLanes.scalarCount` that `roundedLanes` writes go straight to the result;
    /// the others are filled (`fillRange`) into one reused buffer of `roundedBlock` outputs, given
    /// as its address minus the first index (never read or written outside the indices filled),
    /// and their rounded values copied out. 8 bytes of fresh memory an output instead of 40. The
    /// outputs do not depend on how the indices are grouped: `roundedLanes`, `lanes` and `pair`
    /// write the outputs (or rounded values) `single` gives.
    @inline(__always)
    static func roundedOutputs<Outputs: RowOutputs>(count n: Int, threads: Int, _ outputs: Outputs) -> [Double]? {
        if n == 0 { return [] }
        let split = StageSplit(threads: threads, count: n)
        var ok = false
        let values = [Double](unsafeUninitializedCapacity: n) { buffer, count in
            let base = UncheckedSendable(value: buffer.baseAddress!)
            let failures = split.run(count: n) { range -> Bool in
                let block = roundedBlock
                let scratch = UnsafeMutablePointer<OracleValue>.allocate(capacity: block)
                defer { scratch.deallocate() }
                let width = OutputLanes.scalarCount
                var start = range.lowerBound
                while start < range.upperBound {
                    // The groups `roundedLanes` writes, then up to a block of other outputs
                    // (ending where `roundedLanes` writes again, or after `block`).
                    if start + width <= range.upperBound && outputs.roundedLanes(start, into: base.value + start) {
                        start += width
                        continue
                    }
                    var end = Swift.min(start + width, range.upperBound)
                    while end < Swift.min(start + block, range.upperBound)
                            && !(end + width <= range.upperBound && outputs.roundedLanes(end, into: base.value + end)) {
                        end = Swift.min(end + width, range.upperBound)
                    }
                    guard fillRange(scratch - start, start..<end, outputs) else { return true }
                    for i in start..<end { (base.value + i).initialize(to: scratch[i - start].rounded) }
                    start = end
                }
                return false
            }
            ok = !failures.contains(true)
            count = ok ? n : 0
        }
        return ok ? values : nil
    }
}
