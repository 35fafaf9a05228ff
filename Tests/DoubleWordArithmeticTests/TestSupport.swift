import DoubleWordArithmetic
import Foundation
import MPFR
import Testing
@_exported import TestSupport

// Helpers of the double-word tests: random double words from a seeded generator, exact MPFR
// values of double words, errors at 320 bits, and the bookkeeping of a bound test.

/// Random double words, from the tests' `SplitMix64` (TestSupport).
extension SplitMix64 {
    /// A random normalized double word with hi in ±[1, 2)·2^e (lo of either sign, any size up to
    /// half an ulp of hi, sometimes exactly zero or exactly half an ulp).
    mutating func doubleWord(exponent e: Int) -> DoubleWord {
        let hi = (1 + unit()) * Double(sign: .plus, exponent: e, significand: 1) * (oneIn(2) ? -1 : 1)
        var lo: Double
        switch int(0...5) {
        case 0: lo = 0
        case 1: lo = hi.ulp / 2 * (oneIn(2) ? -1 : 1)
        default: lo = (unit() - 0.5) * hi.ulp * Double(sign: .plus, exponent: -int(0...30), significand: 1)
        }
        let n = fastTwoSum(hi, lo)
        return n
    }
}

extension DoubleWord {
    /// |hi + lo| for a normalized double word (both parts negated when hi < 0).
    var magnitude: DoubleWord { hi < 0 ? -self : self }
}

/// A bound test over seeded random cases: its generator, the seed every failure message names,
/// and the largest error seen of each operation checked, printed at the end (how much of the
/// stated bound the cases used).
struct ErrorBounds {
    /// How errors are written: as powers of 2 (`2^-98.7`) or in a unit such as u² (`3.2 u²`).
    enum Scale {
        case powersOfTwo
        case unit(Double, String)

        func show(_ error: Double) -> String {
            switch self {
            case .powersOfTwo: "2^\(log2(error))"
            case let .unit(u, name): "\(error / u) \(name)"
            }
        }
    }

    let seed: UInt64
    let scale: Scale
    /// The generator of the cases, seeded with `seed`.
    var rng: SplitMix64
    /// Per operation, in the order first checked: its bound and the largest error seen.
    private(set) var observed: [(name: String, bound: Double, worst: Double)] = []

    init(seed: UInt64, scale: Scale = .powersOfTwo) {
        self.seed = seed
        self.scale = scale
        rng = SplitMix64(seed: seed)
    }

    /// Expects `error <= bound * size` (the failure names the seed, the operation and `inputs`)
    /// and keeps `error / size` as the operation's worst if it is. `size` is 1 for a relative
    /// bound, |a| + |b| for a bound relative to the operands' magnitudes.
    mutating func expect(_ name: String, _ error: Double, bound: Double, relativeTo size: Double = 1,
                         _ inputs: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) {
        if !observed.contains(where: { $0.name == name }) { observed.append((name, bound, 0)) }
        let k = observed.firstIndex { $0.name == name }!
        observed[k].worst = max(observed[k].worst, error / size)
        #expect(error <= bound * size, "seed \(seed), \(name), \(inputs()): \(scale.show(error / size)) (bound \(scale.show(bound)))",
                sourceLocation: sourceLocation)
    }

    /// Prints the largest error of each operation next to its bound.
    func printObserved() {
        print("observed (seed \(seed)): " + observed.map { "\($0.name) \(scale.show($0.worst)) (bound \(scale.show($0.bound)))" }.joined(separator: ", "))
    }
}
