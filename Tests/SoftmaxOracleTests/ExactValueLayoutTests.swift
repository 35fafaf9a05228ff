import SoftmaxOracle
import Testing

/// `ExactValue` keeps its kind and sign in the sign and class of one stored double (24 bytes, so
/// that an `OracleValue` takes 32): every kind and sign must read back as it was made, and
/// equality must stay what it was with separate fields (NaN unequal to itself, +0 ≠ −0).
@Suite("ExactValue's packed kind and sign")
struct ExactValueLayoutTests {
    @Test("an OracleValue takes 32 bytes: 10^6 outputs stay below glibc's 32 MiB mmap limit")
    func size() {
        #expect(MemoryLayout<ExactValue>.size == 24)
        #expect(MemoryLayout<OracleValue>.stride == 32)
        #expect(1_000_000 * MemoryLayout<OracleValue>.stride < 32 << 20)
    }

    @Test("kind, sign, exponent, head and tail read back for every kind and sign")
    func readBack() {
        let zero = ExactValue.zero(), negativeZero = ExactValue.zero(negative: true)
        #expect(zero.kind == .zero && !zero.isNegative && zero.head == 0 && zero.head.sign == .plus)
        #expect(negativeZero.kind == .zero && negativeZero.isNegative && negativeZero.head.sign == .plus)
        let inf = ExactValue.infinity(negative: false), negativeInf = ExactValue.infinity(negative: true)
        #expect(inf.kind == .infinity && !inf.isNegative && inf.head == .infinity)
        #expect(negativeInf.kind == .infinity && negativeInf.isNegative && negativeInf.head == .infinity)
        #expect(ExactValue.nan.kind == .nan && !ExactValue.nan.isNegative && ExactValue.nan.head.isNaN)
        #expect(ExactValue(-Double.nan).kind == .nan && !ExactValue(-Double.nan).isNegative)
        // −3·2^-1074 = −1.5·2^-1073 (a subnormal) and 1.75·2^1000.
        let x = ExactValue(-0x1.8p-1073)
        #expect(x.kind == .finite && x.isNegative && x.exponent == -1073 && x.head == 1.5 && x.tail == 0)
        let y = ExactValue(0x1.cp1000)
        #expect(y.kind == .finite && !y.isNegative && y.exponent == 1000 && y.head == 1.75)
        #expect(x.approximateDouble == -0x1.8p-1073 && y.approximateDouble == 0x1.cp1000)
    }

    @Test("equality as with separate fields: NaN ≠ NaN, +0 ≠ −0, a sign or exponent tells values apart")
    func equality() {
        #expect(ExactValue.nan != ExactValue.nan)
        #expect(ExactValue.zero() != ExactValue.zero(negative: true))
        #expect(ExactValue.zero() == ExactValue.zero())
        #expect(ExactValue.infinity(negative: true) != ExactValue.infinity(negative: false))
        #expect(ExactValue(1.5) != ExactValue(-1.5))
        #expect(ExactValue(1.5) != ExactValue(3.0))
        #expect(ExactValue(1.5) == ExactValue(1.5))
        #expect(Set([ExactValue(2.0), ExactValue(2.0), ExactValue(-2.0), .zero(), .zero(negative: true)]).count == 4)
    }
}
