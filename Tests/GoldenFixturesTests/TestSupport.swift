import Foundation
import GoldenFixtures
@_exported import TestSupport  // packageRoot, pythonHas, runProcess: shared by every test target

/// Paths and scratch directories for the fixture tests.
enum TestPaths {
    /// The package root, as a path.
    static let packageRoot: String = TestSupport.packageRoot.path

    static let fixtures = packageRoot + "/Fixtures"
    static let golden = fixtures + "/golden"
    static let baseline = fixtures + "/accuracy-baseline.json"

    /// A fresh, empty directory under the system's temporary directory.
    static func scratch(_ label: String) -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("golden-fixtures-\(label)-\(getpid())-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    static func bytes(_ path: String) -> [UInt8] {
        try! AtomicFile.read(path)
    }

    static func write(_ bytes: [UInt8], _ path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }
}
