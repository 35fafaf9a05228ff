import SoftmaxOracle

/// The outcome of shrinking.
public struct ShrinkResult: Sendable, Hashable {
    /// The smallest failing request found.
    public var request: OracleRequest
    /// Reductions accepted (each one a smaller request that still failed).
    public var steps: Int
    /// Calls of the predicate, the original included.
    public var attempts: Int
    /// True when a whole round of reductions found nothing more (a fixpoint); false when the
    /// attempt budget ran out first, or when the original did not fail.
    public var reachedFixpoint: Bool
}

/// Reduces a failing request to a small reproducer, deterministically.
///
/// Reductions, tried in this order in each round until a round changes nothing (a fixpoint) or
/// the attempt budget is spent:
/// 1. drop batch rows, then logits (class columns), in chunks of K/2, K/4, …, 1, keeping at
///    least one; every per-logit array (probability targets, labels, pos_weight, class weights)
///    follows, and a hard target index is shifted, never dropped;
/// 2. move a hard target to index 0 (swapping two logits);
/// 3. drop label smoothing, class weights and pos_weight;
/// 4. simplify each value, trying in order of simplicity +0, 1, −1, then truncation to an
///    integer, rounding to fewer significant bits, halving the binary exponent (2^1000 → 2^500,
///    so that huge and tiny values shrink in logarithmically many steps), halving, and dropping
///    a minus sign.
///
/// A candidate value is accepted only if it is *simpler* — by the order (zero < finite < ±inf <
/// NaN; then fewer significant bits; then a smaller |binary exponent|; then positive before
/// negative) — and a value of the request's format; for probabilities, labels and weights also
/// non-negative. Each accepted step shrinks a well-founded measure, so shrinking terminates even
/// without the budget.
public struct Shrinker: Sendable {
    /// The most predicate calls to spend.
    public var maxAttempts: Int

    /// A shrinker that calls the predicate at most `maxAttempts` times per shrink.
    public init(maxAttempts: Int = 5_000) {
        self.maxAttempts = maxAttempts
    }

    /// Shrinks `request`, which `stillFails` should hold for.
    ///
    /// - Parameter stillFails: true when a request still shows the failure. Called on the
    ///   original first; if that is false, the original is returned unchanged.
    public func shrink(_ request: OracleRequest, stillFails: (OracleRequest) -> Bool) -> ShrinkResult {
        guard stillFails(request) else {
            return ShrinkResult(request: request, steps: 0, attempts: 1, reachedFixpoint: false)
        }
        return withoutActuallyEscaping(stillFails) { predicate in
            var state = ShrinkState(current: request, attempts: 1, steps: 0, budget: maxAttempts, stillFails: predicate)
            var progressed = true
            while progressed && !state.exhausted {
                progressed = false
                progressed = state.dropRows() || progressed
                progressed = state.dropColumns() || progressed
                progressed = state.moveTargetToFront() || progressed
                progressed = state.dropAuxiliary() || progressed
                progressed = state.simplifyValues() || progressed
            }
            return ShrinkResult(request: state.current, steps: state.steps, attempts: state.attempts,
                                reachedFixpoint: !progressed && !state.exhausted)
        }
    }

    /// Shrinks a case's request, keeping its key and seed (the key then names where it came from).
    public func shrink(_ harnessCase: HarnessCase, stillFails: (OracleRequest) -> Bool) -> (HarnessCase, ShrinkResult) {
        let result = shrink(harnessCase.request, stillFails: stillFails)
        var shrunk = harnessCase
        shrunk.request = result.request
        return (shrunk, result)
    }
}

/// When a case counts as failing, for shrinking and for gates.
public struct FailureCriterion: Sendable, Hashable {
    /// A case fails when its error exceeds this many ULPs.
    public var maxULP: Double
    /// A special-value mismatch fails regardless of `maxULP`.
    public var specialMismatchFails: Bool
    /// When set, only a failure of this kind counts (see ``sameKind(as:limit:)``).
    public var kind: FailureKind?

    /// How far below the original error a shrunk finite failure may fall: a factor of
    /// 2^``magnitudeBits`` (16). Shrinking then keeps an error of the same order of magnitude
    /// instead of drifting to a smaller, different failure.
    public static let magnitudeBits = 4

