import DoubleWordArithmetic
import ParallelExecution

// Fixed-point arithmetic for the softcapped refined gradient (RefinedSoftcapGradient.swift): the
// terms e_j = e^(z_j − z_M), z_j = c·tanh(x_j/c), of S = Σ_j e_j to an absolute error of a few
// dozen units of 2^-124 each, without an MPFR call per logit (about 20 µs for tanh and exp at 128
// bits; these are a few hundred ns).
//
// Format: Q4.124, a UInt128 n standing for n·2^-124 (values in [0, 16)); u = 2^-124. Every
// operation truncates (rounds toward 0). Errors are absolute, in units of u.
//
// - `mul`: ⌊a·b·2^-124⌋ from the full 256-bit product (a, b < 16: the product < 2^256):
//   error in [−u, 0], none for an exact product.
// - `fromDouble(d)`, 0 <= d < 16: d's significand shifted into place, truncated: error in
//   [−u, 0] (0 for d >= 2^-72, whose bits all lie at or above 2^-124).
// - `expNegative(k, f)` = e^-(k + f), k in 0 ..< 88, f in [0, 1) (Q4.124):
//   e^-k (`wholes`) · e^(−i/64) (`sixtyFourths`, i = ⌊64f⌋) · e^(−i'/4096)
//   (`fourThousandNinetySixths`, i' = ⌊4096f⌋ mod 64) · P(r), r = f − i/64 − i'/4096 in
//   [0, 2^-12) exact (f's bits below 2^-12), P the Taylor polynomial of e^-r of degree 9 in
//   Horner form, p_9 = c_9, p_n = c_n − ⌊r·p_(n+1)⌋ (c_n = RN(1/n!), `reciprocalFactorials`,
//   off by <= u/2).
//   * Horner: the error e_n of p_n against the exact polynomial with exact coefficients obeys
//     |e_n| <= u/2 + u + r·|e_(n+1)|, so |e_n| <= 1.5u/(1 − 2^-12) < 1.501u; the series' rest
//     < r^10/10!·(1 + 2^-12) < 2^-120/2^21.7 < 2^-141: |p_0 − e^-r| < 1.51u (and p_n never
//     goes negative: r·p_(n+1) <= c_(n+1)/4096·(1 + 2^-80) < c_n − u).
//   * tables: RN of values in (0, 1], off by <= u/2 each; the truncated product of the first
//     two is off by <= u/2 + u/2 + u = 2u (plus u²/4), times the third (<= 1) truncated by
//     <= 2u + u/2 + u = 3.5u (plus 2^-120 u); times p_0 (<= 1 + 1.51u) truncated:
//     3.5u(1 + 2^-100) + 1.51u + u < 6.1u. So |expNegative − e^-(k+f)| < 6.1u.
//     (Degree 9 and three tables: 12 products; degree 14 with two, as before, took 16.)
// - `expNegative(t)` for a double t >= 0: t = k + f (k = ⌊t⌋, f = t − k exact: Sterbenz for
//   t >= 1), f to Q4.124 (error <= u, at most u in the result, e^-t being 1-Lipschitz on t >= 0):
//   < 7.1u; t >= 88: 0, e^-88 < 2^-126.9 < u.
// - `tanhFromE(E)` = (1 − E)/(1 + E) for E in [0, 1]: q0 = N times ρ = RN(1/D) in binary64,
//   then two corrections q' = q + δ(R), R = N − ⌊D·q⌋ (exact in Int128: |R| < 2^127), δ = R·ρ
//   in binary64 (R and D converted with relative errors < 3·2^-53, `toDouble`, the reciprocal
//   and the product rounded: δ = (R/D)(1 + θ), |θ| < 8.1·2^-53 < 2^-50; one division for the
//   three steps; q0's own error only sets the size of the first R),
//   truncated to Q4.124. With R* = N − D·q, R = R* + τ (τ in [0, u)), the new error is
//   q' − N/D = −R*/D + (R/D)(1 + θ) − τ' = τ/D + θ·R/D − τ' (D >= 1, τ' in [0, u) the
//   truncation), so |q' − N/D| < u + 2^-50|R| + u. The second correction's R is checked at run
//   time, |R| < 2^-75 (else nil; it is about 2^-99), leaving < 2.5u < 3u. The input's own error ε_E moves (1 − E)/(1 + E) by at most 2ε_E (its derivative is
//   −2/(1 + E)², of magnitude <= 2).
//
// The row (`SoftcapFixedRow`), c = 2^s with 2^-400 <= c <= 2 (so |z_j| <= 2 and z_M − z_j <= 4,
// well inside signed Q4.124's ±8):
// - a_j = x_j·2^-s exact (binary64, no underflow in the tier's domain; an overflow to ∞ only
//   means t >= 88 below), t_j = 2|a_j| exact, E_j = `expNegative(t_j)` (< 7.1u);
// - T_j = `tanhFromE(E_j)` (< 2·7.1u + 3u = 17.2u), z_j = ±T_j·2^s (a left shift is exact; a
//   right shift truncates, < u): |ẑ_j − z_j| < (17.2c + 1)u;
// - y_j = ẑ_M − ẑ_j, taken as 0 if negative (the exact y_j >= 0, so that only shrinks the
//   error): |ŷ_j − y_j| < 2(17.2c + 1)u; e_j = `expNegative(ŷ_j)`: e^-y is 1-Lipschitz on
//   y >= 0, so |ê_j − e_j| < (6.1 + 34.4c + 2)u = `termError` (42.5u at c = 1);
// - logits equal to x_M: e_j = 1 exactly; logits with t_j >= 88 share E = 0, hence one ẑ per
//   sign and one term per sign, added times their count (each with the same bound);
// - S = Σ ê_j exactly in a 192-bit accumulator (the terms are below 16, K < 2^40): the sum's
//   error is at most n·termError, n the number of computed terms (ties excluded).
// The terms are split over `threads` chunks; every term is computed alone and the sum is exact,
// so S does not depend on the split.

