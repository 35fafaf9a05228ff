import DoubleWordArithmetic
// f64 outputs in binades [901, 1000) on SIMD lanes: above the inline test's binades (e < 901),
// where every such output took `certifyOther` alone (log_softmax's rows of logits about 1e300,
// near_ties: d_i = x_i − m is a multiple of 2^944). binary64's grid is the same, scaled, in every
// binade of its normal range, so the test itself decides them on v·2^-600.

extension DoubleWordCertifier {
    /// The shift S = −600 that brings binades [901, 1000) to [301, 400), inside the test's range.
    static var highBinadeShift: Int64 { -600 }

    /// True, with lane j's output written to dst[j] for every lane, when every v_j = h_j + l_j
    /// (|l_j| <= 2^-50|h_j|, scale 0, absolute error err_j) has 2^901 <= |h_j| < 2^1000, the format
    /// is f64, and `test` on v_j·2^-600 with the error err'_j = max(err_j, 2^-100·|h_j|) passes on
    /// every lane; else false with nothing written (the caller's other ways then decide, as before).
    ///
    /// Why the output is `certifyOther`'s, bit for bit:
    /// - h·2^-600 is exact (both normal), l·2^-600 exact or off by <= 2^-1075 when it underflows
    ///   (the test covers that); the lanes lie in binades [301, 400), where `test` applies;
    /// - binary64's rounding commutes with the scaling by 2^600 there (binades [301, 400) and
    ///   [901, 1000) are both normal and below the largest finite: the grid is the same, scaled),
    ///   so `test` certifying r' says every value of [v − err', v + err'] rounds to r'·2^600 in f64
    ///   (exact: a power-of-two scaling inside the normal range);
    /// - narrow: the test's es <= 2^(e − 94) is at least as strict as `testOutsideBinades`'s and
    ///   `certifiedValue`'s rule (err·2^-e·(1 + 2^-50) <= 2^-94), as es >= err·(1 + 2^-50);
    /// - err' >= 2^-100·|h| covers `certifyExactly`'s bracket (its ends move by <= 2 ulps of
    ///   l ± err, <= 2^-101·|h|) and `testOutsideBinades`'s own floor a·2^-100, so where this
    ///   certifies, `certifyOther` certifies too (whichever of its ways decides), with the same
    ///   rounded value, the rounding of the exact value;
    /// - the exact value written is (h + l) from h and l (`writeOutputs` with scale 0:
    ///   `ExactValue(normalHi:lo:)`, equal to `certifyOther`'s `ExactValue(scaledHi:lo:scale:)`
    ///   of the normalized v).
    @inline(__always)
    func certifyHighBinades<V: DoubleLanes>(_ h: V, _ l: V, error err: V, into dst: UnsafeMutablePointer<OracleValue>) -> Bool {
        guard precision == 53 && shift == 0 else { return false }
        let magnitude = magnitudeLanes(h)
        guard all((magnitude .>= 0x1p901) .& (magnitude .< 0x1p1000)) else { return false }
        let floor = magnitude * 0x1p-100
        let widened = err.replacing(with: floor, where: floor .> err)  // a NaN err stays NaN: never narrow
        let t = test(lanes: h, l, scale: V.MaskStorage(repeating: Self.highBinadeShift), error: widened)
        guard all(t.inRange .& t.narrow .& t.certified) else { return false }
        Self.writeOutputs(rounded: t.rounded * 0x1p600, h, l, scale: V.MaskStorage(repeating: 0), to: dst)
        return true
    }
}

extension DoubleWordCertifier {
    /// `certifyHighBinades` for one output v = h + l (scale 0, absolute error err): its output,
    /// or nil (the caller's other ways then decide).
    @inline(__always)
    func certifyHighBinade(_ h: Double, _ l: Double, error err: Double) -> OracleValue? {
        guard precision == 53 && shift == 0 && h.magnitude >= 0x1p901 && h.magnitude < 0x1p1000 else { return nil }
        let floor = h.magnitude * 0x1p-100
        let t = test(SIMD2(repeating: h), SIMD2(repeating: l), scale: SIMD2(repeating: Self.highBinadeShift),
                     error: SIMD2(repeating: floor > err ? floor : err))  // a NaN err stays NaN
        guard t.inRange[0] && t.narrow[0] && t.certified[0] else { return nil }
        return OracleValue(rounded: t.rounded[0] * 0x1p600, exact: ExactValue(normalHi: h, lo: l))
    }
}