    /// A criterion: fails above `maxULP`, and on any special-value mismatch unless
    /// `specialMismatchFails` is false.
    public init(maxULP: Double, specialMismatchFails: Bool = true, kind: FailureKind? = nil) {
        self.maxULP = maxULP
        self.specialMismatchFails = specialMismatchFails
        self.kind = kind
    }

    /// The criterion that keeps `record`'s kind of failure, whatever the threshold: a special
    /// mismatch stays a special mismatch; an output off the format's grid stays one (without a
    /// special mismatch); a finite error stays a finite error (no special mismatch, no output
    /// off the grid) above both `limit` and record.ulps / 2^``magnitudeBits``.
    public static func sameKind(as record: CaseRecord, limit: Double?) -> FailureCriterion {
        switch record.failureKind {
        case .specialMismatch:
            return FailureCriterion(maxULP: .infinity, specialMismatchFails: true, kind: .specialMismatch)
        case .offFormat:
            return FailureCriterion(maxULP: .infinity, specialMismatchFails: false, kind: .offFormat)
        case .finiteError:
            let floor = Double(sign: .plus, exponent: -magnitudeBits, significand: record.ulps)
            return FailureCriterion(maxULP: Swift.max(limit ?? 0, floor), specialMismatchFails: false, kind: .finiteError)
        }
    }

    /// Whether `verdict` fails.
    public func fails(_ verdict: CaseVerdict) -> Bool {
        switch kind {
        case .specialMismatch?: return verdict.hasSpecialMismatch
        case .offFormat?: return !verdict.hasSpecialMismatch && verdict.hasOffFormatOutput
        case .finiteError?: return !verdict.hasSpecialMismatch && !verdict.hasOffFormatOutput && verdict.maxULP > maxULP
        case nil:
            if verdict.hasSpecialMismatch { return specialMismatchFails }
            return verdict.hasOffFormatOutput || verdict.maxULP > maxULP
        }
    }

    /// A predicate for ``Shrinker``: runs `oracle` and `implementation` on a request and applies
    /// this criterion. A request the oracle rejects, or the implementation does not answer with
    /// the right number of outputs, does not count as failing (so shrinking stays on the failure
    /// it started from).
    public func predicate(implementation: any ImplementationUnderTest, oracle: any ReferenceOracle)
        -> @Sendable (OracleRequest) -> Bool
    {
        let criterion = self
        return { request in
            guard let reference = try? oracle.reference(for: request),
                  case .outputs(let ys) = ImplementationOutcome.run(implementation, on: request),
                  let verdict = Scoring.verdict(outputs: ys, reference: reference, format: request.format)
            else { return false }
            return criterion.fails(verdict)
        }
    }
}

/// The simplicity order of values (see ``Shrinker``).
enum ValueComplexity {
    static func rank(_ x: Double) -> (Int, Int, Int, Int) {
        let negative = x.sign == .minus ? 1 : 0
        if x.isNaN { return (3, 0, 0, 0) }
        if x.isInfinite { return (2, 0, 0, negative) }
        if x == 0 { return (0, 0, 0, negative) }
        return (1, x.significandWidth + 1, abs(Int(x.exponent)), negative)
    }

    static func isSimpler(_ a: Double, than b: Double) -> Bool {
        rank(a) < rank(b)
    }

    /// Candidate replacements for `x`, simplest first, each strictly simpler than `x`.
    static func candidates(for x: Double, format: Format, nonNegative: Bool) -> [Double] {
        var list: [Double] = [0, 1, -1]
        if x.isFinite {
            list.append(x.rounded(.towardZero))
            if x != 0 {
                let bits = x.significandWidth + 1
                for b in stride(from: 1, to: bits, by: 1) {
                    let q = Int(x.exponent) - b + 1
                    let scaled = Double(sign: .plus, exponent: -q, significand: x)
                    list.append(Double(sign: .plus, exponent: q, significand: scaled.rounded(.toNearestOrEven)))
                }
            }
            // Toward magnitude 1 geometrically (the exponent halved), then one binade at a time.
            if x != 0 && abs(Int(x.exponent)) > 1 {
                list.append(Double(sign: x.sign, exponent: Int(x.exponent) / 2, significand: x.significand))
            }
            list.append(x / 2)
            list.append(x.magnitude)
        } else {
            list.append(x.isNaN ? format.maxFinite : (x < 0 ? -format.maxFinite : format.maxFinite))
        }
        var seen: [Double] = []
        for c in list where c.isFinite && isSimpler(c, than: x) && format.round(c) == c
            && !(nonNegative && (c < 0 || c.sign == .minus)) {
            if !seen.contains(where: { $0 == c && $0.sign == c.sign }) { seen.append(c) }
        }
        return seen.sorted { rank($0) < rank($1) }
    }
}

