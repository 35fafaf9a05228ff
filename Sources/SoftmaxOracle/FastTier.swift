import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which path certified an `OracleResult`.
public enum CertificationTier: String, Sendable, Hashable, Codable {
    /// The double-double fast tier (FastTier.swift): every output's enclosure, with an error
    /// bound proven next to the code, rounded uniquely.
    case fast
    /// The MPFR interval path with precision escalation (Certification.swift).
    case mpfr
}

/// The fast tier: logsumexp, softmax, log_softmax, cross_entropy (hard or probability targets,
/// without class weights or label smoothing) and the batch loss (hard targets), certified in
/// double-double arithmetic.
///
/// Formulation: the oracle's own (ShiftedRow.swift): m = max x, d_j = x_j − m (exact, as a
/// TwoSum), s = Σ_{j≠M} e^(d_j), L = log1p(s), and
///
///     logsumexp = m + L,  softmax_i = e^(d_i)/(1 + s),  log_softmax_i = d_i − L,
///     cross_entropy(t) = (−d_t) + L.
///
/// Each output is computed as a double-double v with an absolute error bound err proven from
/// the bounds of its parts, and certified when the whole enclosure [v − err, v + err] rounds to
/// one value of the format (`FastFormat.value`, `Format.certify`) and is narrow enough (2·err
/// <= 2^-40 ulp) for v to stand for the exact value. The parts:
/// - the exponentials, two ways. For f64 outputs `FastExp.exp` (2^-101 relative) summed
///   exactly (`FixedPointSum`: truncation < 2^-126 per double, relative to the largest term);
///   for formats with p <= 24 ("compact") `FastExp.expCompact` (2^-68.5), two at a time on SIMD
///   lanes, summed by blocks of Sum2 (`CompensatedBlockSum`, 2^-81 per block): those formats need
///   about 2^-66 (f32: 2^-40 of an ulp of 2^-24), and it halves the work;
/// - `FastLog1p` (a run-time bound, about 2^-98 relative), once per row;
/// - the double-double operations of FastArithmetic.swift (2u² to 14u² each); softmax and
///   log_softmax compute pairs of ordinary outputs on SIMD lanes (`mulDD2`, `FastFormat.value2`:
///   the scalar operations lane by lane, hence the same outputs).
/// Exact near-ties of the form P ± L, P an exact double-double on a rounding boundary (x_t − m
/// often is one) and L far below P's last bit, are settled by `roundNearTie` as the MPFR path's
/// open enclosure ends settle them.
///
/// When an output does not certify — or for anything outside the tier's scope: NaN or +inf in a
/// row, a row whose only finite logit is its maximum (exact results), its two largest logits
/// more than 2^19 apart, other functions and options — `evaluate` returns nil and the MPFR path
/// answers the whole request, so the fast tier never gives a different answer, only a faster
/// one. -inf logits are handled here as the MPFR path does: exactly 0 in every sum; softmax 0
/// and log_softmax -inf there, a cross-entropy of +inf when the target's logit is -inf.
///
/// Threads: rows of `parallelThreshold` logits or more are split into 2·threads chunks for the
/// scan, the sum and the outputs (DispatchQueue.concurrentPerform); the exact fixed-point sums
/// add exactly and the compact sums are combined in block order, so the result does not depend
/// on the thread count. Batches are split by rows. Memory: softmax keeps each exponential in the
/// output array's own slot until the output overwrites it (about 40 bytes per logit in all).
enum FastTier {
    /// Rows at least this long are split over threads.
    static let parallelThreshold = 16_384
    /// The working precision reported for fast results: a double-double's significand (f64
    /// outputs), or about the compact exponential's 68 bits (formats with p <= 24).
    static func reportedPrecision(_ format: Format) -> Int { format.precision <= 24 ? 68 : 106 }

    static let processorCount: Int = {
        #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
        return Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }()

    /// The fast tier's answer, or nil when the MPFR path must answer (see the type's notes).
    static func evaluate(_ q: OracleRequest, threads: Int) -> OracleResult? {
        let threads = Swift.max(1, threads)
        let values: [OracleValue]?
        switch q.function {
        case .logsumexp:
            values = q.logits.withUnsafeBufferPointer { logsumexp($0, q.format, threads: threads) }.map { [$0] }
        case .softmax:
            values = q.logits.withUnsafeBufferPointer { softmax($0, q.format, threads: threads) }
        case .logSoftmax:
            values = q.logits.withUnsafeBufferPointer { logSoftmax($0, q.format, threads: threads) }
        case .crossEntropy:
            guard q.weight == nil, q.labelSmoothing == 0 else { return nil }
            switch q.target {
            case .index(let t)?:
                values = q.logits.withUnsafeBufferPointer { crossEntropy($0, target: t, q.format, threads: threads) }.map { [$0] }
            case .probabilities(let p)?:
                values = q.logits.withUnsafeBufferPointer { x in
                    p.withUnsafeBufferPointer { crossEntropy(x, probabilities: $0, q.format, threads: threads) }
                }.map { [$0] }
            case nil:
                return nil
            }
        case .crossEntropyLoss:
            values = batchLoss(q, threads: threads)
        default:
            return nil
        }
        guard let values else { return nil }
        return OracleResult(values: values, precision: reportedPrecision(q.format), escalations: 0, tier: .fast)
    }

    // MARK: - The row's sum

    /// The largest logit (first index), the largest other finite logit, and whether a NaN or
    /// +inf was seen.
    struct Scan: Sendable {
        var max = -Double.infinity
        var maxIndex = -1
        var second = -Double.infinity
        var special = false

        static func of(_ x: UnsafeBufferPointer<Double>, _ range: Range<Int>) -> Scan {
            var r = Scan()
            for j in range {
                let v = x[j]
                if v.isNaN || v == .infinity {
                    r.special = true
                } else if v > r.max {
                    if r.maxIndex >= 0 { r.second = r.max }
                    r.max = v
                    r.maxIndex = j
                } else if v > r.second {
                    r.second = v
                }
            }
            return r
        }

