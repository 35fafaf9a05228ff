import SoftmaxOracle
import Synchronization
@testable import AccuracyHarness

/// A stand-in oracle: the "function" is the identity, output i = logit i (exact, rounded into
/// the format). Counts its calls.
final class IdentityOracle: ReferenceOracle {
    let calls = Mutex(0)

    func reference(for request: OracleRequest) throws -> [ReferenceValue] {
        calls.withLock { $0 += 1 }
        if request.logits.contains(where: { $0 == 13 }) {
            throw OracleError.notCertified(output: 0, precision: 1 << 16, detail: "(fake)")
        }
        return HarnessCase.allLogits(of: request).map { ReferenceValue(exactly: $0, format: request.format) }
    }

    var callCount: Int { calls.withLock { $0 } }
}

/// Implementations of the identity with known defects.
enum FakeImplementations {
    /// Exact.
    static let exact = AnyImplementation(name: "exact", supports: { _, _ in true }) { r in
        HarnessCase.allLogits(of: r).map { r.format.round($0) }
    }

    /// One grid step too high on every nonzero finite output: 1 ULP (2 at a power of two below).
    static let oneULP = AnyImplementation(name: "one-ulp", supports: { _, _ in true }) { r in
        HarnessCase.allLogits(of: r).map { x in
            let y = r.format.round(x)
            return y.isFinite && y != 0 && y.magnitude < r.format.maxFinite ? FormatGrid.nextUp(y, r.format) : y
        }
    }

    /// NaN where the input exceeds 100 (a naive exp overflow, say).
    static let nanAbove100 = AnyImplementation(name: "nan-above-100", supports: { f, _ in f != .sigmoid }) { r in
        HarnessCase.allLogits(of: r).map { $0 > 100 ? .nan : r.format.round($0) }
    }

    /// Declines probability targets, fails on K > 50, supports f64 only.
    static let picky = AnyImplementation(name: "picky", supports: { _, format in format == .f64 }) { r in
        if case .probabilities? = r.target { throw ImplementationError.unsupported("probability targets") }
        if r.logits.count > 50 { throw ImplementationError.failed("too long") }
        return r.logits
    }
}
