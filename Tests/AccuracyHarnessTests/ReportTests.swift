import OracleIO
import SoftmaxOracle
import Testing
@testable import AccuracyHarness

@Suite("Reports")
struct ReportTests {
    /// A tiny run: two hand-made cases, two implementations.
    static func tinyResult() -> HarnessResult {
        let k0 = CaseKey(function: .softmax, format: .f32, family: .wideSpread, index: 0)
        let k1 = CaseKey(function: .softmax, format: .f32, family: .wideSpread, index: 1)
        let cases = [
            HarnessCase(key: k0, seed: 7, request: OracleRequest(function: .softmax, format: .f32, logits: [1000, 0, -1000])),
            HarnessCase(key: k1, seed: 7, request: OracleRequest(function: .softmax, format: .f32, logits: [1.5, 0x1p-140])),
        ]
        let runner = Runner(oracle: IdentityOracle(), implementations: [
            FakeImplementations.exact, FakeImplementations.oneULP, FakeImplementations.nanAbove100,
        ])
        return runner.run(cases: cases, seed: 7)
    }

    static func gridResult() -> HarnessResult {
        let runner = Runner(oracle: IdentityOracle(), implementations: [
            FakeImplementations.exact, FakeImplementations.oneULP, FakeImplementations.nanAbove100,
        ])
        return runner.run(RunConfiguration(seed: 3, functions: [.softmax, .logsumexp], formats: [.f64, .bf16],
                                           families: [.normalHuge, .subnormalLogits, .singleLogit, .nan],
                                           casesPerFamily: 5))
    }

    @Test("The text report of a fixed result is exactly this")
    func golden() {
        let text = TextReport.render(Self.tinyResult())
        #expect(text == Self.goldenText, "\n\(text)")
    }

    @Test("Markdown tables have a row per summary and per cell")
    func markdown() {
        let result = Self.gridResult()
        let md = MarkdownReport.render(result)
        #expect(md.hasPrefix("# softmax-oracle accuracy report\n"))
        let rows = md.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| implementation") }
        #expect(rows.count == result.summaryKeys.count + result.cells.count)
        #expect(md.contains("special-value mismatch"))
    }

    @Test("JSON is valid, ordered, and carries hex-float inputs")
    func json() throws {
        let result = Self.tinyResult()
        let text = JSONReport.render(result)
        let value = try JSONValue.parse(text)
        let keys = value.objectMembers!.map(\.0)
        #expect(keys == ["schema", "seed", "cases", "implementations", "summary", "cells", "oracle_failures"])
        #expect(value["schema"]?.stringValue == JSONReport.schema)
        let cells = value["cells"]!.arrayValue!
        #expect(cells.count == 3)
        let nanCell = cells[2]
        #expect(nanCell["implementation"]?.stringValue == "nan-above-100")
        #expect(nanCell["max_ulp"] == .number("0.0"))
        let worst = nanCell["worst"]!
        #expect(worst["logits"]!.arrayValue!.map(\.stringValue) == ["0x1.f4p+9", "0x0p+0", "-0x1.f4p+9"])
        #expect(worst["output"]?.stringValue == "nan" && worst["expected"]?.stringValue == "0x1.f4p+9")
        #expect(worst["special_mismatch"] == .bool(true))
        #expect(cells[0]["worst"]?["ulps"] == .number("0.0"))
        #expect(cells[1]["max_ulp"] == .number("1.0"))
    }