        /// Combines the scan of a range with that of the range after it.
        func merged(with b: Scan) -> Scan {
            var r = self
            r.special = special || b.special
            if b.maxIndex < 0 {
                r.second = Swift.max(second, b.second)
            } else if maxIndex < 0 {
                r = b
                r.special = special || b.special
                r.second = Swift.max(second, b.second)
            } else if b.max > max {
                r.max = b.max
                r.maxIndex = b.maxIndex
                r.second = Swift.max(b.second, max)
            } else {
                r.second = Swift.max(second, b.max)
            }
            return r
        }
    }

    /// Where `softmax` keeps the row's exponentials: 2^k·(hi + lo) at index j (k = Int32.min:
    /// not computed, e^(d_j) < e^(-2^20), or a −inf logit). The three fields of element j live
    /// at base + j·stride: inside the output array's own memory, element j's slot, which the
    /// output pass overwrites (after reading it) with output j. No second buffer, no second set
    /// of page faults for a long row.
    struct ExpStore: @unchecked Sendable {  // disjoint ranges are written by different threads
        let base: UnsafeMutableRawPointer
        let stride: Int

        init(slots: UnsafeMutablePointer<OracleValue>) {
            precondition(MemoryLayout<OracleValue>.stride >= 20 && MemoryLayout<OracleValue>.alignment >= 8)
            base = UnsafeMutableRawPointer(slots)
            stride = MemoryLayout<OracleValue>.stride
        }

        @inline(__always) func store(_ j: Int, hi: Double, lo: Double, k: Int32) {
            let p = base + j &* stride
            p.storeBytes(of: hi, as: Double.self)
            (p + 8).storeBytes(of: lo, as: Double.self)
            (p + 16).storeBytes(of: k, as: Int32.self)
        }

        @inline(__always) func markAbsent(_ j: Int) { (base + j &* stride + 16).storeBytes(of: Int32.min, as: Int32.self) }

        @inline(__always) func load(_ j: Int) -> (hi: Double, lo: Double, k: Int32) {
            let p = base + j &* stride
            return (p.load(as: Double.self), (p + 8).load(as: Double.self), (p + 16).load(as: Int32.self))
        }
    }

    struct SumPart: Sendable {
        var sum = FixedPointSum()
        /// Doubles truncated into the sum, plus omitted terms: each errs by < 2^(σ−126).
        var truncations = 0
        /// x_j − m overflowed binary64 (it is then −inf: the term is omitted, counted above).
        var overflow = false
        /// Terms with d_j < −2^20, omitted (each < 2^(σ−126)).
        var omitted = 0

        /// x_j − m exactly, or nil when term j is absent (x_j = −inf) or omitted (below
        /// `FastExp.lowestArgument`; an overflow of x_j − m is noted); both marked in `store`.
        @inline(__always)
        mutating func difference(_ xj: Double, _ j: Int, m: Double, store: ExpStore?) -> DD? {
            if xj == -.infinity {
                store?.markAbsent(j)
                return nil
            }
            let d = twoSum(xj, -m)
            if !(d.hi >= FastExp.lowestArgument) {
                omitted += 1
                if !d.hi.isFinite { overflow = true }
                store?.markAbsent(j)
                return nil
            }
            return d
        }
    }

    /// The exact fixed-point sum of 2^(k_j − σ)·M_j over j in `range`, j ≠ M, x_j > −inf.
    ///
    /// Every d_j <= d_2 = the second largest, and t_j (hence k_j) is a non-decreasing function
    /// of dh_j, so k_j <= σ = k(d_2) and every scaled term is below 2 (M < 2): the accumulator's
    /// precondition holds. Terms with d_j < −2^20 are omitted: e^(d_j) < 2^(−1.5·10^6), while
    /// 2^σ >= 2^(−7.6·10^5) (d_2 >= −2^19), so each is far below one unit 2^(σ−126).
    @inline(__always)
    static func sumPart(_ x: UnsafeBufferPointer<Double>, _ range: Range<Int>, m: Double, maxIndex: Int,
                        sigma: Int, store: ExpStore?, _ tab: FastExpTable) -> SumPart {
        var part = SumPart()
        var truncations = 0
        for j in range where j != maxIndex {
            guard let d = part.difference(x[j], j, m: m, store: store) else { continue }
            let e = FastExp.exp(d.hi, d.lo, tab)
            let scale = e.k - sigma
            part.sum.add(e.m.hi, scale: scale)
            part.sum.add(e.m.lo, scale: scale)
            truncations += 2
            store?.store(j, hi: e.m.hi, lo: e.m.lo, k: Int32(truncatingIfNeeded: e.k))
        }
        part.truncations = truncations + part.omitted
        return part
    }

    /// What every row function needs: m, its index, and s = Σ_{j≠M} e^(d_j) with its bound.
    struct RowSum {
        var m: Double
        var maxIndex: Int
        /// s, normalized.
        var s: ScaledDD
        /// |ŝ − s| <= epsS·s.
        var epsS: Double
        var overflow: Bool
        var omitted: Int
        /// Computed with `FastExp.expCompact` (softmax's stored exponentials then err by
        /// 2^-68.5, not 2^-101).
        var compact: Bool
    }