/// Q4.124 fixed-point operations (see the file's notes; u = 2^-124).
enum FixedPoint124 {
    /// 1 in Q4.124.
    static let one: UInt128 = 1 << 124

    /// ⌊a·b⌋ (a, b < 16): error in [−u, 0].
    @inline(__always)
    static func mul(_ a: UInt128, _ b: UInt128) -> UInt128 {
        let p = fullProduct(a, b)
        return (p.high << 4) | (p.low >> 124)
    }

    /// The 256-bit product a·b as (high, low) halves, from four 64×64-bit products (the
    /// standard library's generic `multipliedFullWidth` is several times slower for UInt128).
    @inline(__always)
    static func fullProduct(_ a: UInt128, _ b: UInt128) -> (high: UInt128, low: UInt128) {
        let mask: UInt128 = 0xFFFF_FFFF_FFFF_FFFF
        let a0 = a & mask, a1 = a >> 64, b0 = b & mask, b1 = b >> 64
        let ll = a0 &* b0, lh = a0 &* b1, hl = a1 &* b0, hh = a1 &* b1  // each < 2^128
        let mid = (ll >> 64) &+ (lh & mask) &+ (hl & mask)  // < 3·2^64
        return (hh &+ (lh >> 64) &+ (hl >> 64) &+ (mid >> 64), (mid << 64) | (ll & mask))
    }

    /// ⌊d⌋ in Q4.124 for 0 <= d < 16: error in [−u, 0] (0 for d >= 2^-72).
    @inline(__always)
    static func fromDouble(_ d: Double) -> UInt128 {
        guard d >= 0x1p-124 else { return 0 }
        let m = UInt128(truncatingIfNeeded: d.significandBitPattern | (1 << 52))
        let s = Int(d.exponent) - 52 + 124  // in [−52, 75]: m·2^s < 2^128
        return s >= 0 ? m << s : m >> -s
    }

    /// x·2^-124 in binary64, relative error < 3·2^-53 (two conversions and a sum).
    @inline(__always)
    static func toDouble(_ x: UInt128) -> Double {
        (Double(UInt64(truncatingIfNeeded: x >> 64)) * 0x1p64 + Double(UInt64(truncatingIfNeeded: x))) * 0x1p-124
    }

