import AccuracyHarness
import OracleIO
import SoftmaxOracle
import Testing
@testable import ExternalImplementations

@Suite("Stored results and fixture files")
struct StoredResultsTests {
    static let fixtures = """
        {"schema":"softmax-oracle.fixtures/1","function":"logsumexp","format":"f64","seed":42,"cases":3}
        {"id":"logsumexp/f64/normal_small#0","function":"logsumexp","format":"f64","logits":["0x0p+0","0x0p+0"],"expected":["0x1.62e42fefa39efp-1"]}
        {"id":"logsumexp/f64/wide_spread#5","function":"logsumexp","format":"f64","logits":["0x1.f4p+9","0x0p+0","-0x1.f4p+9"],"expected":["0x1.f4p+9"]}

        {"id":3,"function":"softmax","format":"f32","logits":[1,2],"family":"near_ties","index":9,"note":"extra metadata is ignored"}
        {"id":4,"request":{"function":"cross_entropy","format":"f64","logits":["1000","0","-1000"],"target":1},"expected":["0x1.f4p+9"]}
        """

    @Test("Fixture lines: headers skipped, keys from ids or members, nested requests, seed from the header")
    func readFixtures() throws {
        let file = try FixtureFile.parse(Self.fixtures, source: "f.jsonl")
        #expect(file.cases.count == 4 && file.metadataLines == 1 && file.casesWithoutFamily == 1)
        let keys = file.cases.map(\.harnessCase.key.description)
        #expect(keys == ["logsumexp/f64/normal_small#0", "logsumexp/f64/wide_spread#5", "softmax/f32/near_ties#9",
                         "cross_entropy/f64/uniform_wide#0"])
        #expect(file.cases.map(\.line) == [2, 3, 5, 6])
        #expect(file.cases[0].harnessCase.seed == 42)
        #expect(file.cases[3].harnessCase.request.target == .index(1))
        #expect(file.cases[2].harnessCase.request.logits == [1, 2])
    }

    @Test("Bad fixture lines are refused with file, line and reason", arguments: [
        (#"{"id":1,"function":"softmax","logit":["1"]}"#, #"f:1: field "logit": unknown, and close to the request field "logits""#),
        (#"{"function":"softmax","logits":["1"]}"#, #"f:1: the line has no "id""#),
        (#"{"id":1,"function":"softmax","logits":["1"]}"# + "\n" + #"{"id":1.0,"function":"softmax","logits":["2"]}"#,
         "f:2: id 1.0 was already used on line 1"),
        (#"{"id":1,"function":"softmaxx","logits":["1"]}"#, #"f:1: id 1: field "function": unknown function "softmaxx""#),
        (#"{"id":1,"function":"softmax","logits":["1"],"family":"tiny"}"#, #"f:1: field "family": "tiny" is not a generator family"#),
        ("[1, 2]", "f:1: a fixture line must be a JSON object, found an array"),
    ])
    func badFixtures(text: String, expected: String) {
        expectThrows(prefix: expected) { _ = try FixtureFile.parse(text, source: "f") }
    }

    @Test("Results are matched by id; missing ones are named errors, error lines unsupported")
    func scoring() throws {
        let file = try FixtureFile.parse(Self.fixtures, source: "f.jsonl")
        let results = try StoredResultsImplementation.parseResults("""
            {"id":"logsumexp/f64/normal_small#0","values":["0x1.62e42fefa39f0p-1"]}
            {"id":"logsumexp/f64/wide_spread#5","values":["0x1.f4p+9"],"seconds":0.1}
            {"id":4,"error":"not on this device"}
            {"id":99,"values":["0x1p+0"]}
            """, source: "r.jsonl")
        let stored = StoredResultsImplementation(name: "gpu", fixtures: file, results: results)
        #expect(stored.unknownResultIDs == ["99"])
        #expect(stored.missingResults.map(\.line) == [5])
        let run = ExternalRunner(oracle: Oracle(), oracleThreads: 2)
            .run(cases: file.cases.map(\.harnessCase), seed: 42, implementation: stored,
                 outcome: { i, _ in stored.outcome(for: file.cases[i]) })
        #expect(run.errors.map(\.message) == ["no result for id 3 (fixtures line 5)"])
        let lse = run.harness.summary(implementation: "gpu", function: .logsumexp, format: .f64).statistics
        // One result is the correct rounding, the other its neighbour (between 0.5 and 1.5 ulp away).
        #expect(lse.scored == 2 && lse.correctlyRoundedCases == 1)
        #expect(lse.maxULP.map { $0 > 0.5 && $0 < 1.5 } == true)
        let ce = run.harness.summary(implementation: "gpu", function: .crossEntropy, format: .f64).statistics
        #expect(ce.unsupported == 1 && ce.scored == 0)
        // The gate: the missing result fails softmax/f32; 1 ulp fails a 0.5 limit.
        // cross_entropy/f64, whose only case was declined, fails as "nothing scored" unless allowed.
        let failures = CheckGate.failures(run.harness, thresholds: CheckThresholds(global: 0.5, allowUnsupported: true))
        #expect(failures.map(\.description) == ["logsumexp/f64: max \(ulpText(lse.maxULP!)) ulp > 0.5", "softmax/f32: 1 error"])
        #expect(CheckGate.failures(run.harness, thresholds: CheckThresholds(global: 1.5)).map(\.description)
            == ["softmax/f32: 1 error", "cross_entropy/f64: nothing scored: 1 of 1 cases unsupported or failed (1 unsupported, 0 errors, 0 without a reference); pass --allow-unsupported to accept"])
        // evaluate(_:) goes through the request.
        #expect(try stored.evaluate(file.cases[1].harnessCase.request) == [1000])

        // A wrong number of values is a named error too.
        let one = try FixtureFile.parse(#"{"id":"a","function":"softmax","logits":["1","2"]}"#, source: "g")
        let short = StoredResultsImplementation(name: "short", fixtures: one,
                                                results: try StoredResultsImplementation.parseResults(#"{"id":"a","values":["0.5"]}"#, source: "s"))
        let shortRun = ExternalRunner(oracle: Oracle()).run(cases: one.cases.map(\.harnessCase), seed: 0, implementation: short,
                                                            outcome: { i, _ in short.outcome(for: one.cases[i]) })
        #expect(shortRun.errors.map(\.message) == ["returned 1 outputs, expected 2"])
        #expect(CheckGate.failures(shortRun.harness, thresholds: CheckThresholds()).map(\.description) == ["softmax/f64: 1 error"])
    }

    @Test("Bad results files are refused with file, line and reason", arguments: [
        (#"{"id":1,"value":["1"]}"#, #"r:1: not a result line: field "values": required but missing"#),
        (#"{"id":null,"error":"KeyError: 'function'"}"# + "\n" + #"{"values":["1"]}"#, #"r:2: the result has no "id""#),
        (#"{"id":1,"values":["1"]}"# + "\n\n" + #"{"id":1,"values":["2"]}"#, "r:3: id 1 was already answered on line 1"),
        ("nan", "r:1: not a result line: invalid JSON"),
    ])
    func badResults(text: String, expected: String) {
        expectThrows(prefix: expected) { _ = try StoredResultsImplementation.parseResults(text, source: "r") }
    }

    @Test("Emitted requests read back as the same cases")
    func emitted() throws {
        let cases = RunConfiguration(seed: 7, functions: [.crossEntropy, .softmax], formats: [.f32], families: [.partialMask, .nearTies],
                                     casesPerFamily: 3).cases()
        let file = try FixtureFile.parse(FixtureFile.text(for: cases, seed: 7), source: "emitted")
        #expect(file.metadataLines == 1 && file.casesWithoutFamily == 0)
        #expect(file.cases.map(\.harnessCase) == cases)
    }

    @Test("Limits: global, per function, and their errors")
    func thresholds() throws {
        let t = try CheckThresholds.parse(["2", "log_softmax=1e6", "softmax=inf"])
        #expect(t.global == 2 && t.maxULP(for: .logSoftmax) == 1e6 && t.maxULP(for: .softmax) == .infinity)
        #expect(t.maxULP(for: .logsumexp) == 2 && t.hasLimits)
        #expect(thrownMessage { _ = try CheckThresholds.parse(["soft=1"]) }.hasPrefix(#"--max-ulp soft=1: unknown function "soft""#))
        #expect(thrownMessage { _ = try CheckThresholds.parse(["-1"]) } == #"--max-ulp -1: "-1" is not a non-negative number of ULPs (or inf)"#)
        #expect(!CheckThresholds().hasLimits)
    }

    @Test("A batched fixture line (N rows) is N cases, scored row by row on nested or flat answers")
    func batchedRows() throws {
        let fixtures = """
            {"id":1,"function":"softmax","logits":[[1,2],[3,5]]}
            {"id":2,"function":"logsumexp","logits":[[1,2],[3,5]]}
            {"id":3,"function":"cross_entropy_loss_backward","batch":[[1,2],[3,4]],"targets":[0,1]}
            {"id":4,"function":"softmax","logits":[[1,2],[3,5]]}
            """
        let file = try FixtureFile.parse(fixtures, source: "b.jsonl")
        #expect(file.cases.map(\.line) == [1, 1, 2, 2, 3, 4, 4] && file.casesWithoutFamily == 4)
        #expect(file.cases[1].harnessCase.request.logits == [3, 5] && file.cases[1].row?.offset == 2)
        // Correct roundings (mpmath at 200 bits): softmax of (1, 2) and (3, 5), their logsumexp, the
        // mean loss's gradient (p − onehot)/2; line 4 answers flat, row-major, with a row missing.
        let results = try StoredResultsImplementation.parseResults("""
            {"id":1,"values":[["0x1.136561454ba86p-2","0x1.764d4f5d5a2bdp-1"],["0x1.e84152bac31afp-4","0x1.c2f7d5a8a79cap-1"]]}
            {"id":2,"values":[["0x1.2818f57f7d825p+1"],["0x1.481f96aa180eap+2"]]}
            {"id":3,"values":[["-0x1.764d4f5d5a2bdp-2","0x1.764d4f5d5a2bdp-2"],["0x1.136561454ba86p-3","-0x1.136561454ba86p-3"]]}
            {"id":4,"values":["0x1.136561454ba86p-2","0x1.764d4f5d5a2bdp-1"]}
            """, source: "r.jsonl")
        let stored = StoredResultsImplementation(name: "rows", fixtures: file, results: results)
        let run = ExternalRunner(oracle: Oracle()).run(cases: file.cases.map(\.harnessCase), seed: 0, implementation: stored,
                                                       outcome: { i, _ in stored.outcome(for: file.cases[i]) })
        #expect(run.errors.map(\.message) == ["id 4: 2 values for a batch of 4 (fixtures line 4)",
                                              "id 4: 2 values for a batch of 4 (fixtures line 4)"])
        for (f, n) in [(OracleFunction.softmax, 2), (.logsumexp, 2), (.crossEntropyLossBackward, 1)] {
            let st = run.harness.summary(implementation: "rows", function: f, format: .f64).statistics
            #expect(st.scored == n && st.correctlyRoundedCases == n, "\(f)")
        }
        // A ragged answer is refused, naming the row.
        expectThrows(prefix: #"r:1: not a result line: field "values[1]": has 1 values, row 0 has 2"#) {
            _ = try StoredResultsImplementation.parseResults(#"{"id":1,"values":[["1","2"],["3"]]}"#, source: "r")
        }
    }
}