    /// The compact sum of j in the blocks `blocks` (of `CompensatedBlockSum.blockSize` indices),
    /// j ≠ M, x_j > −inf: one double-double per block, in order. Terms are scaled by 2^(k_j − σ)
    /// (exact: the scaled hi is >= 0.998·2^-1000; the lo may underflow, by <= 2^-1075 relative
    /// to 2^σ, counted in `omitted`'s bound); a term more than 2^1000 below 2^σ is omitted.
    static func sumBlocksCompact(_ x: UnsafeBufferPointer<Double>, blocks: Range<Int>, m: Double, maxIndex: Int,
                                 sigma: Int, store: ExpStore?, _ tab: FastExpTable) -> (sums: [DD], part: SumPart) {
        var part = SumPart()
        var sums: [DD] = []
        sums.reserveCapacity(blocks.count)
        let n = x.count
        for b in blocks {
            // Three Sum2 accumulators per block: two SIMD lanes for pairs of ordinary terms, one
            // for the rest; each holds at most 4096 terms (the bound of `CompensatedBlockSum`),
            // and the block's value adds the three (two `addSameSign`, counted by the caller).
            var sigma2 = SIMD2<Double>(0, 0), c2 = SIMD2<Double>(0, 0)
            var acc = CompensatedBlockSum()
            let lo = b * CompensatedBlockSum.blockSize
            let end = Swift.min(n, lo + CompensatedBlockSum.blockSize)
            var j = lo
            func scalarTerm(_ j: Int) {
                if j == maxIndex { return }
                guard let d = part.difference(x[j], j, m: m, store: store) else { return }
                let e = FastExp.expCompact(d.hi, d.lo, tab)
                store?.store(j, hi: e.m.hi, lo: e.m.lo, k: Int32(truncatingIfNeeded: e.k))
                let scale = e.k - sigma
                if scale < -1000 {
                    part.truncations += 1  // below 2^(σ−999): counted in the bound, not summed
                    return
                }
                let f = powerOfTwo(scale)
                acc.add(e.m.hi * f, e.m.lo * f)
            }
            while j + 1 < end {
                let x0 = x[j], x1 = x[j + 1]
                // Both ordinary (finite, not the maximum, in the exponential's domain): SIMD.
                if j != maxIndex && j + 1 != maxIndex && x0 > -.infinity && x1 > -.infinity {
                    let (dh, dl) = FastExp.twoSum2(SIMD2(x0, x1), SIMD2(repeating: -m))
                    if dh[0] >= FastExp.lowestArgument && dh[1] >= FastExp.lowestArgument {
                        let e = FastExp.expCompact2(dh, dl, tab)
                        if let store {
                            store.store(j, hi: e.hi[0], lo: e.lo[0], k: Int32(truncatingIfNeeded: e.k[0]))
                            store.store(j + 1, hi: e.hi[1], lo: e.lo[1], k: Int32(truncatingIfNeeded: e.k[1]))
                        }
                        let s0 = Int(truncatingIfNeeded: e.k[0]) - sigma, s1 = Int(truncatingIfNeeded: e.k[1]) - sigma
                        // A term more than 2^1000 below 2^σ is not summed (factor 0; counted).
                        let f = SIMD2(s0 < -1000 ? 0 : powerOfTwo(s0), s1 < -1000 ? 0 : powerOfTwo(s1))
                        part.truncations += (s0 < -1000 ? 1 : 0) + (s1 < -1000 ? 1 : 0)
                        let p = e.hi * f, l = e.lo * f
                        let (s, err) = FastExp.twoSum2(sigma2, p)
                        c2 += err + l
                        sigma2 = s
                        j += 2
                        continue
                    }
                }
                scalarTerm(j)
                scalarTerm(j + 1)
                j += 2
            }
            if j < end { scalarTerm(j) }
            let lane0 = fastTwoSum(sigma2[0], c2[0]), lane1 = fastTwoSum(sigma2[1], c2[1])
            sums.append(addSameSign(addSameSign(lane0, lane1), acc.value))
        }
        return (sums, part)
    }

    /// The row's sum, or nil when the row is outside the fast tier (NaN or +inf; no finite
    /// logit; no finite logit besides the maximum, s = 0; the second largest more than 2^19
    /// below the largest).
    ///
    /// `compact`: the exponentials of `FastExp.expCompact` (2^-68.5) summed by blocks of Sum2
    /// (`CompensatedBlockSum`), for formats with p <= 24; else those of `FastExp.exp` (2^-101)
    /// summed exactly (`FixedPointSum`).
    static func rowSum(_ x: UnsafeBufferPointer<Double>, threads: Int, store: ExpStore?, compact: Bool = false) -> RowSum? {
        let n = x.count
        let parallel = threads > 1 && n >= parallelThreshold
        let chunks = parallel ? threads * 2 : 1
        let scans = forEachChunk(count: n, chunks: chunks) { Scan.of(x, $0) }
        let scan = scans.dropFirst().reduce(scans[0]) { $0.merged(with: $1) }
        guard !scan.special, scan.maxIndex >= 0, scan.second > -.infinity else { return nil }
        let m = scan.max
        let d2 = scan.second - m
        guard d2 >= -0x1p19 else { return nil }
        let tab = FastExpTable.shared
        if compact {
            // σ: the k of the second largest logit, as `expCompact` computes it (t>>8); k is a
            // non-decreasing function of dh, so every other term's k is <= σ.
            let sigma = Int(FastExp.roundToInteger(d2 * tab.inverseCCompact)) >> 8
            let blockCount = (n + CompensatedBlockSum.blockSize - 1) / CompensatedBlockSum.blockSize
            let parts = forEachChunk(count: blockCount, chunks: parallel ? chunks : 1) { blocks in
                sumBlocksCompact(x, blocks: blocks, m: m, maxIndex: scan.maxIndex, sigma: sigma, store: store, tab)
            }
            var total: DD? = nil
            var omitted = 0
            var overflow = false
            for p in parts {
                for b in p.sums where b.hi != 0 {
                    total = total.map { addSameSign($0, b) } ?? b
                }
                omitted += p.part.omitted
                overflow = overflow || p.part.overflow
            }
            guard let total, total.hi > 0 else { return nil }
            // The exponentials' 2^-68.5, each Sum2 accumulator's bound (<= 4096 terms each), the
            // additions of accumulators and block sums (three per block, 3.02u² each), omitted or
            // underflowed terms (< 2^(σ−999) each, s >= 0.998·2^σ).
            let epsS = roundedUp(FastExp.compactRelativeError * 1.0001
                                 + CompensatedBlockSum.relativeError(terms: CompensatedBlockSum.blockSize)
                                 + Double(3 * blockCount) * 3.02 * unitRoundoff2
                                 + Double(n) * 0x1p-998)
            return RowSum(m: m, maxIndex: scan.maxIndex,
                          s: ScaledDD(hi: total.hi, lo: total.lo, exponent: sigma).normalized(),
                          epsS: epsS, overflow: overflow, omitted: omitted, compact: true)
        }
        let sigma = Int(FastExp.roundToInteger(d2 * tab.inverseC)) >> 16
        let parts = forEachChunk(count: n, chunks: chunks) { range in
            sumPart(x, range, m: m, maxIndex: scan.maxIndex, sigma: sigma, store: store, tab)
        }
        var total = FixedPointSum()
        var truncations = 0, omitted = 0
        var overflow = false
        for p in parts {
            total = total + p.sum
            truncations += p.truncations
            omitted += p.omitted
            overflow = overflow || p.overflow
        }
        guard let v = total.value() else { return nil }
        // Relative error of ŝ: the exponentials' 2^-101 (all terms positive), the truncations
        // (each < 2^(σ−126), and s >= e^(d_2) >= 2^σ(1 − 2^-17.5)), the conversion (2^-104.9).
        let epsS = roundedUp(FastExp.relativeError * 1.0001 + Double(truncations) * 0x1p-126 * 1.0001
                             + FixedPointSum.conversionError * 1.0001)
        return RowSum(m: m, maxIndex: scan.maxIndex,
                      s: ScaledDD(hi: v.hi, lo: v.lo, exponent: v.exponent + sigma),
                      epsS: epsS, overflow: overflow, omitted: omitted, compact: false)
    }