    /// e^-(k + f), k in 0 ..< 88, f in [0, 1): error < 6.1u.
    @inline(__always)
    static func expNegative(whole k: Int, fraction f: UInt128) -> UInt128 {
        let r = f & ((1 << 112) - 1)
        var p = reciprocalFactorials[9]
        for n in stride(from: 8, through: 0, by: -1) { p = reciprocalFactorials[n] &- mul(r, p) }
        let tables = mul(mul(wholes[k], sixtyFourths[Int(f >> 118)]), fourThousandNinetySixths[Int((f >> 112) & 63)])
        return mul(tables, p)
    }

    /// e^-t for a double t >= 0: error < 7.1u.
    @inline(__always)
    static func expNegative(_ t: Double) -> UInt128 {
        guard t < 88 else { return 0 }  // t is not NaN in the domain
        let k = t.rounded(.down)
        return expNegative(whole: Int(k), fraction: fromDouble(t - k))
    }

    /// e^-y for y in Q4.124: error < 6.1u.
    @inline(__always)
    static func expNegative(fixed y: UInt128) -> UInt128 {
        expNegative(whole: Int(y >> 124), fraction: y & (one - 1))
    }

    /// (1 − E)/(1 + E) for E in [0, 1]: error < 3u (plus twice E's own), or nil when the last
    /// residual is not below 2^-75 (never seen: it is about 2^-99).
    @inline(__always)
    static func tanhFromE(_ e: UInt128) -> UInt128? {
        let n = one - e, d = one + e
        let reciprocal = 1 / toDouble(d)
        var q = fromDouble(toDouble(n) * reciprocal)
        for step in 0..<2 {
            let r = Int128(bitPattern: n &- mul(d, q))  // |r| < 2^127
            if step == 1 && r.magnitude >= 1 << 49 { return nil }
            let delta = fromDouble(toDouble(r.magnitude) * reciprocal)
            q = r < 0 ? q &- delta : q &+ delta
        }
        return q
    }
    /// RN(e^-k·2^124), k = 0 ..< 88.
    static let wholes: [UInt128] = [
        0x10000000000000000000000000000000, 0x05e2d58d8b3bcdf1abadec7829054f91, 0x022a555477f03973fb6edd5c25a052ae,
        0x00cbed86667585764a4130191c840868, 0x004b0556e084f3d1dfa2bc04cb0ab88f, 0x001b993fe00d53761c45c249149a5b96,
        0x000a2728f889ea6aec05d023e000435e, 0x0003bc2d73849531d57332efd57ef4a3, 0x00015fc21041027acbbfcd46780fee72,
        0x00008167912932a2cc8ab6d9e082ec1b, 0x00002f9af36ac8f93538b648eaa1310e, 0x0000118354238f676403c9efcef2efab,
        0x00000671530ed0ef22bc643b06cff1c9, 0x0000025ec0a77303b306842a4a5658db, 0x000000df3637ed80b09086e670bd598c,
        0x000000521d72889fb0e02fe38b63eebd, 0x0000001e355bbaee85cada65f73f32e9, 0x0000000b1cf18bad344e5ecce1dd4e86,
        0x000000041698a31a67e832211c55e95b, 0x0000000181056ff2c5771a77f0f91dc0, 0x000000008da432af9b93373025a28a81,
        0x00000000341b61a1bb67d841156e47a6, 0x00000000132b48bf117da253cef05f68, 0x00000000070d49f90cfeac45fad30edf,
        0x00000000029820f1fd245141436addb0, 0x0000000000f451bd22fe196e818e4ee2, 0x000000000059e14a9c01f9061e363dd6,
        0x00000000002110a530ecfd3446f1dfbd, 0x00000000000c29f80eb6a9dcfeb64184, 0x0000000000047990aebae128142bbc1e,
        0x000000000001a56e0c2ac7f74d50fd4e, 0x0000000000009b090f1269ddcc4bc620, 0x0000000000003908c9eec2c8d03c5334,
        0x00000000000014fb547c775da786fc23, 0x00000000000007b8007bb58aa7f51e39, 0x00000000000002d6ee334b3e1c054f71,
        0x000000000000010b6c3afdde063806d1, 0x0000000000000062611c7f298153f9db, 0x00000000000000243115ad5c66061bb0,
        0x000000000000000d506f25f9ad9bf4f2, 0x0000000000000004e5e49266c6890a55, 0x0000000000000001cd480a1b7481fdd7,
        0x0000000000000000a9b2297717badf40, 0x00000000000000003e6d7a6fe85e7c30, 0x000000000000000016f741de1748ebec,
        0x00000000000000000872db9e8ffa9e7d, 0x0000000000000000031babc37613afce, 0x00000000000000000124b6031b49bda7,
        0x0000000000000000006baeaeb8e906d3, 0x000000000000000000279d373bcf1f0a, 0x0000000000000000000e92beaa3f041f,
        0x000000000000000000055c76dccea758, 0x00000000000000000001f8e6c24b5593, 0x00000000000000000000b9be2b2288a6,
        0x000000000000000000004454babadcf0, 0x000000000000000000001923372c67a0, 0x00000000000000000000093f622c632f,
        0x000000000000000000000366e9662bf1, 0x00000000000000000000014063f8cc8c, 0x000000000000000000000075dd761f6a,
        0x00000000000000000000002b5c323533, 0x00000000000000000000000ff388b0c1, 0x000000000000000000000005de3f8926,
        0x00000000000000000000000228a56ee4, 0x000000000000000000000000cb4ea399, 0x0000000000000000000000004acae374,
        0x0000000000000000000000001b83bf24, 0x0000000000000000000000000a1f3fe4, 0x00000000000000000000000003b94477,
        0x000000000000000000000000015eb000, 0x000000000000000000000000008102bf, 0x000000000000000000000000002f75dc,
        0x000000000000000000000000001175af, 0x00000000000000000000000000066c4e, 0x00000000000000000000000000025ce8,
        0x0000000000000000000000000000de88, 0x000000000000000000000000000051dd, 0x00000000000000000000000000001e1e,
        0x00000000000000000000000000000b14, 0x00000000000000000000000000000413, 0x00000000000000000000000000000180,
        0x0000000000000000000000000000008d, 0x00000000000000000000000000000034, 0x00000000000000000000000000000013,
        0x00000000000000000000000000000007, 0x00000000000000000000000000000003, 0x00000000000000000000000000000001,
        0x00000000000000000000000000000000,
    ]
    /// RN(e^(-i/64)·2^124), i = 0 ..< 64.
    static let sixtyFourths: [UInt128] = [
        0x10000000000000000000000000000000, 0x0fc07f55ff77d2493e885eeaa756ad52, 0x0f81fab5445aebc8a58055fcbbb139af,
        0x0f446e357f67dfd8e33bd6c7d23c684f, 0x0f07d5fde38151e72f18ff03049ac5d8, 0x0ecc2e44e820d18c3cc6f189c52b0b36,
        0x0e9173500cbe0159aa3084a1ddd389d3, 0x0e57a1739d263ec948222e86239e16e5, 0x0e1eb51276c110c3c3eb1269f2f5d4b0,
        0x0de6aa9dcebdb100b56a61a9a32d7cd2, 0x0daf7e94f9261313d5fd7d70a5ed5758, 0x0d792d8530d3da5312b5abcb3ceac1e5,
        0x0d43b4096043bde02c9dd90522bbe5c2, 0x0d0f0ec9eb43e8078e9af6bb3a3e2744, 0x0cdb3a7c7979ebd5c80489daded79aec,
        0x0ca833e3c1bcf93e90747d19ac1d33dd, 0x0c75f7cf564105743415cbc9d6368f3c, 0x0c44831b718faa1d9c29d8d982ed75ca,
        0x0c13d2b0c44b8af4a68aa4e7ef9fa531, 0x0be3e38443bb1dfef65597daacdcf1b0, 0x0bb4b296f917bf09a22fbaa27077b855,
        0x0b863cf5d19e0354e91dbb1734bd4ad8, 0x0b587fb96f5c4e712a053451f9ff0ec6, 0x0b2b7805fabcb5327cdbad0e5a252d48,
        0x0aff230af4c747553d8db804c2242774, 0x0ad37e030a19e3f45315a9f67efbe593, 0x0aa88633e692c84ab9760aff641e870b,
        0x0a7e38ee09ab136588e4fa88f63be82f, 0x0a54938c9b7e846b122756d14a7c2c4c, 0x0a2b9375427dc3ef5fdb601369d6ceae,
        0x0a033617f9c893772b7f2708ea14d510, 0x09db78eee82d48c8c5e432e3c71dae4e, 0x09b4597e37cb04ff3d675a35530cdd76,
        0x098dd553ee54217fd5f7533af59a20ac, 0x0967ea07c5ee56f5527376efe92ea16c, 0x0942953b06ae2c503c6e249a5881fe96,
        0x091dd49860ab457fe49ecbc03de5c55a, 0x08f9a5d3c6ab3325de98839ae4abeaf8, 0x08d606aa49606dedd68c91a372c64f15,
        0x08b2f4e1f33b3176667ee084844e87b5, 0x08906e49a4c9f3d5958a5d1795c6af85, 0x086e70b8f1a73fbd81858e18d95147b2,
        0x084cfa0ffdf2c01be9229f8beebdb8bf, 0x082c08375c5354c26fed9d9af334631c, 0x080b991fec8010361182aa185169de38,
        0x07ebaac2ba4e0732d70709e3a7db50c9, 0x07cc3b20dd40e2be08458b36fa8909da, 0x07ad4843589c2dcd459c11c65ad53ffa,
        0x078ed03afbf35f94bbf0f4cffc582347, 0x0770d1204436ab7a78e839f14ad09a93, 0x075349133d3aa7794a488ee1b42c1fc4,
        0x0736363b63b8e16b04b525f1016963f9, 0x071996c787c78341066bfc732c2072f9, 0x06fd68edafc62da2c387c104885e8755,
        0x06e1aaeafbbe37bd9969b58182a099be, 0x06c65b0389348a4783a2244922dcadb4, 0x06ab7782576b52d00953b6ea1c5fec2b,
        0x0690feb92c11d37848438f858b46a112, 0x0676ef0078609a0cd266ee7b4cdb93ca, 0x065d46b73ea0704291e4f81a405658fc,
        0x06440442f81a5d8382985cfa3934786e, 0x062b260f7b6f194931db7af62ad2bc7a, 0x0612aa8ee354537a06e4ac78bafa878b,
        0x05fa903975b63e9bbea189925bac0f8e,
    ]
    /// RN(e^(-i/4096)·2^124), i = 0 ..< 64.
    static let fourThousandNinetySixths: [UInt128] = [
        0x10000000000000000000000000000000, 0x0fff0007ffd555fffddde38e2be2d82d, 0x0ffe001ffeaab55511127d21522f2296,
        0x0ffd0047fb8035fdf9a9cc5db975e37d, 0x0ffc007ff555fff777d279e7b87acece, 0x0ffb00c7eb2c4b3b4c05d40e92dca66e,
        0x0ffa011fdc035fbf373fc877a1b858d0, 0x0ff90187c6db9573fb46d9ca004075b0, 0x0ff801ffaab554445b04105b043e8f49,
        0x0ff70287869114141aeae4dbda6f1f2f, 0x0ff6031f596f5cbf01712408aea2872c, 0x0ff503c72250c617d796ca59d786c7e4,
        0x0ff4047ee035f7e7697dd6b78df5893a, 0x0ff30546921fa9eb87121330c79912d3, 0x0ff2061e370ea3d604c0d2b5dcb0d65b,
        0x0ff10705ce03bd4bbc40a2d7b0b330d1, 0x0ff007fd55ffdde38d68f08c257e0ce4, 0x0fef0904ce03fd255f199ef8b0bb156a,
        0x0fee0a1c3511228920328f43fb0e2d63, 0x0fed0b438a286575c89b186f8095e9cf, 0x0fec0c7acc4aed405a596e3a3a35d1cd,
        0x0feb0dc1fa79f12ae2b9f60d6711325d, 0x0fea0f1913b6b8637b8688f49d8b5d59, 0x0fe9108017029a034c4da1a25b0f3682,
        0x0fe811f7035efd0d8bb9758259cbfde4, 0x0fe7137dd7cd586e80f6f7db038054c0, 0x0fe61514934f32fa852cc5ff68568931,
        0x0fe516bb34e6236d0501fb9330be454a, 0x0fe41871bb93d0678234ede21117d06a, 0x0fe31a382659f0709541cd4c55ec250f,
        0x0fe21c0e743a49f2ef192bca2f533276, 0x0fe11df4a436b33c5ae66787720eb82b, 0x0fe01feab551127cbfe5f89994c44217,
        0x0fdf21f0a68b5dc5234ba0d1bfa3e5dd, 0x0fde240676e79b06aa387cacd4ab7e66, 0x0fdd262c2567e0119bc0f4636697407c,
        0x0fdc2861b10e529463028c1ba470a341, 0x0fdb2aa718dd281a9149923f4f8bb940, 0x0fda2cfc5bd6a60be046aaf7e1a13ae9,
        0x0fd92f6178fd21ab345437d31890a97e, 0x0fd831d66f5300159ecb9a922d3219cc, 0x0fd7345b3ddab641606a52260a7a60cf,
        0x0fd636efe396c8fcebc6f0daea0e8949, 0x0fd539945f89ccede7d5eab5cb3ca8d8, 0x0fd43c48b0b66690327e3b0649285cd7,
        0x0fd33f0cd61f4a34e33de02f64d06bbc, 0x0fd241e0cec73c014dde2ca9e7693eb7, 0x0fd144c499b10fee0537ec43115d20bd,
        0x0fd047b835dfa9c5de075c9a5a176cab, 0x0fcf4abba255fd24f1cff7e114931313, 0x0fce4dcede170d77a1d010dedc77225a,
        0x0fcd50f1e825edf99a043f3dbf5d4059, 0x0fcc5424bf85c1b4d43a9b2125ae4cc3, 0x0fcb57676339bb809b35c70a8e50adf4,
        0x0fca5ab9d2451e008ddfc70f40321802, 0x0fc95e1c0bab3ba3a28ca4622483ee87, 0x0fc8618e0e6f76a32a4cdc350c4db60b,
        0x0fc7650fd9954101d44f98f4b3c46136, 0x0fc668a16c201c8ab154b4e2e59fa0cb, 0x0fc56c42c5139ad0372e8512306fbb78,
        0x0fc46ff3e3735d2b44536bc6afbed42a, 0x0fc373b4c64314ba237f313f7a8feaae, 0x0fc277856c86825f8f6421ec58944afb,
        0x0fc17b65d54176c1b66bf1136f358bcc,
    ]
    /// RN(2^124/n!), n = 0 ... 14 (the polynomial takes n <= 9).
    static let reciprocalFactorials: [UInt128] = [
        0x10000000000000000000000000000000, 0x10000000000000000000000000000000, 0x08000000000000000000000000000000,
        0x02aaaaaaaaaaaaaaaaaaaaaaaaaaaaab, 0x00aaaaaaaaaaaaaaaaaaaaaaaaaaaaab, 0x00222222222222222222222222222222,
        0x0005b05b05b05b05b05b05b05b05b05b, 0x0000d00d00d00d00d00d00d00d00d00d, 0x00001a01a01a01a01a01a01a01a01a02,
        0x000002e3bc74aad8e671f5583911ca00, 0x00000049f93edde27d71cbbc05b4fa9a, 0x00000006b99159fd5138e3f9d1f92e0e,
        0x000000008f76c77fc6c4bdaa26d4c3d6, 0x000000000b092309d43684be51c198e9, 0x0000000000c9cba54603e4e905d6f8a3,
    ]
}

