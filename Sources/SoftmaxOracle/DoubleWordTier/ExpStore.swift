import DoubleWordArithmetic
extension DoubleWordTier {
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

        /// Stores e^(d_j) = 2^k·(hi + lo) in slot j.
        @inline(__always) func store(_ j: Int, hi: Double, lo: Double, k: Int32) {
            let p = base + j &* stride
            p.storeBytes(of: hi, as: Double.self)
            (p + 8).storeBytes(of: lo, as: Double.self)
            (p + 16).storeBytes(of: k, as: Int32.self)
        }

        /// Marks slot j as having no exponential (k = Int32.min).
        @inline(__always) func markAbsent(_ j: Int) { (base + j &* stride + 16).storeBytes(of: Int32.min, as: Int32.self) }

        /// Slot j's exponential; k = Int32.min when it was marked absent.
        @inline(__always) func load(_ j: Int) -> (hi: Double, lo: Double, k: Int32) {
            let p = base + j &* stride
            return (p.load(as: Double.self), (p + 8).load(as: Double.self), (p + 16).load(as: Int32.self))
        }
    }
}