    /// L = log1p(s) as a normalized ScaledDD with relative error epsL, and L as a plain
    /// double-double `plain` (0 when L < 2^-1000) with `plainAbsoluteError` bounding
    /// |plain − L| + epsL·L.
    struct LogPart {
        var value: ScaledDD
        var epsL: Double
        var plain: DD
        var plainAbsoluteError: Double

        /// An upper bound on L: (1 + epsL)·L rounded up, or 2^-999 when L < 2^-1000.
        var upperBound: Double {
            plain.hi == 0 ? plainAbsoluteError : roundedUp((plain.hi * (1 + epsL) + plainAbsoluteError) * (1 + 0x1p-50))
        }
    }

    /// The rounding of P ± L for an exact double-double P = ph + pl and 0 < L <= `upper`, when L is
    /// too small to matter: below the unit 2^E of P (E the exponent of the last set bit of ph
    /// or pl, whichever is lower: P is a multiple of 2^E) and below 2^(e − 55), e = ⌊log₂|ph|⌋. Then no rounding boundary lies strictly
    /// between P and P ± L (P − B is a multiple of min(2^E, half-quantum >= 2^(e−55)) for every
    /// boundary B), so P ± L rounds as P ± 0⁺, which `Format.roundExactly(nudge:)` computes.
    /// This settles exact near-ties that no error bound can: P a rounding boundary (x_i − m is
    /// often exactly a midpoint of the format's grid), L = log1p(s) ≈ e^-700. Nil when L is not
    /// that small (pl must be 0 or >= 2^(e−60), so that P's unit is that of its own bits).
    @inline(__always)
    static func roundNearTie(_ p: DD, plus: Bool, upper: Double, _ format: Format) -> Double? {
        guard p.hi != 0 && p.hi.isNormal else { return nil }
        let e = binade(p.hi)
        if p.lo != 0 && (!p.lo.isNormal || binade(p.lo) < e - 60) { return nil }
        // The exponent of the last set bit of a normal double.
        func lastBit(_ x: Double) -> Int {
            binade(x) - 52 + (x.significandBitPattern | 0x0010_0000_0000_0000).trailingZeroBitCount
        }
        let unit = p.lo == 0 ? lastBit(p.hi) : Swift.min(lastBit(p.hi), lastBit(p.lo))
        let bound = Swift.min(unit, e - 55)
        guard bound > -1000, upper < powerOfTwo(bound) else { return nil }
        return format.roundExactly(p.hi, p.lo, scale: 0, nudge: plus ? 1 : -1)
    }

    static func logPart(_ row: RowSum) -> LogPart? {
        guard let (l, epsL) = FastLog1p.logOnePlus(row.s, relativeError: row.epsS, FastExpTable.shared) else { return nil }
        let e = l.exponent
        if e >= -1000 {
            let plain = DD(Double(sign: .plus, exponent: e, significand: l.hi), Double(sign: .plus, exponent: e, significand: l.lo))
            // plain.lo may underflow (<= 2^-1075 off); L <= 2^(e+1).
            let abs = roundedUp(epsL * Double(sign: .plus, exponent: e + 1, significand: 1) + 0x1p-1074)
            return LogPart(value: l, epsL: epsL, plain: plain, plainAbsoluteError: abs)
        }
        return LogPart(value: l, epsL: epsL, plain: DD(0, 0), plainAbsoluteError: Double(sign: .plus, exponent: -999, significand: 1))
    }

    // MARK: - The functions

    /// logsumexp = m + L. For m ≠ 0 an any-sign addition (cancellation when m < 0 and L ≈ −m:
    /// then the error bound, absolute, is large relative to the result, and the narrowness rule
    /// sends the request to the MPFR path).
    static func logsumexp(_ x: UnsafeBufferPointer<Double>, _ format: Format, threads: Int) -> OracleValue? {
        guard let row = rowSum(x, threads: threads, store: nil, compact: format.precision <= 24),
              let lp = logPart(row) else { return nil }
        if row.m == 0 {
            return certified(lp.value, relativeError: lp.epsL, FastFormat(format))
        }
        let w = addAnySign(DD(row.m, 0), lp.plain)
        let absolute = roundedUp(3.1 * unitRoundoff2 * (row.m.magnitude + lp.plain.hi.magnitude) * 1.0001 + lp.plainAbsoluteError)
        let ff = FastFormat(format)
        if let v = certified(w, absoluteError: absolute, ff) { return v }
        return nearTie(DD(row.m, 0), plus: true, w, absoluteError: absolute, lp, ff)
    }

