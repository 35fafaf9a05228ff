import DoubleWordArithmetic
// L = log1p(s), once per row, in the two forms the outputs use; and exact near-ties P ± L, which
// no error bound can settle, settled as the MPFR path's open enclosure ends settle them.

extension DoubleWordTier {
    /// L = log1p(s) as a normalized ScaledDoubleWord with relative error epsL, and L as a plain
    /// double-double `plain` (0 when L < 2^-1000) with `plainAbsoluteError` bounding
    /// |plain − L| + epsL·L.
    struct LogPart {
        /// L, normalized (any magnitude).
        var value: ScaledDoubleWord
        /// |value − L| <= epsL·L.
        var epsL: Double
        /// L as a plain double-double, 0 when L < 2^-1000.
        var plain: DoubleWord
        /// |plain − L| + epsL·L <= plainAbsoluteError.
        var plainAbsoluteError: Double

        /// An upper bound on L: (1 + epsL)·L rounded up, or 2^-999 when L < 2^-1000.
        var upperBound: Double {
            plain.hi == 0 ? plainAbsoluteError : roundedUp((plain.hi * (1 + epsL) + plainAbsoluteError) * (1 + 0x1p-50))
        }
    }

    /// The rounding of P ± L for an exact double-double P = ph + pl and 0 < L <= `upper`, when L
    /// is too small to matter: below the unit 2^E of P (E the exponent of the last set bit of ph
    /// or pl, whichever is lower: P is a multiple of 2^E) and below 2^(e − 55), e = ⌊log₂|ph|⌋.
    /// Then no rounding boundary lies strictly between P and P ± L (P − B is a multiple of min(2^E, half-quantum >= 2^(e−55)) for every
    /// boundary B), so P ± L rounds as P ± 0⁺, which `Format.roundExactly(nudge:)` computes.
    /// This settles exact near-ties that no error bound can: P a rounding boundary (x_i − m is
    /// often exactly a midpoint of the format's grid), L = log1p(s) ≈ e^-700. Nil when L is not
    /// that small (pl must be 0 or >= 2^(e−60), so that P's unit is that of its own bits).
    @inline(__always)
    static func roundNearTie(_ p: DoubleWord, plus: Bool, upper: Double, _ format: Format) -> Double? {
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

    /// L = log1p(s) for the row's sum (`DoubleWordLog1p`, relative error epsL from s's epsS and its own
    /// run-time bound), or nil when `DoubleWordLog1p` declines.
    static func logPart(_ row: RowSum) -> LogPart? {
        guard let (l, epsL) = DoubleWordLog1p.logOnePlus(row.s, relativeError: row.epsS, DoubleWordExpTable.shared) else { return nil }
        return logPart(l, relativeError: epsL)
    }

    /// The two forms of a positive L known as a normalized ScaledDoubleWord l with
    /// |l − L| <= epsL·L.
    static func logPart(_ l: ScaledDoubleWord, relativeError epsL: Double) -> LogPart {
        let e = l.exponent
        if e >= -1000 {
            // (Each part one multiplication by 2^e, normal: RN(x·2^e), as Double(sign:exponent:significand:)
            // gives it, without its generic slow path.)
            let p = scaled(1, by: e)
            let plain = DoubleWord(l.hi * p, l.lo * p)
            // plain.lo may underflow (<= 2^-1075 off); L <= 2^(e+1).
            let abs = roundedUp(epsL * (2 * p) + 0x1p-1074)
            return LogPart(value: l, epsL: epsL, plain: plain, plainAbsoluteError: abs)
        }
        return LogPart(value: l, epsL: epsL, plain: DoubleWord(0, 0), plainAbsoluteError: 0x1p-999)
    }

    /// The output P ± L via `roundNearTie`, with the exact value w (absolute error bound
    /// `absoluteError`, which must meet the narrowness rule), or nil.
    static func nearTie(_ p: DoubleWord, plus: Bool, _ w: DoubleWord, absoluteError: Double, _ lp: LogPart,
                        _ certifier: DoubleWordCertifier) -> OracleValue? {
        nearTie(p, plus: plus, w, absoluteError: absoluteError, upper: lp.upperBound, certifier)
    }

    /// `nearTie` for P ± t with 0 < t <= `upper`.
    static func nearTie(_ p: DoubleWord, plus: Bool, _ w: DoubleWord, absoluteError: Double, upper: Double,
                        _ certifier: DoubleWordCertifier) -> OracleValue? {
        let format = certifier.format
        guard w.hi != 0, w.hi.isNormal, let r = roundNearTie(p, plus: plus, upper: upper, format) else { return nil }
        let e = binade(w.hi)
        let ulpExponent = Swift.max(e - 1, format.minNormalExponent) - format.precision + 1
        guard ulpExponent - 41 > -1000, absoluteError * (1 + 0x1p-50) <= powerOfTwo(ulpExponent - 41) else { return nil }
        return OracleValue(rounded: r, exact: ExactValue(scaledHi: w.hi, lo: w.lo, scale: 0))
    }

    /// log_softmax's f64 outputs d − L (d = dh + dl = x_i − m exactly, TwoSum's parts; L = log1p(s)
    /// <= `upper`; the output's double-word (−wh, −wl) with absolute error err) that are exact
    /// near-ties, on lanes: the lanes where `nearTie(d, plus: false, −w, absoluteError: err, ...)`
    /// gives an output, and that output's rounded value. Lane j is taken when
    /// - dl ≠ 0 and c = dh + 2·dl is exact (c − dh = 2dl; c − dh itself is exact, Sterbenz, as
    ///   |2dl| <= ulp(dh)): d is not a double (TwoSum's dl ≠ 0) and is the midpoint of the doubles
    ///   dh and c, which are then adjacent (two doubles at most ulp(dh) apart, with a midpoint that
    ///   is not a double, have none between them);
    /// - |dh| >= max(2^56·upper, 2^-944): with e = ⌊log₂|dh|⌋, |dl| = 2^(e−53) or 2^(e−54) is normal
    ///   and above 2^(e−60), P's unit is dl's, so `roundNearTie`'s bound is e − 55 > −1000, and
    ///   L <= upper <= 2^-56·|dh| < 2^(e−55): it rounds d − 0⁺,
    ///   which for f64 is the lower of dh and c (d − 0⁺ lies between them, below their midpoint);
    /// - 2^-900 <= |wh| < 2^1000 and err·(1 + 2^-50) <= 2^(⌊log₂|wh|⌋ − 94): `nearTie`'s
    ///   narrowness rule (ulp exponent ⌊log₂|wh|⌋ − 53, minus 41; normal here).
    @inline(__always)
    static func nearTieLanes<V: DoubleLanes>(_ dh: V, _ dl: V, output wh: V, absoluteError err: V, upper: Double)
        -> (taken: SIMDMask<V.MaskStorage>, rounded: V) {
        let c = dh + 2 * dl
        let least = upper.isFinite ? Swift.max(upper * 0x1p56, 0x1p-944) : Double.infinity
        let w = magnitudeLanes(wh)
        let binade = unsafeBitCast(unsafeBitCast(w, to: V.MaskStorage.self) & 0x7FF0_0000_0000_0000, to: V.self)
        let taken = (dl .!= 0) .& (c - dh .== 2 * dl) .& (magnitudeLanes(dh) .>= V(repeating: least))
            .& (w .>= 0x1p-900) .& (w .< 0x1p1000) .& (err * (1 + 0x1p-50) .<= binade * 0x1p-94)
        return (taken, dh.replacing(with: c, where: c .< dh))
    }
}