/// Where `SoftcapFixedRow` keeps its terms ê_j (Q4.124) for the gradient's outputs: the first 16
/// bytes of slot j of the output array, which output j overwrites after reading them (as
/// `DoubleWordTier.ExpStore` does for softmax): no second array of n terms.
struct FixedTermStore: Sendable {
    /// The slots' memory (an `ExpStore`'s: slots of at least 20 bytes, 8-byte aligned).
    let slots: DoubleWordTier.ExpStore

    init(slots: UnsafeMutablePointer<OracleValue>) { self.slots = DoubleWordTier.ExpStore(slots: slots) }

    /// Keeps v in slot j.
    @inline(__always) func store(_ j: Int, _ v: UInt128) {
        let p = slots.base + j &* slots.stride
        p.storeBytes(of: UInt64(truncatingIfNeeded: v), as: UInt64.self)
        (p + 8).storeBytes(of: UInt64(truncatingIfNeeded: v >> 64), as: UInt64.self)
    }

    /// Slot j's value.
    @inline(__always) func load(_ j: Int) -> UInt128 {
        let p = slots.base + j &* slots.stride
        return UInt128(p.load(as: UInt64.self)) | UInt128((p + 8).load(as: UInt64.self)) << 64
    }
}

/// S = Σ_j e^(z_j − z_M) of a softcapped row in Q4.124 (see SoftcapFixedPoint.swift's notes),
/// and the terms e_j for the outputs.
struct SoftcapFixedRow {
    /// c = 2^shift.
    let shift: Int
    /// The largest logit, and ẑ_M (signed Q4.124).
    let xMax: Double, zMax: Int128
    /// The bound on each computed term, in units of 2^-124: (8.1 + 34.4c)(1 + 2^-40).
    let termError: Double
    /// S = (carry·2^128 + low)·2^-124, within `sumError`·2^-124 (rounded up).
    let low: UInt128, carry: UInt64, sumError: Double
    /// The shared terms of the saturated logits (t_j >= 88), x_j > 0 and x_j < 0: `term(±88c)`,
    /// made once (nil: its `tanhFromE` check failed).
    let saturatedTerms: (positive: UInt128?, negative: UInt128?)