    /// The output P ± L via `roundNearTie`, with the exact value w (absolute error bound
    /// `absoluteError`, which must meet the narrowness rule).
    static func nearTie(_ p: DD, plus: Bool, _ w: DD, absoluteError: Double, _ lp: LogPart, _ format: FastFormat) -> OracleValue? {
        guard w.hi != 0, w.hi.isNormal, let r = roundNearTie(p, plus: plus, upper: lp.upperBound, format.format) else { return nil }
        let e = binade(w.hi)
        let ulpExponent = Swift.max(e - 1, format.format.minNormalExponent) - format.precision + 1
        guard ulpExponent - 41 > -1000, absoluteError * (1 + 0x1p-50) <= powerOfTwo(ulpExponent - 41) else { return nil }
        return OracleValue(rounded: r, exact: ExactValue(fastHi: w.hi, lo: w.lo, scale: 0))
    }

    /// A plain double-double with an absolute error, certified.
    @inline(__always)
    static func certified(_ w: DD, absoluteError: Double, _ format: FastFormat) -> OracleValue? {
        if w.hi == 0 { return nil }
        return format.value(w.hi, w.lo, scale: 0, error: absoluteError)
    }

    /// A normalized ScaledDD with a relative error bound, certified.
    @inline(__always)
    static func certified(_ v: ScaledDD, relativeError eps: Double, _ format: FastFormat) -> OracleValue? {
        format.value(v.hi, v.lo, scale: v.exponent, error: eps * v.hi.magnitude * (1 + 0x1p-50))
    }

    /// −log_softmax_i = (−d_i) + L: a same-sign sum (−d_i >= 0, L > 0), so the error is
    /// relative: epsL on L, 3.02u² on the addition, plus L's conversion to a plain DD.
    /// d_i = 0 (the maximum, or a tie with it): exactly L, kept scaled (it may be tiny).
    @inline(__always)
    static func negativeLogSoftmax(_ d: DD, _ lp: LogPart, _ format: FastFormat, negate: Bool) -> OracleValue? {
        if d.hi == 0 {
            let v = negate ? ScaledDD(hi: -lp.value.hi, lo: -lp.value.lo, exponent: lp.value.exponent) : lp.value
            return certified(v, relativeError: lp.epsL, format)
        }
        let w = addSameSign(DD(-d.hi, -d.lo), lp.plain)
        let absolute = roundedUp(lp.plainAbsoluteError + 3.03 * unitRoundoff2 * w.hi.magnitude)
        if let v = certified(negate ? -w : w, absoluteError: absolute, format) { return v }
        // −d_i + L with L negligible next to d_i's bits: an exact near-tie (see `roundNearTie`).
        return negate ? nearTie(d, plus: false, -w, absoluteError: absolute, lp, format)
                      : nearTie(-d, plus: true, w, absoluteError: absolute, lp, format)
    }

    static func logSoftmax(_ x: UnsafeBufferPointer<Double>, _ format: Format, threads: Int) -> [OracleValue]? {
        guard let row = rowSum(x, threads: threads, store: nil, compact: format.precision <= 24), !row.overflow,
              let lp = logPart(row) else { return nil }
        let m = row.m
        let negativeInfinity = OracleValue(rounded: format.round(-Double.infinity), exact: ExactValue(-Double.infinity))
        let ff = FastFormat(format)
        let n = x.count
        func single(_ i: Int) -> OracleValue? {
            let xi = x[i]
            if xi == -.infinity { return negativeInfinity }
            let d = i == row.maxIndex ? DD(0, 0) : twoSum(xi, -m)
            return negativeLogSoftmax(d, lp, ff, negate: true)
        }
        let u2 = 3.03 * unitRoundoff2
        return withOutputs(count: n) { slots in
            // Pairs on SIMD lanes: the operations of `single` → `negativeLogSoftmax` (TwoSum,
            // `addSameSign`, the same error bound, `value2`), so the same outputs either way.
            let chunks = (threads > 1 && n >= parallelThreshold) ? threads * 2 : 1
            let base = UncheckedSendable(value: slots)
            let failures = forEachChunk(count: n, chunks: chunks) { range -> Bool in
                let out = base.value
                var i = range.lowerBound
                while i < range.upperBound {
                    if i + 1 < range.upperBound && x[i] != m && x[i + 1] != m
                        && x[i] > -.infinity && x[i + 1] > -.infinity {
                        let xs = SIMD2(x[i], x[i + 1])
                        let dh = xs - m
                        let bb = dh - xs
                        let dl = (xs - (dh - bb)) + (-m - bb)  // TwoSum(x_i, −m)
                        if dh[0].isFinite && dh[1].isFinite {
                            // addSameSign((−dh, −dl), L): TwoSum, then the low parts, Fast2Sum.
                            let a = -dh, al = -dl
                            let s = a + lp.plain.hi
                            let sb = s - a
                            let se = (a - (s - sb)) + (lp.plain.hi - sb)
                            let t = al + lp.plain.lo
                            let v = se + t
                            let wh = s + v
                            let wl = v - (wh - s)
                            let absolute = (lp.plainAbsoluteError + u2 * wh) * (1 + 0x1p-40)
                            if ff.value2(-wh, -wl, scale: SIMD2(0, 0), error: absolute, into: out + i) {
                                i += 2
                                continue
                            }
                        }
                    }
                    guard let v = single(i) else { return true }
                    (out + i).initialize(to: v)
                    i += 1
                }
                return false
            }
            return !failures.contains(true)
        }
    }

    static func crossEntropy(_ x: UnsafeBufferPointer<Double>, target t: Int, _ format: Format, threads: Int) -> OracleValue? {
        guard t >= 0 && t < x.count else { return nil }
        if x[t] == -.infinity {
            // The MPFR path: a -inf logit with a positive weight makes the loss +inf exactly
            // (unless the row has a NaN or +inf, which decide first).
            let scan = Scan.of(x, 0..<x.count)
            guard !scan.special, scan.maxIndex >= 0 else { return nil }
            return OracleValue(rounded: format.round(Double.infinity), exact: ExactValue(Double.infinity))
        }
        guard let row = rowSum(x, threads: threads, store: nil, compact: format.precision <= 24),
              let lp = logPart(row) else { return nil }
        let d = t == row.maxIndex ? DD(0, 0) : twoSum(x[t], -row.m)
        guard d.hi.isFinite else { return nil }
        return negativeLogSoftmax(d, lp, FastFormat(format), negate: false)
    }

