import Foundation

/// One run of the SciPy script with `python`: "function format rows" -> ns per element, plus its
/// header (versions, NumPy's SIMD level); empty when it cannot be run.
func runSciPy(_ script: String, python: String, samples: Int) -> (times: [String: Double], info: [String: String]) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [python, script, "--batch", "256", "--k", "4096", "--repeats", String(samples)]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return ([:], [:]) }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    var times: [String: Double] = [:], info: [String: String] = [:]
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
        if let fn = obj["function"] as? String, let f = obj["format"] as? String, let rowsIn = obj["rows"] as? Int,
           let v = obj["ns_per_element"] as? Double {
            times["\(fn) \(f) \(rowsIn)"] = v
        } else {
            for (k, v) in obj { info[k] = "\(v)" }
        }
    }
    return (times, info)
}
