import MPFR

// Outputs the double-word pass leaves, recomputed alone in MPFR intervals. Three functions of
// the tier have outputs that are differences which cancel past what the exponentials' 2^-101
// leaves certifiable (2^-40 of an ulp: `Certifier.isNarrow`):
//
//   cross_entropy_grad, probability targets  g_c  = e_c·[P/S] − p_c      (RefinedProbabilityGradient.swift)
//   log_softmax_backward                     dx_i = dy_i − e_i·[G/S]     (BackwardOutputs.swift)
//   softmax_backward                         dx_i = e_i·(dy_i − [T/S])/[S]  (BackwardOutputs.swift)
//
// with e_i = [exp([x_i − m])] (1 exactly at the maximum's index) and the row-wide enclosures in
// brackets made once per precision by the file named on each line, which states why each holds its
// value. Rather than decline such a row to the MPFR path, the double-word pass writes
// `MarkedGradientOutputs.mark` in place of each output it does not certify, and `fillRefining`
// recomputes each marked output alone (`RefinedOutputs.output`).
//
// Error bound: none beyond the intervals' own. Every operation above is an `IntervalArithmetic`
// operation, rounded outward, on enclosures of its operands (x_i, m, p_c and dy_i are binary64
// points, exact), so the interval holds the exact output at every precision. It is certified as
// the MPFR path certifies (`certified`: `Format.certify` of the `closed` enclosure,
// `Certifier.isNarrow`, the midpoint as the exact value) at 128, then 384 bits, hence the same
// output; beyond, or an exact zero, or a NaN end: nil, and the MPFR path answers the request.

/// Output i of a row recomputed alone in MPFR intervals, for the outputs the double-word pass
/// marks (see RefinedOutputs.swift): the probability-target gradient e_c·[P/S] − p_c,
/// log_softmax_backward dy_i − e_i·[G/S], or softmax_backward e_i·(dy_i − [T/S])/[S], from
/// row-wide enclosures made once per precision. One thread, except [P/S]'s terms (`threads`).
final class RefinedOutputs {
    /// Which function's outputs, and so which row-wide enclosures.
    enum Form {
        /// cross_entropy_grad with probability targets p: e_c·[P/S] − p_c, [P/S] with S's cut
        /// and grouped terms (`probabilitySums`, RefinedProbabilityGradient.swift).
        case probabilityGradient
        /// log_softmax_backward with upstream gradient dy: dy_i − e_i·[G/S], G = Σ dy_j
        /// (`backwardSums`, BackwardOutputs.swift).
        case logSoftmaxBackward
        /// softmax_backward: e_i·(dy_i − [T/S])/[S], T = Σ e_j·dy_j (`backwardSums`).
        case softmaxBackward
    }

    let form: Form
    /// The row, and the targets p (`probabilityGradient`) or the upstream gradient dy.
    let x: UnsafeBufferPointer<Double>, targets: UnsafeBufferPointer<Double>
    let maxIndex: Int
    let format: Format
    /// The threads [P/S]'s terms are split over (1 unless MPFR is thread-safe; the backward
    /// sums are made on the calling thread).
    let threads: Int
    /// The working precisions, in order.
    static let precisions = [128, 384]
    /// ([S], the ratio [P/S], [G/S] or [T/S]) at each precision, made when first needed.
    private var sums: [Int: (s: Interval, ratio: Interval)] = [:]

    init(_ form: Form, x: UnsafeBufferPointer<Double>, targets: UnsafeBufferPointer<Double>, maxIndex: Int, format: Format,
         threads: Int = 1) {
        (self.form, self.x, self.targets, self.maxIndex, self.format) = (form, x, targets, maxIndex, format)
        self.threads = mpfrIsThreadSafe ? threads : 1  // (0: automatic, as the tier's `threads`)
    }

    /// Output i, certified as the MPFR path certifies it, or nil (not certified at the last
    /// precision, or an exact zero: the MPFR path decides those). Its enclosure holds the output:
    /// outward-rounded operations on enclosures (see the file's notes).
    func output(_ i: Int) -> OracleValue? {
        Self.certified(format) { a in
            let (s, ratio) = sums(a)
            let e = i == maxIndex ? a.one : a.exp(a.sub(a.point(x[i]), a.point(x[maxIndex])))
            switch form {
            case .probabilityGradient: return a.sub(a.mul(e, ratio), a.point(targets[i]))
            case .logSoftmaxBackward: return a.sub(a.point(targets[i]), a.mul(e, ratio))
            case .softmaxBackward: return a.div(a.mul(e, a.sub(a.point(targets[i]), ratio)), s)
            }
        }
    }

