import Foundation

/// This process's CPU time (CLOCK_PROCESS_CPUTIME_ID), in seconds.
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

/// The median of non-empty samples.
func median(_ v: [Double]) -> Double {
    let s = v.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Seconds per call: `inner` calls of `body` on the CPU clock.
func sample(_ body: () -> Void, inner: Int) -> Double {
    let s = cpuSeconds()
    for _ in 0..<inner { body() }
    return (cpuSeconds() - s) / Double(inner)
}

/// The CPU's model name and flags, from /proc/cpuinfo ("unknown" and none elsewhere).
func cpuInfo() -> (model: String, flags: Set<Substring>) {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return ("unknown", []) }
    var model = "unknown", flags: Set<Substring> = []
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { continue }
        let key = parts[0].trimmingCharacters(in: .whitespaces)
        if key == "model name", model == "unknown" { model = parts[1].trimmingCharacters(in: .whitespaces) }
        if key == "flags", flags.isEmpty { flags = Set(parts[1].split(separator: " ")) }
    }
    return (model, flags)
}