/// Where a shrinkable value lives in a request.
enum ValueSlot {
    case logit(Int)
    case batch(Int, Int)
    case probability(Int)
    case batchProbability(Int, Int)
    case label(Int)
    case posWeight(Int)
    case weight(Int)
    case gradOutput(Int)

    var nonNegative: Bool {
        switch self {
        case .logit, .batch, .gradOutput: false
        default: true
        }
    }
}

struct ShrinkState {
    var current: OracleRequest
    var attempts: Int
    var steps: Int
    let budget: Int
    let stillFails: (OracleRequest) -> Bool

    var exhausted: Bool { attempts >= budget }

    /// Tries `candidate`; adopts it when it still fails.
    mutating func attempt(_ candidate: OracleRequest?) -> Bool {
        guard let candidate, candidate != current, !exhausted else { return false }
        attempts += 1
        if stillFails(candidate) {
            current = candidate
            steps += 1
            return true
        }
        return false
    }

    // MARK: dropping

    mutating func dropRows() -> Bool {
        guard let n = current.batch?.count, n > 1 else { return false }
        return dropChunks(count: { $0.batch?.count ?? 0 }, remove: Self.removingRows)
    }

    mutating func dropColumns() -> Bool {
        dropChunks(count: { $0.batch?.first?.count ?? $0.logits.count }, remove: Self.removingColumns)
    }

    /// Removes chunks of sizes n/2, n/4, …, 1 (never everything).
    private mutating func dropChunks(count: (OracleRequest) -> Int,
                                     remove: (OracleRequest, Range<Int>) -> OracleRequest?) -> Bool {
        var any = false
        var size = count(current) / 2
        while size >= 1 && !exhausted {
            var start = 0
            while start < count(current) && count(current) > 1 && !exhausted {
                let end = Swift.min(start + size, count(current))
                if end - start >= count(current) { break }
                if attempt(remove(current, start..<end)) {
                    any = true
                } else {
                    start += size
                }
            }
            size /= 2
        }
        return any
    }

    static func removingRows(_ r: OracleRequest, _ range: Range<Int>) -> OracleRequest? {
        guard var batch = r.batch else { return nil }
        var out = r
        batch.removeSubrange(range)
        out.batch = batch
        switch r.batchTargets {
        case .indices(var t)?:
            guard t.count == r.batch!.count else { return nil }
            t.removeSubrange(range)
            out.batchTargets = .indices(t)
        case .probabilities(var p)?:
            guard p.count == r.batch!.count else { return nil }
            p.removeSubrange(range)
            out.batchTargets = .probabilities(p)
        case nil: break
        }
        return out
    }

    static func removingColumns(_ r: OracleRequest, _ range: Range<Int>) -> OracleRequest? {
        var out = r
        let k = r.batch?.first?.count ?? r.logits.count
        func cut(_ a: [Double]?) -> [Double]? {
            guard var a else { return nil }
            if a.count == k { a.removeSubrange(range) }
            return a
        }
        func shifted(_ t: Int) -> Int? {
            if range.contains(t) { return nil }
            return t >= range.upperBound ? t - range.count : t
        }
        if let batch = r.batch {
            out.batch = batch.map { row in var row = row; row.removeSubrange(range); return row }
            switch r.batchTargets {
            case .indices(let t)?:
                var shiftedTargets: [Int] = []
                for x in t {
                    if x == r.ignoreIndex || x < 0 || x >= k { shiftedTargets.append(x); continue }
                    guard let s = shifted(x) else { return nil }
                    shiftedTargets.append(s)
                }
                out.batchTargets = .indices(shiftedTargets)
            case .probabilities(let p)?:
                out.batchTargets = .probabilities(p.map { cut($0) ?? $0 })
            case nil: break
            }
        } else {
            out.logits.removeSubrange(range)
            switch r.target {
            case .index(let t)?:
                guard let s = shifted(t) else { return nil }
                out.target = .index(s)
            case .probabilities(let p)?:
                out.target = .probabilities(cut(p) ?? p)
            case nil: break
            }
            out.labels = cut(r.labels)
            out.posWeight = cut(r.posWeight)
            out.gradOutput = cut(r.gradOutput)
        }
        out.weight = cut(r.weight)
        return out
    }