    /// [S] and the form's ratio at the arithmetic's precision (in the caller's widest exponent
    /// range), made once per precision.
    func sums(_ a: IntervalArithmetic) -> (s: Interval, ratio: Interval) {
        if let r = sums[a.precision] { return r }
        let r = form == .probabilityGradient ? probabilitySums(a) : backwardSums(a, log: form == .logSoftmaxBackward)
        sums[a.precision] = r
        return r
    }

    /// The output whose enclosure at precision w is `enclosure` (MPFR intervals of that
    /// precision), certified as the MPFR path certifies it (`Format.certify` of the `closed`
    /// enclosure, `Certifier.isNarrow`, the midpoint as the exact value) at the first of
    /// `precisions` where it does; nil when none does, or for an exact zero or a NaN end (the
    /// MPFR path decides those). Shared by these outputs and the softcapped refined gradient.
    static func certified(_ format: Format, _ enclosure: (IntervalArithmetic) -> Interval) -> OracleValue? {
        ExponentRange.widest {
            let certifier = Certifier(format: format, guardBits: 0, maxPrecision: 0)
            for w in precisions {
                let g = enclosure(IntervalArithmetic(precision: w))
                if g.isExactZero || g.lo.isNaN || g.hi.isNaN { return nil }
                if let r = format.certify(closed(g)), certifier.isNarrow(g) {
                    return OracleValue(rounded: r, exact: ExactValue(Certifier.midpoint(g)))
                }
            }
            return nil
        }
    }

    /// g widened by one unit of its ends' precision on both sides. Certifying the widened
    /// enclosure keeps a rounding boundary off g's ends: an exact near-tie −p_c + e^(−10^4) on a
    /// midpoint (g.lo = −p_c exactly) would certify from g's open ends, and the tier leaves it to
    /// the MPFR path instead, whose (e_c·A_c − p_c·B_c)/S straddles the tie at every precision and
    /// which decides it by the sign of q_c with its second form −r̃_c/D + e_c·R̃/(S·D)
    /// (MidpointForms.swift). Declining costs time only: the tier never answers an output with
    /// an argument the MPFR path does not make.
    static func closed(_ g: Interval) -> Interval {
        let lo = BigFloat(precision: g.lo.precision), hi = BigFloat(precision: g.hi.precision)
        lo.set(g.lo, .down)
        hi.set(g.hi, .up)
        lo.nextDown()
        hi.nextUp()
        return Interval(lo: lo, hi: hi)
    }
}

extension DoubleWordTier {
    /// Fills slots[0..<n] with `outputs` (`fillOutputs`), whose declined outputs are
    /// `MarkedGradientOutputs.mark`, then replaces each mark, in index order, by
    /// `refined().output(i)` (made at the first mark, used for the rest). False when `outputs`
    /// gives nil, when more than `limit` outputs are marked (nil: no limit), or when a refined
    /// output is nil.
    static func fillRefining<Outputs: RowOutputs>(_ slots: UnsafeMutablePointer<OracleValue>, count n: Int, threads: Int,
                                                 _ outputs: Outputs, limit: Int?, refined make: () -> RefinedOutputs) -> Bool {
        guard fillOutputs(slots, count: n, threads: threads, outputs) else { return false }
        if let limit {
            var marks = 0
            for i in 0..<n where MarkedGradientOutputs.isMark(slots[i]) { marks += 1 }
            guard marks <= limit else { return false }
        }
        var refined: RefinedOutputs?
        for i in 0..<n where MarkedGradientOutputs.isMark(slots[i]) {
            let r = refined ?? make()
            refined = r
            guard let v = r.output(i) else { return false }
            slots[i] = v
        }
        return true
    }
}

/// `ProbabilityGradientOutputs` with `mark` in place of each output it declines (never nil).
struct MarkedGradientOutputs: RowOutputs {
    let plain: ProbabilityGradientOutputs
    /// The rounded field of `mark`: a NaN whose payload no rounding gives (`Format.round` and
    /// the certifiers give the default NaN, e4m3fn's overflow, or numbers).
    static var markBits: UInt64 { 0x7FF8_0000_00DE_C11E }
    /// The value that stands for a declined output until it is refined.
    static var mark: OracleValue { OracleValue(rounded: Double(bitPattern: markBits), exact: ExactValue(Double.nan)) }

    /// Whether v is `mark`.
    @inline(__always)
    static func isMark(_ v: OracleValue) -> Bool { v.rounded.bitPattern == markBits }

    @inline(__always)
    func single(_ i: Int) -> OracleValue? { plain.single(i) ?? Self.mark }

    @inline(__always)
    func pair(_ i: Int, into out: UnsafeMutablePointer<OracleValue>) -> Bool { false }
}