    /// The least nonzero |x_j| (+inf when every x_j is 0) and the largest |x_j| of the row.
    let smallestMagnitude: Double, largestMagnitude: Double

    /// The row, or nil (c not a power of two in [2^-400, 2], a tanh residual check failed, or a
    /// logit not finite). With a `store`, every term ê_j (`term(x_j)`'s value: 1 at ties, the
    /// shared term at saturated logits) is also kept in slot j.
    init?(_ x: UnsafeBufferPointer<Double>, softcap c: Double, threads: Int, store: FixedTermStore? = nil) {
        guard c.isNormal, c.significandBitPattern == 0, c >= 0x1p-400, c <= 2, !x.isEmpty else { return nil }
        shift = Int(c.exponent)
        termError = (8.1 + 34.4 * c) * (1 + 0x1p-40)
        var m = 0
        for j in x.indices where x[j] > x[m] { m = j }
        let xM = x[m], shift = shift
        xMax = xM
        guard xMax.isFinite, let zM = Self.z(xMax, shift: shift) else { return nil }
        zMax = zM
        saturatedTerms = (Self.term(88 * c, shift: shift, zMax: zM), Self.term(-88 * c, shift: shift, zMax: zM))
        // One chunk: the computed terms' count, the saturated ones per sign, and the sum.
        struct Part {
            var computed = 0, positive = 0, negative = 0, low: UInt128 = 0, carry: UInt64 = 0, failed = false
            var smallest = Double.infinity, largest = 0.0
        }
        let split = DoubleWordTier.StageSplit(threads: threads, count: x.count)
        let shared = (positive: saturatedTerms.positive ?? 0, negative: saturatedTerms.negative ?? 0)
        let parts = split.run(count: x.count) { range -> Part in
            var part = Part()
            for j in range {
                let v = x[j]
                let magnitude = v.magnitude
                part.largest = Swift.max(part.largest, magnitude)
                if magnitude != 0 { part.smallest = Swift.min(part.smallest, magnitude) }
                guard v != xM else {
                    store?.store(j, FixedPoint124.one)
                    continue
                }
                guard v.isFinite else { part.failed = true; break }
                if scaled(magnitude, by: 1 - shift) >= 88 {
                    if v > 0 { part.positive += 1 } else { part.negative += 1 }
                    store?.store(j, v > 0 ? shared.positive : shared.negative)  // the row is nil when that term is
                    continue
                }
                guard let e = Self.term(v, shift: shift, zMax: zM) else { part.failed = true; break }
                store?.store(j, e)
                Self.add(e, times: 1, to: &part.low, &part.carry)
                part.computed += 1
            }
            return part
        }
        guard !parts.contains(where: \.failed) else { return nil }
        smallestMagnitude = parts.reduce(Double.infinity) { Swift.min($0, $1.smallest) }
        largestMagnitude = parts.reduce(0) { Swift.max($0, $1.largest) }
        var low: UInt128 = 0, carry: UInt64 = 0, computed = 0, ties = x.count
        for part in parts {
            Self.add(part.low, times: 1, to: &low, &carry)
            carry &+= part.carry
            computed += part.computed
            ties -= part.computed + part.positive + part.negative
        }
        Self.add(FixedPoint124.one, times: ties, to: &low, &carry)
        for (count, sign) in [(parts.reduce(0) { $0 + $1.positive }, 1.0), (parts.reduce(0) { $0 + $1.negative }, -1.0)] where count > 0 {
            guard let e = sign > 0 ? saturatedTerms.positive : saturatedTerms.negative else { return nil }  // E = 0: the shared term
            Self.add(e, times: count, to: &low, &carry)
            computed += count
        }
        (self.low, self.carry) = (low, carry)
        sumError = roundedUp(Double(computed) * termError * (1 + 0x1p-40))
    }