    /// Cross-entropy with probability targets p (no class weights, no smoothing: the weights of
    /// `TargetWeights` are then p itself, D = 1):
    ///
    ///     loss = A + P·L,   A = Σ_c p_c·(m − x_c) >= 0,   P = Σ_c p_c,
    ///
    /// the MPFR path's formulation (CrossEntropy.swift): both terms >= 0, no cancellation.
    /// A: each term p_c ⊗ (−d_c) by `mulDF` (3.02u² relative, all terms >= 0), added exactly in a
    /// `FixedPointSum` relative to 2^top, top > every term's binade (2^-126·2^top per double, two
    /// per term, plus the conversion's 2^-104.9 relative). P: the p_c added exactly the same way.
    /// P·L: `mulDD` (8.1u²) on P's and L's relative errors. The final same-sign addition: 3.02u².
    /// A −inf logit with p_c > 0 makes the loss +inf (0·inf counts as 0), as on the MPFR path;
    /// P = 0 (an exact 0), subnormal or huge targets (p_c >= 2^999), products p_c·|d_c| outside
    /// [2^-960, 2^1000) (an overflow, or an underflowing TwoProd) and rows outside the fast tier
    /// go to the MPFR path.
    static func crossEntropy(_ x: UnsafeBufferPointer<Double>, probabilities p: UnsafeBufferPointer<Double>,
                             _ format: Format, threads: Int) -> OracleValue? {
        let n = x.count
        guard p.count == n, n > 0 else { return nil }
        var infinite = false
        var topP = Int.min
        for c in 0..<n where p[c] > 0 {
            if x[c] == -.infinity { infinite = true }
            topP = Swift.max(topP, binade(p[c]) + 1)
        }
        // P = 0 (exact), subnormal or huge targets: the MPFR path.
        guard topP > Int.min, topP < 1000, p.allSatisfy({ $0 == 0 || $0.isNormal }) else { return nil }
        if infinite {
            let scan = Scan.of(x, 0..<n)
            guard !scan.special, scan.maxIndex >= 0 else { return nil }
            return OracleValue(rounded: format.round(Double.infinity), exact: ExactValue(Double.infinity))
        }
        guard let row = rowSum(x, threads: threads, store: nil, compact: format.precision <= 24),
              let lp = logPart(row), !row.overflow else { return nil }
        let m = row.m
        // top for A: p_c·|d_c| < 2^(binade(p_c) + 1 + binade(d_c) + 1).
        var topA = Int.min, lowA = Int.max
        for c in 0..<n where p[c] > 0 && x[c] != m {
            let d = twoSum(x[c], -m)
            guard d.hi.isNormal else { return nil }
            let b = binade(p[c]) + binade(d.hi)
            topA = Swift.max(topA, b + 2)
            lowA = Swift.min(lowA, b)
        }
        // Every product p_c·|d_c| ∈ [2^lowA, 2^topA) finite, and >= 2^-960 so that `mulDF`'s
        // TwoProd does not underflow; else the MPFR path.
        guard topA == Int.min || (topA < 1000 && lowA >= -960) else { return nil }
        let chunks = (threads > 1 && n >= parallelThreshold) ? threads * 2 : 1
        let sums = forEachChunk(count: n, chunks: chunks) { range -> (FixedPointSum, FixedPointSum) in
            var a = FixedPointSum(), total = FixedPointSum()
            for c in range where p[c] > 0 {
                total.add(p[c], scale: -topP)
                if x[c] == m { continue }
                let d = twoSum(x[c], -m)
                let t = mulDF(DD(-d.hi, -d.lo), p[c])
                a.add(t.hi, scale: -topA)
                a.add(t.lo, scale: -topA)
            }
            return (a, total)
        }
        var aSum = FixedPointSum(), pSum = FixedPointSum()
        for (a, t) in sums {
            aSum = aSum + a
            pSum = pSum + t
        }
        guard let pv = pSum.value() else { return nil }
        let u2 = unitRoundoff2
        // P, relative: n truncations of < 2^(topP−126) against P >= 2^(topP−1) (the largest p_c),
        // and the conversion.
        let epsP = roundedUp(Double(n) * 0x1p-125 + FixedPointSum.conversionError * 1.0001)
        // P·L as a ScaledDD.
        let pl = mulDD(DD(pv.hi, pv.lo), DD(lp.value.hi, lp.value.lo))
        let plScaled = ScaledDD(hi: pl.hi, lo: pl.lo, exponent: pv.exponent + topP + lp.value.exponent).normalized()
        let epsPL = roundedUp(epsP + lp.epsL + 8.1 * u2)
        let ff = FastFormat(format)
        guard let av = aSum.value() else {
            return certified(plScaled, relativeError: epsPL, ff)  // A = 0: every p_c on a maximum
        }
        // A, relative: 2n truncations of < 2^(topA−126) against A >= 2^(topA−3) (the largest term
        // p_c·|d_c| >= 2^(binade(p) + binade(d)) = 2^(topA−2) lost at most 3.02u²), the
        // conversion, and mulDF's 3.02u² on every term.
        let epsA = roundedUp(Double(2 * n) * 0x1p-123 + FixedPointSum.conversionError * 1.0001 + 3.02 * u2)
        let aScaled = ScaledDD(hi: av.hi, lo: av.lo, exponent: av.exponent + topA)
        // loss = A + P·L: bring P·L to A's scale (exact, or below 2^-1000 of A: dropped and bounded).
        let shift = plScaled.exponent - aScaled.exponent
        var loss: DD
        var absolute: Double  // in units of 2^aScaled.exponent
        if shift >= -1000 {
            let b = DD(scaled(plScaled.hi, shift), scaled(plScaled.lo, shift))
            loss = addSameSign(DD(aScaled.hi, aScaled.lo), b)
            absolute = roundedUp(epsA * aScaled.hi + epsPL * abs(b.hi) * 1.0001 + 3.03 * u2 * loss.hi + 0x1p-1070)
        } else {
            loss = DD(aScaled.hi, aScaled.lo)
            absolute = roundedUp(epsA * aScaled.hi + 0x1p-998)
        }
        let v = ScaledDD(hi: loss.hi, lo: loss.lo, exponent: aScaled.exponent).normalized()
        return ff.value(v.hi, v.lo, scale: v.exponent, error: scaled(absolute, aScaled.exponent - v.exponent) * (1 + 0x1p-50))
    }

