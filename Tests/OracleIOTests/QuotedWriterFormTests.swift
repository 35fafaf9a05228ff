import Foundation
@testable import OracleIO
import SoftmaxOracle
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// glibc's `strtod` of the whole of `text` (nil when it stops early): the independent
/// reference for the value of every text the readers accept.
private func strtodBits(_ text: String) -> UInt64? {
    text.withCString { start -> UInt64? in
        var end: UnsafeMutablePointer<CChar>?
        let value = strtod(start, &end)
        guard let end, end == start + text.utf8.count else { return nil }
        return value.isNaN ? Double.nan.bitPattern : value.bitPattern
    }
}

/// ``HexFloat/quotedWriterForm(_:)`` of the JSON string `text"` (no quote or backslash in
/// `text`) followed by `,` filler, given exactly ``HexFloat/quotedWriterFormReach`` readable
/// bytes against an unreadable page on either side: (bits, length) or nil (declined). Both
/// placements must agree.
private func writerForm(_ text: String) -> (bits: UInt64, length: Int)? {
    let reach = HexFloat.quotedWriterFormReach
    let bytes = Array((Array(text.utf8) + [0x22] + Array(repeating: 0x2C, count: reach)).prefix(reach))
    let both = withGuardedBytes(bytes) { buffer in
        HexFloat.quotedWriterForm(buffer.baseAddress!).map { ($0.value.isNaN ? Double.nan.bitPattern : $0.value.bitPattern, $0.length) }
    }
    precondition(both[0]?.0 == both[1]?.0 && both[0]?.1 == both[1]?.1)
    return both[0]
}

/// Hex digits of `text` in upper case (the `0x`, `p` and exponent kept).
private func upperDigits(_ text: String) -> String {
    String(text.map { "abcdef".contains($0) ? Character($0.uppercased()) : $0 })
}

/// Texts around the writer's spelling of `x`: the spelling itself and variants that the
/// readers must read as strtod reads them, or reject as the checked path rejects them.
private func spellings(of x: Double, _ rng: inout SplitMix64) -> [String] {
    let written = HexFloat.format(x)
    guard let p = written.firstIndex(of: "p") else { return [written] }  // inf, nan
    let mantissa = String(written[..<p]), exponentPart = String(written[written.index(after: p)...])
    let exponent = Int(exponentPart)!
    let signless = exponentPart.hasPrefix("+") ? String(exponentPart.dropFirst()) : exponentPart
    var texts = [written, upperDigits(written), written.replacingOccurrences(of: "0x", with: "0X"),
                 mantissa + "P" + exponentPart, mantissa + "p" + signless,
                 mantissa + "p" + (exponent < 0 ? "-" : "+") + String(repeating: "0", count: rng.int(1...3)) + String(abs(exponent)),
                 (x.sign == .minus ? "" : "+") + written, " " + written, written + " ", mantissa + "p" + exponentPart + "0"]
    // Fewer and more fraction digits (up to 16), a point with no digits.
    if let dot = mantissa.firstIndex(of: ".") {
        let digits = mantissa[mantissa.index(after: dot)...]
        texts.append(String(mantissa.dropLast(rng.int(1...digits.count))) + "p" + exponentPart)
        texts.append(mantissa + String(repeating: "0", count: rng.int(1...5)) + "p" + exponentPart)
        texts.append(mantissa + String(repeating: "f", count: rng.int(1...3)) + "p" + exponentPart)
        texts.append(String(mantissa[..<dot]) + ".p" + exponentPart)
        texts.append(String(mantissa[..<dot]) + "p" + exponentPart)
    } else if mantissa.hasSuffix("0x1") {
        texts.append(mantissa + ".p" + exponentPart)
        texts.append(mantissa + "." + String(repeating: "0", count: rng.int(1...14)) + "p" + exponentPart)
    }
    // Exponents beyond the normal range, subnormal spellings, other leading digits.
    texts.append(mantissa + "p" + String(exponent + rng.pick([1024, 2047, -1023, -2000, 99_999, -99_999])))
    texts.append(mantissa.replacingOccurrences(of: "0x1", with: "0x0") + "p-1022")
    texts.append(mantissa.replacingOccurrences(of: "0x1", with: rng.pick(["0x2", "0x01", "0xf", "0x"])) + "p" + exponentPart)
    // One byte replaced, inserted or removed (never a quote or backslash: the string would end
    // or escape there, which the row tests cover).
    let alphabet = Array("0123456789abcdefABCDEFxXpP.+-gG :/@`e\u{7F}".utf8) + [0x00, 0x09, 0xC3, 0xFF]
    for _ in 0..<3 {
        var bytes = Array(written.utf8)
        switch rng.int(0...2) {
        case 0: bytes[rng.index(bytes.count)] = rng.pick(alphabet)
        case 1: bytes.insert(rng.pick(alphabet), at: rng.int(0...bytes.count))
        default: bytes.remove(at: rng.index(bytes.count))
        }
        texts.append(String(decoding: bytes, as: UTF8.self))
    }
    return texts
}

