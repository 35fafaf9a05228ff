import Foundation

/// The package's root directory (this file is Tests/TestSupport/Environment.swift).
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Whether `python3` (the first on PATH) can import every module in `modules` (`[]`: whether
/// python3 runs at all). For `.enabled(if: pythonHas([...]), "reason")` traits, so that a test
/// that needs Python shows as skipped, never as a silent pass. `.ci/run` installs NumPy and SciPy
/// so that these tests run in CI.
public func pythonHas(_ modules: [String]) -> Bool {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    let imports = modules.isEmpty ? "pass" : "import \(modules.joined(separator: ", "))"
    p.arguments = ["-c", "python3 -c '\(imports)' >/dev/null 2>&1"]
    do {
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus == 0
    } catch {
        return false
    }
}

/// Runs `arguments` through /usr/bin/env and returns the exit status and the combined standard
/// output and error (127 and the error's text when it cannot start).
public func runProcess(_ arguments: [String]) -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = arguments
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return (127, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