    /// softmax_i = 2^(k_i)·M_i ⊗ (1/S), S = 1 + s.
    ///
    /// S = addSameSign(ŝ, 1) (2.01u²) has relative error epsS·s/S + 2.01u² (+2^-1074 when ŝ's
    /// low part underflows; when s < 2^-1000, S = 1 with error s). 1/S: `divDD`, 14u², so
    /// |1/Ŝ − 1/S| <= (ε_S(1 + 2ε_S) + 14u²)/S. Each output adds the exponential's 2^-101 and
    /// one `mulDD` (8.1u²); the products of these small relative errors are covered by
    /// `roundedUp`. At the maximum the output is 1/S itself.
    static func softmax(_ x: UnsafeBufferPointer<Double>, _ format: Format, threads: Int) -> [OracleValue]? {
        let n = x.count
        guard n > 0 else { return nil }  // the MPFR path answers the empty row, as before
        return withOutputs(count: n) { slots in
            let store = ExpStore(slots: slots)
            guard let row = rowSum(x, threads: threads, store: store, compact: format.precision <= 24),
                  row.omitted == 0 else { return false }
            let s = row.s
            var sum: DD
            var epsSum: Double
            if s.exponent >= -1000 {
                let plain = DD(Double(sign: .plus, exponent: s.exponent, significand: s.hi),
                               Double(sign: .plus, exponent: s.exponent, significand: s.lo))
                sum = addSameSign(plain, 1.0)
                epsSum = row.epsS * (plain.hi / sum.hi) * 1.0001 + 2.01 * unitRoundoff2 + 0x1p-1074
            } else {
                sum = DD(1, 0)
                epsSum = Double(sign: .plus, exponent: s.exponent + 1, significand: 1) + 0x1p-1074
            }
            let inverse = divDD(DD(1, 0), sum)
            let epsInverse = roundedUp(epsSum * (1 + 2 * epsSum) + 14 * unitRoundoff2)
            let eps = roundedUp((row.compact ? FastExp.compactRelativeError : FastExp.relativeError) + epsInverse + 8.1 * unitRoundoff2)
            let zero = OracleValue(rounded: format.round(0.0), exact: ExactValue(0.0))
            let ff = FastFormat(format)
            let epsUp = eps * (1 + 0x1p-50)
            func single(_ i: Int) -> OracleValue? {
                if i == row.maxIndex {
                    return ff.value(inverse.hi, inverse.lo, scale: 0, error: epsInverse * inverse.hi * (1 + 0x1p-50))
                }
                if x[i] == -.infinity { return zero }
                let e = store.load(i)  // read before slot i is overwritten with output i
                if e.k == Int32.min { return nil }
                let p = mulDD(DD(e.hi, e.lo), inverse)
                return ff.value(p.hi, p.lo, scale: Int(e.k), error: epsUp * p.hi)
            }
            // Pairs of ordinary outputs on SIMD lanes (`mulDD2`, `FastFormat.value2`: the same
            // operations as `single`, so the same outputs whichever way an index is taken).
            let chunks = (threads > 1 && n >= parallelThreshold) ? threads * 2 : 1
            let base = UncheckedSendable(value: slots)
            let failures = forEachChunk(count: n, chunks: chunks) { range -> Bool in
                let out = base.value
                var i = range.lowerBound
                while i < range.upperBound {
                    if i + 1 < range.upperBound && i != row.maxIndex && i + 1 != row.maxIndex
                        && x[i] > -.infinity && x[i + 1] > -.infinity {
                        let a = store.load(i), b = store.load(i + 1)
                        if a.k != Int32.min && b.k != Int32.min {
                            let p = mulDD2(SIMD2(a.hi, b.hi), SIMD2(a.lo, b.lo), inverse)
                            if ff.value2(p.hi, p.lo, scale: SIMD2(Int64(a.k), Int64(b.k)), error: p.hi * epsUp, into: out + i) {
                                i += 2
                                continue
                            }
                        }
                    }
                    guard let v = single(i) else { return true }
                    (out + i).initialize(to: v)
                    i += 1
                }
                return false
            }
            return !failures.contains(true)
        }
    }

    // MARK: - Batch loss (PyTorch CrossEntropyLoss, hard targets, no class weights or smoothing)