    @Test("The SVG plot has a point per scored case and a legend entry per implementation")
    func svg() {
        let result = Self.gridResult()
        let svg = SVGPlot.render(result, title: "a <test> & more")
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.hasSuffix("</svg>\n"))
        let points = result.cells.map(\.accumulator.scores.count).reduce(0, +)
        #expect(svg.components(separatedBy: "<circle ").count - 1 == points)
        #expect(svg.contains("a &lt;test&gt; &amp; more"))
        for (i, name) in result.implementations.enumerated() {
            #expect(svg.contains(">\(name)</text>") && svg.contains(SVGPlot.palette[i]))
        }
        let filtered = SVGPlot.render(result) { $0.format == .bf16 }
        let bf16Points = result.cells.filter { $0.format == .bf16 }.map(\.accumulator.scores.count).reduce(0, +)
        #expect(filtered.components(separatedBy: "<circle ").count - 1 == bf16Points)
    }

    @Test("Number text is fixed and locale-free")
    func numbers() {
        #expect(NumberText.ulp(0.5) == "0.50")
        #expect(NumberText.ulp(12.345) == "12.3")
        #expect(NumberText.ulp(123_456) == "1.23e+05")
        #expect(NumberText.ulp(0.001) == "1.00e-03")
        #expect(NumberText.ulp(.greatestFiniteMagnitude) == "1.80e+308")
        #expect(NumberText.ulp(9.999) == "10.00")
        #expect(NumberText.ulp(nil) == "-" && NumberText.ulp(.infinity) == "inf" && NumberText.ulp(0) == "0")
        #expect(NumberText.percent(0.995) == "99.5%")
        #expect(NumberText.fixed(-1.25, decimals: 1) == "-1.2")
        #expect(NumberText.hex64(255) == "0x00000000000000ff")
    }

    static let goldenText = """
        softmax-oracle accuracy report
        seed 0x0000000000000007, 2 cases, implementations: exact, one-ulp, nan-above-100
        case error = the largest ULP error over a case's outputs. max, mean, p99 (nearest rank): over the
        cases without special-value mismatches. CR: share of cases with every output correctly rounded.
        special: cases with a NaN/inf mismatch. ±0: zeros of the wrong sign. no ref: cases the oracle
        could not certify.

        Summary (all families)
        implementation  function  format  family  cases  unsup  errors  no ref  max ulp  mean ulp  p99 ulp      CR  special  ±0
        --------------  --------  ------  ------  -----  -----  ------  ------  -------  --------  -------  ------  -------  --
        exact           softmax   f32     all         2      0       0       0        0         0        0  100.0%        0   0
        one-ulp         softmax   f32     all         2      0       0       0     1.00      1.00     1.00    0.0%        0   0
        nan-above-100   softmax   f32     all         2      0       0       0        0         0        0   50.0%        1   0

        By family
        implementation  function  format  family       cases  unsup  errors  no ref  max ulp  mean ulp  p99 ulp      CR  special  ±0
        --------------  --------  ------  -----------  -----  -----  ------  ------  -------  --------  -------  ------  -------  --
        exact           softmax   f32     wide_spread      2      0       0       0        0         0        0  100.0%        0   0
        one-ulp         softmax   f32     wide_spread      2      0       0       0     1.00      1.00     1.00    0.0%        0   0
        nan-above-100   softmax   f32     wide_spread      2      0       0       0        0         0        0   50.0%        1   0

        Worst cases
        - one-ulp · softmax · f32 · wide_spread #0 (seed 0x0000000000000007)
            1.00 ulp at output 0: got 0x1.f40002p+9, expected 0x1.f4p+9
            logits (3): [0x1.f4p+9, 0x0p+0, -0x1.f4p+9]
        - nan-above-100 · softmax · f32 · wide_spread #0 (seed 0x0000000000000007)
            special-value mismatch at output 0: got nan, expected 0x1.f4p+9
            logits (3): [0x1.f4p+9, 0x0p+0, -0x1.f4p+9]

        """

    /// A reproducer names each input once: a backward case's grad_output appeared twice in the
    /// text line and as a duplicate "grad_output" member of the JSON record (RFC 8259 leaves
    /// duplicate names to the reader; `eval` refuses them).
    @Test("a backward case's reproducer names grad_output once, in the text and in the JSON")
    func gradOutputOnce() {
        let q = OracleRequest(function: .softmaxBackward, format: .f32, logits: [1, 2, 3], gradOutput: [0.5, -1, 2])
        let text = NumberText.inputs(q)
        #expect(text.components(separatedBy: "grad_output").count == 2, "\(text)")
        let record = CaseRecord(key: CaseKey(function: .softmaxBackward, format: .f32, family: .normalSmall, index: 0),
                                seed: 1, request: q, element: 0, output: 0, expected: 0, ulps: 0, specialMismatch: false)
        guard case .object(let members) = JSONReport.record(record, limit: 16) else {
            Issue.record("the record is not an object")
            return
        }
        #expect(members.filter { $0.0 == "grad_output" }.count == 1)
        #expect(Set(members.map(\.0)).count == members.count, "\(members.map(\.0))")
    }
}
