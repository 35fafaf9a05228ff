#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import GoldenFixtures
import OracleIO
import Testing

/// What `AtomicFile.write` replaces: only regular files. A device, a FIFO or a symbolic link
/// used to be renamed over (as root, `--emit-requests /dev/full` left a plain file where the
/// device was, and reported success).
@Suite("Output files: devices, FIFOs and symbolic links")
struct AtomicFileTargetsTests {
    static func isCharacterDevice(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR
    }

    /// A new empty directory for one test (the caller removes it).
    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("/dev/full: the write fails with its reason, and the device stays a device",
          .enabled(if: isCharacterDevice("/dev/full"), "needs /dev/full"))
    func deviceFull() {
        #expect {
            try AtomicFile.write("x\n", to: "/dev/full")
        } throws: { error in
            String(describing: error).contains("No space left on device")
        }
        #expect(Self.isCharacterDevice("/dev/full"))
    }

    @Test("/dev/null is written in place and stays a device")
    func deviceNull() throws {
        try AtomicFile.write("x\n", to: "/dev/null")
        #expect(Self.isCharacterDevice("/dev/null"))
    }

    @Test("A FIFO receives the bytes and stays a FIFO")
    func fifo() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("fifo").path
        #expect(mkfifo(path, 0o600) == 0)
        // The reader opens the FIFO on another thread (open blocks until both ends are open).
        let received = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var text = ""
        Thread.detachNewThread {
            // POSIX open/read (FileReading): Foundation's reader treats a FIFO as an empty file.
            text = (try? FileReading.bytes(path)).map { String(decoding: $0, as: UTF8.self) } ?? "<unreadable>"
            received.signal()
        }
        try AtomicFile.write("through the fifo\n", to: path)
        #expect(received.wait(timeout: .now() + 10) == .success)
        #expect(text == "through the fifo\n")
        var info = stat()
        #expect(stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO)
    }

    @Test("A symbolic link: its target is replaced, the link stays a link")
    func symbolicLink() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("target.jsonl").path
        let link = directory.appendingPathComponent("link.jsonl").path
        try "old\n".write(toFile: target, atomically: false, encoding: .utf8)
        #expect(symlink(target, link) == 0)
        try AtomicFile.write("new\n", to: link)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "new\n")
        var info = stat()
        #expect(lstat(link, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK)
        // A link to a missing file is refused, not replaced by a file.
        let dangling = directory.appendingPathComponent("dangling.jsonl").path
        #expect(symlink(directory.appendingPathComponent("missing/x").path, dangling) == 0)
        #expect(throws: FixtureError.self) { try AtomicFile.write("x\n", to: dangling) }
        #expect(lstat(dangling, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK)
    }
}