    /// Each kept row's loss −log_softmax_t is computed as for `crossEntropy`, as a normalized
    /// ScaledDD with a relative error bound; reduction "none" certifies each; "sum" adds them
    /// exactly in a `FixedPointSum` relative to the largest binade (2^-126 per double of it,
    /// plus the conversion's 2^-104.9), with the rows' absolute errors summed alongside; "mean"
    /// divides that by the number of kept rows (an integer, exact as a double) with `divDD`
    /// (14u²). All losses are >= 0, so relative bounds add. A row the fast tier cannot take
    /// (NaN, ±inf in a kept row's target, ...) sends the whole request to the MPFR path.
    static func batchLoss(_ q: OracleRequest, threads: Int) -> [OracleValue]? {
        guard let rows = q.batch, case .indices(let targets)? = q.batchTargets,
              q.weight == nil, q.labelSmoothing == 0, !rows.isEmpty else { return nil }
        let n = rows.count
        let k = rows[0].count
        struct RowLoss: Sendable { var value: ScaledDD; var relativeError: Double; var ignored: Bool; var ok: Bool }
        let failed = RowLoss(value: ScaledDD(hi: 0, lo: 0, exponent: 0), relativeError: 0, ignored: false, ok: false)
        let perRowThreads = (threads > 1 && n * k >= parallelThreshold && n >= 2 * threads) ? threads : 1
        let innerThreads = perRowThreads == 1 ? threads : 1
        let chunks = perRowThreads > 1 ? perRowThreads * 4 : 1
        let compact = q.format.precision <= 24
        let losses: [RowLoss] = forEachChunk(count: n, chunks: chunks) { range -> [RowLoss] in
            range.map { i -> RowLoss in
                let t = targets[i]
                if t == q.ignoreIndex { return RowLoss(value: ScaledDD(hi: 0, lo: 0, exponent: 0), relativeError: 0, ignored: true, ok: true) }
                let x = rows[i]
                guard t >= 0 && t < x.count, x[t] != -.infinity else { return failed }
                return x.withUnsafeBufferPointer { xb -> RowLoss in
                    guard let row = rowSum(xb, threads: innerThreads, store: nil, compact: compact),
                          let lp = logPart(row) else { return failed }
                    let d = t == row.maxIndex ? DD(0, 0) : twoSum(xb[t], -row.m)
                    guard d.hi.isFinite else { return failed }
                    if d.hi == 0 { return RowLoss(value: lp.value, relativeError: lp.epsL, ignored: false, ok: true) }
                    let w = addSameSign(DD(-d.hi, -d.lo), lp.plain)
                    let err = roundedUp(lp.plainAbsoluteError + 3.03 * unitRoundoff2 * w.hi)
                    let v = ScaledDD(hi: w.hi, lo: w.lo, exponent: 0).normalized()
                    return RowLoss(value: v, relativeError: roundedUp(err / (w.hi * (1 - 0x1p-50))), ignored: false, ok: true)
                }
            }
        }.flatMap { $0 }
        guard losses.allSatisfy(\.ok) else { return nil }
        let ff = FastFormat(q.format)
        switch q.reduction {
        case .none:
            var out: [OracleValue] = []
            out.reserveCapacity(n)
            for r in losses {
                if r.ignored {
                    out.append(OracleValue(rounded: q.format.round(0.0), exact: ExactValue(0.0)))
                } else {
                    guard let v = certified(r.value, relativeError: r.relativeError, ff) else { return nil }
                    out.append(v)
                }
            }
            return out
        case .sum, .mean:
            let kept = losses.filter { !$0.ignored }
            guard !kept.isEmpty else { return nil }  // mean of nothing: NaN, the MPFR path says so
            let top = kept.map(\.value.exponent).max()! + 1  // every |loss| < 2^top
            var acc = FixedPointSum()
            var errorSum = 0.0  // in units of 2^top
            for r in kept {
                let scale = r.value.exponent - top
                acc.add(r.value.hi, scale: scale)
                acc.add(r.value.lo, scale: scale)
                errorSum += scaled(r.relativeError * 2, Swift.max(scale, -1060)) + 0x1p-1000
            }
            guard let v = acc.value() else { return nil }
            // Truncation: two doubles per row, < 2^-126 each (units of 2^top); the error terms'
            // own sum, rounded up (n roundings, and a 2^-1000 floor per row for underflow).
            let units = roundedUp((errorSum * (1 + Double(2 * kept.count) * unitRoundoff)
                                   + Double(2 * kept.count) * 0x1p-126) * 1.0001)
            let total = ScaledDD(hi: v.hi, lo: v.lo, exponent: v.exponent + top)  // hi ∈ [1, 2)
            let valueUnits = scaled(v.hi, v.exponent) * (1 - 0x1p-50)  // total / 2^top, from below
            let relative = roundedUp(units / valueUnits + FixedPointSum.conversionError * 1.0001)
            if q.reduction == .sum {
                return certified(total, relativeError: relative, ff).map { [$0] }
            }
            let quotient = divDD(DD(total.hi, total.lo), DD(Double(kept.count), 0))
            let mean = ScaledDD(hi: quotient.hi, lo: quotient.lo, exponent: total.exponent).normalized()
            return certified(mean, relativeError: roundedUp(relative + 14 * unitRoundoff2), ff).map { [$0] }
        }
    }

    // MARK: - Threads

    struct UncheckedSendable<T>: @unchecked Sendable {
        let value: T
    }

    /// body(range) for `chunks` consecutive ranges covering 0..<n, on up to `chunks` threads
    /// (DispatchQueue.concurrentPerform); the results in range order.
    static func forEachChunk<R>(count n: Int, chunks: Int, _ body: (Range<Int>) -> R) -> [R] {
        if chunks <= 1 || n < chunks { return [body(0..<n)] }
        let results = UnsafeMutablePointer<R?>.allocate(capacity: chunks)
        results.initialize(repeating: nil, count: chunks)
        defer {
            results.deinitialize(count: chunks)
            results.deallocate()
        }
        let out = UncheckedSendable(value: results)
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(value: body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let range = (n * c / chunks)..<(n * (c + 1) / chunks)
                out.value[c] = work.value(range)
            }
        }
        return (0..<chunks).map { results[$0]! }
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

    /// Output i = body(i) into slots[i] for every i, on up to `threads` threads; false if any
    /// output is nil (the request then goes to the MPFR path).
    static func fillOutputs(_ slots: UnsafeMutablePointer<OracleValue>, count n: Int, threads: Int,
                            _ body: (Int) -> OracleValue?) -> Bool {
        let chunks = (threads > 1 && n >= parallelThreshold) ? threads * 2 : 1
        let base = UncheckedSendable(value: slots)
        let failures = forEachChunk(count: n, chunks: chunks) { range -> Bool in
            for i in range {
                guard let v = body(i) else { return true }
                (base.value + i).initialize(to: v)
            }
            return false
        }
        return !failures.contains(true)
    }
}