    // MARK: target and auxiliary fields

    mutating func moveTargetToFront() -> Bool {
        guard current.batch == nil, case .index(let t)? = current.target, t > 0, t < current.logits.count else {
            return false
        }
        var out = current
        out.logits.swapAt(0, t)
        for path in [\OracleRequest.labels, \OracleRequest.posWeight, \OracleRequest.weight, \OracleRequest.gradOutput] {
            if var a = out[keyPath: path], a.count == current.logits.count {
                a.swapAt(0, t)
                out[keyPath: path] = a
            }
        }
        out.target = .index(0)
        return attempt(out)
    }

    mutating func dropAuxiliary() -> Bool {
        var any = false
        if current.labelSmoothing != 0 {
            var out = current
            out.labelSmoothing = 0
            any = attempt(out) || any
        }
        if current.weight != nil {
            var out = current
            out.weight = nil
            any = attempt(out) || any
        }
        if current.posWeight != nil {
            var out = current
            out.posWeight = nil
            any = attempt(out) || any
        }
        return any
    }

    // MARK: values

    mutating func simplifyValues() -> Bool {
        var any = false
        for slot in slots(of: current) {
            if exhausted { break }
            guard let x = value(at: slot, in: current) else { continue }
            for c in ValueComplexity.candidates(for: x, format: current.format, nonNegative: slot.nonNegative) {
                if exhausted { break }
                if attempt(setting(slot, to: c, in: current)) {
                    any = true
                    break
                }
            }
        }
        return any
    }

    func slots(of r: OracleRequest) -> [ValueSlot] {
        var s: [ValueSlot] = []
        if let batch = r.batch {
            for (i, row) in batch.enumerated() { s += row.indices.map { .batch(i, $0) } }
            if case .probabilities(let p)? = r.batchTargets {
                for (i, row) in p.enumerated() { s += row.indices.map { .batchProbability(i, $0) } }
            }
        } else {
            s += r.logits.indices.map { .logit($0) }
            if case .probabilities(let p)? = r.target { s += p.indices.map { .probability($0) } }
        }
        s += (r.labels ?? []).indices.map { .label($0) }
        s += (r.posWeight ?? []).indices.map { .posWeight($0) }
        s += (r.weight ?? []).indices.map { .weight($0) }
        s += (r.gradOutput ?? []).indices.map { .gradOutput($0) }
        return s
    }

    func value(at slot: ValueSlot, in r: OracleRequest) -> Double? {
        switch slot {
        case .logit(let i): return r.logits[i]
        case .batch(let i, let j): return r.batch?[i][j]
        case .probability(let i):
            if case .probabilities(let p)? = r.target { return p[i] }
            return nil
        case .batchProbability(let i, let j):
            if case .probabilities(let p)? = r.batchTargets { return p[i][j] }
            return nil
        case .label(let i): return r.labels?[i]
        case .posWeight(let i): return r.posWeight?[i]
        case .weight(let i): return r.weight?[i]
        case .gradOutput(let i): return r.gradOutput?[i]
        }
    }

    func setting(_ slot: ValueSlot, to x: Double, in r: OracleRequest) -> OracleRequest {
        var out = r
        switch slot {
        case .logit(let i): out.logits[i] = x
        case .batch(let i, let j): out.batch?[i][j] = x
        case .probability(let i):
            if case .probabilities(var p)? = r.target { p[i] = x; out.target = .probabilities(p) }
        case .batchProbability(let i, let j):
            if case .probabilities(var p)? = r.batchTargets { p[i][j] = x; out.batchTargets = .probabilities(p) }
        case .label(let i): out.labels?[i] = x
        case .posWeight(let i): out.posWeight?[i] = x
        case .weight(let i): out.weight?[i] = x
        case .gradOutput(let i): out.gradOutput?[i] = x
        }
        return out
    }
}
