import DoubleWordArithmetic

// bce_with_logits' coefficients A, B, C (`bceWeights`) are functions of the bit patterns of
// (z, pw, w) alone, and a row holds few distinct triples (hard labels, soft labels k/8, one
// pos_weight), so each range of outputs computes them once per triple into a small table
// (`BceWeightCache`) that the scalar path (`output`) and the lanes (BceLanes.swift) read. Each
// slot keeps the weights as the scalar path uses them, the same numbers as lane rows (so four
// lanes load four rows instead of assembling a dozen scalars each).

extension ElementwiseOutputs {
    /// Recently seen (z, pw, w) of a range of outputs and their `bceWeights`, compared by bit
    /// pattern (so the same numbers give the same weights, exactly as recomputing them): a
    /// table of 128 slots, two for each hash, so a row with a few dozen distinct labels (soft
    /// labels k/8, one pos_weight) computes each triple's weights about once. When the request
    /// has one pos_weight >= 0 (or none) and no weight (`labelOnly`), every lookup has the same
    /// pw and w, and the label's bit pattern alone is the key (one hash, one comparison).
    /// Slot `slots` (one past the table) holds the rows of the triples `bce` does not take.
    struct BceWeightCache {
        static let slots = 128
        /// The slot of the triples `bce` does not take (`BceLaneRows` all zero).
        static let declined = slots
        /// Owns the table; the lookups use the plain pointers below (no reference counting or
        /// copy-on-write checks per lookup).
        let table: BceWeightTable
        let keys: UnsafeMutablePointer<(UInt64, UInt64, UInt64)>
        let values: UnsafeMutablePointer<BceWeights>
        /// Slot s's coefficients as lane rows of four doubles (hi, lo, the exponent's bits as an
        /// Int64, relative bound): rows[4s] A (term 1's coefficient for x < 0), rows[4s + 1] B
        /// (x >= 0), rows[4s + 2] C; rows[4s + 3] = (σ, 0, 0, 0) with σ = 1 where the loss at
        /// |x| <= 2^-60 is softplus(x), −1 where it is softplus(−x) (`bceTinyOutput`'s cases:
        /// w = 1, pw >= 0 and z = +0, or z = 1 and pw = 1), else 0. All zero in slot `declined`:
        /// C's hi 0 fails every lane's guard there, as C = 0 does.
        let rows: UnsafeMutablePointer<SIMD4<Double>>
        /// Every lookup has the same pw >= 0 and w = 1: the key is the label alone.
        let labelOnly: Bool

        init(labelOnly: Bool = false) {
            table = BceWeightTable(slots: Self.slots)
            keys = table.keys
            values = table.values
            rows = table.rows
            self.labelOnly = labelOnly
        }

        func weights(label z: Double, posWeight pw: Double, weight w: Double) -> BceWeights {
            values[slot(label: z, posWeight: pw, weight: w)]
        }

        /// The slot holding `bceWeights(label: z, posWeight: pw, weight: w)` (computed on a miss),
        /// valid until the next lookup. Needs z ∈ [0, 1], pw, w >= 0 (so z is never the empty
        /// slots' NaN key), and, when `labelOnly`, the request's one pw and w.
        @inline(__always)
        func slot(label z: Double, posWeight pw: Double, weight w: Double) -> Int {
            let key = (z.bitPattern, pw.bitPattern, w.bitPattern)
            let slot: Int
            if labelOnly {
                let mixed = key.0 &* 0x9E37_79B9_7F4A_7C15
                slot = Int(truncatingIfNeeded: ((mixed ^ (mixed >> 29)) &* 0xBF58_476D_1CE4_E5B9) >> 57)
                if keys[slot].0 == key.0 { return slot }
                if keys[slot ^ 1].0 == key.0 { return slot ^ 1 }
            } else {
                let mixed = (key.0 &* 0x9E37_79B9_7F4A_7C15) ^ (key.1 &* 0xC2B2_AE3D_27D4_EB4F) ^ (key.2 &* 0x1656_67B1_9E37_79F9)
                slot = Int(truncatingIfNeeded: ((mixed ^ (mixed >> 29)) &* 0xBF58_476D_1CE4_E5B9) >> 57)
                if keys[slot] == key { return slot }
                if keys[slot ^ 1] == key { return slot ^ 1 }
            }
            // Two slots per hash (slot and slot ^ 1): the newest triple in `slot`, the one it
            // displaces in `slot ^ 1`, so two triples with one hash both stay.
            keys[slot ^ 1] = keys[slot]
            values[slot ^ 1] = values[slot]
            for k in 0..<4 { rows[4 * (slot ^ 1) + k] = rows[4 * slot + k] }
            keys[slot] = key
            table.fill(slot, label: z, posWeight: pw, weight: w)
            return slot
        }
    }

    /// `BceWeightCache`'s slots: keys (z, pw, w)'s bit patterns, an empty slot's z a NaN (never
    /// a cached label, which lies in [0, 1]), and one more slot of zero rows (`declined`).
    final class BceWeightTable {
        let keys: UnsafeMutablePointer<(UInt64, UInt64, UInt64)>
        let values: UnsafeMutablePointer<BceWeights>
        let rows: UnsafeMutablePointer<SIMD4<Double>>

        init(slots: Int) {
            keys = .allocate(capacity: slots)
            keys.initialize(repeating: (UInt64.max, 0, 0), count: slots)
            values = .allocate(capacity: slots + 1)
            rows = .allocate(capacity: 4 * (slots + 1))
            let zero = ElementwiseOutputs.bceWeights(label: 0, posWeight: 0, weight: 0)
            for s in 0...slots { fill(s, zero, softplusSign: 0) }
            for k in 0..<4 { rows[4 * slots + k] = SIMD4() }  // `declined`
        }

        /// Slot s's weights and lane rows for (z, pw, w) (its huge-logit output unset).
        @inline(never)
        func fill(_ s: Int, label z: Double, posWeight pw: Double, weight w: Double) {
            let softplusSign: Double = w != 1 || !(pw >= 0) ? 0 : (z.bitPattern == 0 ? 1 : (z == 1 && pw == 1 ? -1 : 0))
            fill(s, ElementwiseOutputs.bceWeights(label: z, posWeight: pw, weight: w), softplusSign: softplusSign)
        }

        /// Slot s's weights `weights` and lane rows, with σ = `softplusSign`.
        func fill(_ s: Int, _ weights: ElementwiseOutputs.BceWeights, softplusSign: Double) {
            @inline(__always) func row(_ v: ScaledDoubleWord, _ eps: Double) -> SIMD4<Double> {
                SIMD4(v.hi, v.lo, Double(bitPattern: UInt64(bitPattern: Int64(v.exponent))), eps)
            }
            (values + s).initialize(to: weights)
            (rows + 4 * s).initialize(to: row(weights.a, weights.epsA))
            (rows + 4 * s + 1).initialize(to: row(weights.b, weights.epsB))
            (rows + 4 * s + 2).initialize(to: row(weights.c, weights.epsC))
            (rows + 4 * s + 3).initialize(to: SIMD4(softplusSign, 0, 0, 0))
        }

        deinit {
            keys.deallocate()
            values.deallocate()
            rows.deallocate()
        }
    }

    /// The weight cache for one range of this request's outputs (`labelOnly` when pos_weight is
    /// one number >= 0 or absent and there is no weight).
    func bceWeightCache() -> BceWeightCache {
        let pw = posWeight.map { $0.count == 1 ? $0[0] : -1 } ?? 1
        return BceWeightCache(labelOnly: weight == nil && pw >= 0)
    }
}