    /// v·n added to the 192-bit accumulator (carry, low) (v < 2^128, n < 2^40).
    @inline(__always)
    static func add(_ v: UInt128, times n: Int, to low: inout UInt128, _ carry: inout UInt64) {
        let p = FixedPoint124.fullProduct(v, UInt128(truncatingIfNeeded: n))
        let (sum, overflow) = low.addingReportingOverflow(p.low)
        low = sum
        carry &+= UInt64(truncatingIfNeeded: p.high) &+ (overflow ? 1 : 0)
    }

    /// ẑ = c·tanh(x/c) in signed Q4.124 (error < (17.2c + 1)u), or nil (`tanhFromE`).
    @inline(__always)
    static func z(_ x: Double, shift: Int) -> Int128? {
        let t = scaled(x.magnitude, by: 1 - shift)  // 2|x|/c, exact (or ∞ past 2^1024: E = 0)
        guard let th = FixedPoint124.tanhFromE(FixedPoint124.expNegative(t)) else { return nil }
        let z = Int128(bitPattern: shift >= 0 ? th << shift : th >> -shift)
        return x < 0 ? -z : z
    }

    /// ê_j = e^(ẑ_j − ẑ_M) for a logit other than x_M (error < `termError`·u), or nil.
    @inline(__always)
    static func term(_ x: Double, shift: Int, zMax: Int128) -> UInt128? {
        guard let zj = z(x, shift: shift) else { return nil }
        let y = zMax - zj  // |y| <= 2c + 2^-100 <= 4.01: no overflow
        return FixedPoint124.expNegative(fixed: y > 0 ? UInt128(truncatingIfNeeded: y) : 0)
    }

    /// ê_j for the logit x, with its error bound in units of 2^-124 (x = x_M: 1 exactly).
    func term(_ x: Double) -> (value: UInt128, error: Double)? {
        if x == xMax { return (FixedPoint124.one, 0) }
        if scaled(x.magnitude, by: 1 - shift) >= 88 {  // as in the row: the shared term
            return (x > 0 ? saturatedTerms.positive : saturatedTerms.negative).map { ($0, termError) }  // term(±88c), c = 2^shift
        }
        return Self.term(x, shift: shift, zMax: zMax).map { ($0, termError) }
    }
}
