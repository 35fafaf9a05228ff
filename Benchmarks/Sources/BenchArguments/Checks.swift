import ArgumentParser
import Foundation

/// Checks, before any work, that the file an option names can be run.
///
/// - Throws: `ValidationError` naming the option and the path.
public func checkExecutable(_ path: String, option: String) throws {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue,
          FileManager.default.isExecutableFile(atPath: path) else {
        throw ValidationError("--\(option) \(path): no executable file there")
    }
}

/// Checks, before any work, that the file an option names can be read.
///
/// - Throws: `ValidationError` naming the option and the path.
public func checkReadable(_ path: String, option: String) throws {
    guard FileManager.default.isReadableFile(atPath: path) else {
        throw ValidationError("--\(option) \(path): no readable file there")
    }
}

/// Checks, before any work, that a count option is at least `minimum`.
///
/// - Throws: `ValidationError` naming the option and the value.
public func checkAtLeast(_ value: Int, _ minimum: Int, option: String) throws {
    guard value >= minimum else { throw ValidationError("--\(option) \(value): must be at least \(minimum)") }
}

/// A file operation that failed, in one line: what was being done and why it failed.
public struct FileOperationError: Error, CustomStringConvertible {
    public var description: String
}

/// Runs `body`, a file operation; an error it throws becomes a ``FileOperationError`` that
/// starts with `what` ("--dump x: cannot write it: The file doesn’t exist.").
public func fileOperation<T>(_ what: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch {
        throw FileOperationError(description: "\(what): \(error.localizedDescription)")
    }
}
