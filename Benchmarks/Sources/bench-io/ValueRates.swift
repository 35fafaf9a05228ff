import BenchSupport
import OracleIO

/// Section 1: ns per value (process CPU time, medians of `rounds`) of reading decimal JSON
/// numbers and hex-float strings (a request line of 10^6 normal(0, 10) logits through
/// RequestServer, the path of `eval`) and of writing hex-float strings (a result line of 10^6).
func valueRateRows(rounds: Int) -> [Row] {
    let n = 1_000_000
    let x = Workloads.normalLogits(count: n, seed: 11)
    func line(_ texts: [String]) -> [UInt8] {
        Array((#"{"id":1,"function":"logsumexp","logits":["# + texts.joined(separator: ",") + "]}").utf8)
    }
    let decimal = line(x.map(\.description)), hex = line(x.map { "\"" + HexFloat.format($0) + "\"" })
    let server = RequestServer()
    func read(_ bytes: [UInt8], check: Bool = false) {
        _ = server.respond(to: bytes) { decoded in
            if check { precondition(decoded.request.logits.elementsEqual(x, by: { $0.bitPattern == $1.bitPattern }), "misread") }
            return []
        }
    }
    read(decimal, check: true)
    read(hex, check: true)
    let bodies: [() -> Void] = [{ read(decimal) }, { read(hex) }, { consume(ResultEncoder.encode(id: .number(1), values: x)) }]
    var times: [[Double]] = [[], [], []]
    for _ in 0..<rounds {
        for (j, body) in bodies.enumerated() {
            let t0 = processCPUSeconds()
            body()
            times[j].append(processCPUSeconds() - t0)
        }
    }
    let perValue = times.map { median($0) / Double(n) * 1e9 }
    return [
        ("Read decimal JSON numbers (shortest repr of normal(0, 10), \(decimal.count / n) bytes each), 10^6 in one request", "\(fmt(perValue[0])) ns/value", "≤ 50 ns"),
        ("Read hex-float strings, 10^6 in one request", "\(fmt(perValue[1])) ns/value", "≤ 50 ns"),
        ("Write hex-float strings, one result line of 10^6", "\(fmt(perValue[2])) ns/value", "≤ 50 ns"),
    ]
}