/// A request line of `elements` (JSON texts) as logits, `separator` between them.
private func request(_ elements: [String], separator: String = ",") -> String {
    #"{"id":7,"function":"logsumexp","logits":["# + elements.joined(separator: separator) + "]}"
}

/// The answer of a server (rows cut on two threads everywhere, `maxValues` as given) that
/// echoes the logits, and the generic path's answer (the line parsed as a `JSONValue`, then
/// decoded) for the same line.
private func fastAndGeneric(_ line: String, maxValues: Int = RequestDecoder().maxValues, cut: Bool) -> (fast: String, generic: String) {
    var server = RequestServer()
    server.decoder.maxValues = maxValues
    server.splitRowBytes = cut ? 1 : .max
    let fast = server.respond(to: line) { $0.request.logits }.line
    var decoder = RequestDecoder()
    decoder.maxValues = maxValues
    let generic: String
    do {
        let decoded = try decoder.decode(line: line)
        generic = ResultEncoder.encode(id: decoded.id, values: decoded.request.logits)
    } catch {
        generic = ResultEncoder.encode(error)
    }
    return (fast, generic)
}

@Suite("Rows of the writer's hex strings read word by word (QuotedWriterForm.swift)")
struct QuotedWriterFormTests {
    /// Random bit patterns in the writer's spelling and in hand-varied ones: what the reader
    /// accepts reads as strtod reads it (and as the byte-by-byte path does); what the checked
    /// path rejects, it declines; the writer's own text of every normal, zero, infinity and
    /// NaN is accepted.
    @Test("property: random values in many spellings against strtod and the checked path (seed printed)")
    func randomSpellings() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        var failures = 0
        var accepted = 0
        func check(_ text: String, mustAccept: Bool) {
            guard failures < 10 else { return }
            let got = writerForm(text)
            let old = HexFloat.parse(text).map { $0.isNaN ? Double.nan.bitPattern : $0.bitPattern }
            let reference = old == nil ? nil : strtodBits(text)
            var ok = old == reference  // the checked path itself agrees with strtod
            if let got {
                accepted += 1
                ok = ok && got.bits == reference && got.length == text.utf8.count + 1
            } else if mustAccept {
                ok = false
            }
            if !ok {
                failures += 1
                Issue.record("seed \(seed): \(text.debugDescription): writer form \(String(describing: got)), checked path \(String(describing: old)), strtod \(String(describing: reference)), must accept \(mustAccept)")
            }
        }
        for round in 0..<40_000 {
            var x = Double(bitPattern: rng.next())
            switch round % 8 {
            case 0: x = Double(bitPattern: rng.next() & 0x800F_FFFF_FFFF_FFFF)  // subnormals and zeros
            case 1: x = rng.pick([0.0, -0.0, .infinity, -.infinity, .nan, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                  .leastNormalMagnitude, -.leastNormalMagnitude, .leastNonzeroMagnitude, 1, -2, 0x1p-1022, 0x1.8p+1023])
            case 2: x = Double(sign: rng.oneIn(2) ? .minus : .plus, exponent: rng.int(-1022...1023), significand: 1)  // powers of two
            case 3:  // normals with 0…13 fraction digits
                let fraction = rng.next() & 0x000F_FFFF_FFFF_FFFF & ~((1 << UInt64(4 * rng.int(0...13))) - 1)
                x = Double(bitPattern: rng.next() & 1 << 63 | UInt64(rng.int(1...2046)) << 52 | fraction)
            default: break
            }
            let texts = spellings(of: x, &rng)
            check(texts[0], mustAccept: !x.isSubnormal)
            for text in texts.dropFirst() { check(text, mustAccept: false) }
        }
        #expect(accepted > 40_000, "seed \(seed): only \(accepted) texts took the writer-form path")
    }

    @Test("edge texts: accepted values, and the forms left to the byte-by-byte path")
    func edges() {
        let accepted: [(String, Double)] = [
            ("0x1.fffffffffffffp+1023", .greatestFiniteMagnitude), ("-0x1.fffffffffffffp+1023", -.greatestFiniteMagnitude),
            ("0x1p-1022", .leastNormalMagnitude), ("-0x1p-1022", -.leastNormalMagnitude), ("0x1p+0", 1), ("-0x1p+1023", -0x1p+1023),
            ("0x1.8p+1", 3), ("0x1.0000000000001p-1022", 0x1.0000000000001p-1022), ("0x1.ABCDEFp-0001", 0x1.abcdefp-1),
            ("0x0p+0", 0), ("-0x0p+0", -0.0), ("inf", .infinity), ("-inf", -.infinity), ("nan", .nan), ("-nan", .nan),
            ("0x1.921fb54442d18p+1", .pi), ("0x1.8p-0", 1.5),
        ]
        for (text, value) in accepted {
            let got = writerForm(text)
            #expect(got?.bits == (value.isNaN ? Double.nan.bitPattern : value.bitPattern) && got?.length == text.utf8.count + 1, "\(text)")
        }
        // Declined (the element loop reads them as before): subnormals, out of range, other
        // spellings, and any syntax error.
        let declined = ["0x1p-1023", "0x1p-1074", "0x0.0000000000001p-1022", "0x1p+1024", "0x1.8p+99999", "0x1.8p1", "+0x1.8p+1",
                        "0x1.8P+1", "0X1.8p+1", "0x1.p+1", "0x1.00000000000000p+0", "0x1.8p+00001", "0x1.8p+", "0x1.8p", "0x1.8",
                        "0x1.8p+1 ", " 0x1.8p+1", "0x1.8g+1", "0x1.8pp1", "0x1.8p-+1", "0x1..8p+1", "0x2p+0", "0x0p-0 ", "0x0.0p+0",
                        "0x0p+1", "0x0P+0", "Inf", "infinity", "NaN", "nan(1)", "-0x1.8p+1e", "", "-", "0x", "0x1", "1.5", "15",
                        "0x1.8p+1:2", "0x1.8p+/1", "0x1.8p-1\u{7F}", "0x1.8p+\u{0}1", "0x1.8p+1\u{0}", "0x1.8p+"]
        for text in declined {
            #expect(writerForm(text) == nil, "\(text)")
        }
    }

    /// Whole rows, fast and generic: random writer-form elements with, now and then, another
    /// spelling, whitespace, a number, an escape, a bad element, a row that ends early; `,`
    /// or `, ` and other whitespace between the elements; cut on
    /// two threads everywhere or not at all; a value limit inside or past a block of values.
    /// Answers (values, or the error with its offset) are the generic path's.
    @Test("property: rows of mixed elements answer as the generic path (seed printed)")
    func rows() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var rng = SplitMix64(seed: seed)
        let others = [#""0x1.8P+1""#, #"" 0x1p+0""#, "1.5", "-0", "  ", #""0x1p-1074""#, #""\u0030x1p+0""#, #""0x1.8p+1\"""#,
                      #""0x1.g""#, "null", #""Infinity""#, #""0x1.8p+1","#, #""0x1.8p+1"""#, #""0x1.8p+1" "#, "\t", "[1]", #""""#]
        var failures = 0
        for round in 0..<600 where failures < 5 {
            let count = rng.int(1...200)
            var elements: [String] = []
            for _ in 0..<count {
                let x = rng.oneIn(6) ? rng.pick([0.0, -0.0, .infinity, -.infinity, .nan, 0x1p-1074])
                    : Double(bitPattern: rng.next())
                var element = "\"" + HexFloat.format(x) + "\""
                if rng.oneIn(40) { element = rng.pick(others) }
                if rng.oneIn(60) { element = " " + element + "\n" }
                elements.append(element)
            }
            var line = request(elements, separator: rng.oneIn(4) ? rng.pick([", ", ",\n\t", " , ", ",\r\n  "]) : ",")
            if rng.oneIn(30) { line = String(line.prefix(rng.int(1...line.utf8.count))) }
            let maxValues = rng.oneIn(4) ? rng.int(1...130) : RequestDecoder().maxValues
            let (fast, generic) = fastAndGeneric(line, maxValues: maxValues, cut: round % 2 == 0)
            if fast != generic {
                failures += 1
                Issue.record("seed \(seed), round \(round), maxValues \(maxValues): \(line)\nfast    \(fast)\ngeneric \(generic)")
            }
        }
    }
}
