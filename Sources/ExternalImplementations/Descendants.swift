#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Finding and ending every process a child started, also those that left its process group or
/// session (`setsid`, daemons), so that no run leaves a process behind.
///
/// ## How descendants are recognised
/// - The child's descendants by parent links, and the members of its process group (the group id
///   is the child's pid while it is unreaped, so this is exact).
/// - A descendant whose parent died is re-parented to us (below): such a child of ours is the
///   child's if it carries the environment variable ``markerName`` = `<our pid>.<serial>`, which
///   each child gets and its descendants inherit (one that execs with a cleared environment is
///   not recognised).
///
/// ## What makes them reachable
/// On Linux this process becomes a *child subreaper* (`prctl(PR_SET_CHILD_SUBREAPER)`) at the
/// first spawn: a descendant whose parent dies is re-parented to us instead of to init, so that
/// we can reap it after killing it. ``sweep(leader:marker:)`` kills every live process of the
/// group or with the marker, reaps the child, then reaps the killed ones as they become ours,
/// repeating until none is left (bounded: two seconds).
///
/// On systems without `/proc` only the process group is ended (as before).
enum Descendants {
    /// The environment variable that marks a child's descendants.
    static let markerName = "SOFTMAX_ORACLE_CHILD"

    private static let serial = Atomic<Int>(0)
    private static let subreaper = Atomic<Bool>(false)

    /// A fresh marker value for the next child: `<our pid>.<serial>`.
    static func nextMarker() -> String {
        "\(getpid()).\(serial.add(1, ordering: .relaxed).newValue)"
    }

    /// Makes this process a child subreaper (Linux; once; a no-op elsewhere).
    static func becomeSubreaper() {
        #if os(Linux)
        guard subreaper.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl") else { return }
        let prctl = unsafeBitCast(symbol, to: Prctl.self)
        _ = prctl(36 /* PR_SET_CHILD_SUBREAPER */, 1, 0, 0, 0)
        #endif
    }

    /// One process seen in `/proc`.
    struct Entry {
        var pid: pid_t
        var parent: pid_t
        var group: pid_t
        var zombie: Bool
    }

    /// Every process in `/proc` (empty where there is none).
    static func processes() -> [Entry] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var out: [Entry] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let pid = pid_t(name), let stat = readSmallFile("/proc/\(name)/stat") else { continue }
            // "pid (comm) S ppid pgrp …": comm may hold spaces and parentheses; the last ')' ends it.
            guard let close = stat.lastIndex(of: UInt8(ascii: ")")) else { continue }
            let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "))
            guard fields.count > 3, let parent = pid_t(String(decoding: fields[1], as: UTF8.self)),
                  let group = pid_t(String(decoding: fields[2], as: UTF8.self)) else { continue }
            out.append(Entry(pid: pid, parent: parent, group: group, zombie: fields[0].first == UInt8(ascii: "Z")))
        }
        return out
    }

    /// Whether the live process `pid` has `marker` in its environment.
    static func carries(_ pid: pid_t, marker: String) -> Bool {
        guard let environment = readSmallFile("/proc/\(pid)/environ", limit: 1 << 20) else { return false }
        let needle = Array("\(markerName)=\(marker)".utf8)
        return environment.split(separator: 0).contains { $0.elementsEqual(needle) }
    }

    /// The live descendants of `leader`, the other members of its group, and the children of
    /// this process that carry `marker` (orphans re-parented to us) with their descendants;
    /// not `leader` itself, nor `excluding`. Environments are read only of our own children, so
    /// a scan costs one read of `/proc/*/stat`, whatever else the machine runs. Once the leader
    /// is reaped its pid may be reused: pass nil then (only marked children of ours are roots).
    static func members(leader: pid_t?, marker: String, excluding: Set<pid_t>) -> [pid_t] {
        let all = processes()
        let me = getpid()
        var children: [pid_t: [pid_t]] = [:]
        for p in all { children[p.parent, default: []].append(p.pid) }
        var found = Set<pid_t>()
        var stack = all.filter { p in
            p.parent == me && p.pid != leader && !p.zombie && !excluding.contains(p.pid) && carries(p.pid, marker: marker)
        }.map(\.pid)
        if let leader { stack += [leader] + all.filter { $0.group == leader }.map(\.pid) }
        while let p = stack.popLast() {
            guard found.insert(p).inserted else { continue }
            stack += children[p] ?? []
        }
        let live = Set(all.filter { !$0.zombie }.map(\.pid))
        return found.filter { $0 != leader && $0 != me && live.contains($0) && !excluding.contains($0) }.sorted()
    }

    /// Kills the group of `leader` and every process carrying `marker`, reaps `leader` (our
    /// child), then reaps the killed processes as they are re-parented to us; repeats until none
    /// is left or two seconds have passed. Returns the leader's raw wait status (nil if waitpid
    /// failed).
    static func sweep(leader: pid_t, marker: String, excluding: Set<pid_t> = []) -> Int32? {
        var targets = Set(members(leader: leader, marker: marker, excluding: excluding))
        for p in targets { _ = kill(p, SIGKILL) }
        _ = kill(-leader, SIGKILL)
        var raw: Int32 = 0
        var rc: pid_t
        repeat { rc = waitpid(leader, &raw, 0) } while rc < 0 && errno == EINTR
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline {
            // Orphans re-parented to us (marked) and their descendants, also ones forked late.
            for p in members(leader: nil, marker: marker, excluding: excluding.union([leader])) where !targets.contains(p) {
                _ = kill(p, SIGKILL)
                targets.insert(p)
            }
            for p in targets {
                var status: Int32 = 0
                let r = waitpid(p, &status, WNOHANG)
                if r == p || (r < 0 && errno == ECHILD && access("/proc/\(p)", F_OK) != 0) {
                    targets.remove(p)  // reaped, or gone (reaped by someone else)
                }
            }
            if targets.isEmpty { break }
            var ts = timespec(tv_sec: 0, tv_nsec: 2_000_000)
            nanosleep(&ts, nil)
        }
        return rc == leader ? raw : nil
    }

    /// Why a child's answer cannot come although its standard output is open: a process of
    /// group `group` reads the requests (its standard input is the pipe of `input`, our write
    /// end) but has no standard output, or /dev/null, while another process of the group holds
    /// the pipe (a `/bin/sh` that did not exec the command). Linux only; nil elsewhere or when
    /// no such process is found.
    static func closedOutput(group: pid_t, input: Int32) -> String? {
        var s = stat()
        guard input >= 0, fstat(input, &s) == 0 else { return nil }
        let pipe = "pipe:[\(s.st_ino)]"
        for p in processes() where p.group == group && !p.zombie {
            guard link("/proc/\(p.pid)/fd/0") == pipe else { continue }
            let out = link("/proc/\(p.pid)/fd/1")
            guard out == nil || out == "/dev/null" else { continue }
            let name = readSmallFile("/proc/\(p.pid)/comm").map { String(decoding: $0, as: UTF8.self) }?
                .trimmingNewline ?? "?"
            let what = out == nil ? "closed" : "sent to /dev/null"
            return "process \(p.pid) (\(name)) reads the requests but its standard output is \(what), "
                + "while process \(group), the shell that started it, keeps the pipe open"
        }
        return nil
    }

    /// The target of the symbolic link `path`, nil when there is none.
    static func link(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The bytes of a small file (a `/proc` entry), read with open/read; nil when it cannot be
    /// opened.
    static func readSmallFile(_ path: String, limit: Int = 65_536) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { closeDescriptor(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: chunk[..<n])
        }
        return out
    }
}

/// A watchdog that kills a child's process group when this process dies, however it dies
/// (SIGKILL included).
///
/// It is `/bin/sh -c 'read x; kill -KILL -PGID'` in its own process group, whose standard input
/// is the read end of a pipe (the *lifeline*) whose only write end this process holds
/// (close-on-exec, so no child inherits it). When this process dies the kernel closes the write
/// end, `read` sees end of file, and the shell kills the group. On a normal end
/// ``ChildProcess/terminate(grace:)`` kills and reaps the watchdog *before* reaping the child, so
/// it can never signal a group id that has been reused.
///
/// Why not `PR_SET_PDEATHSIG`: it needs code between fork and exec (not possible with
/// `posix_spawn`, and unsafe in a multithreaded Swift process, where the child of a fork may only
/// run async-signal-safe code), it fires when the *thread* that forked exits (a worker thread
/// ending would kill the child), and it reaches only the direct child, not the processes the
/// shell command starts. The watchdog covers the whole group, on any POSIX system.
struct Watchdog {
    let pid: pid_t
    private(set) var lifeline: Int32

    /// Starts the watchdog of group `group`; nil when it cannot be started.
    static func start(group: pid_t) -> Watchdog? {
        var pipe: [Int32] = [-1, -1]
        guard makePipe(&pipe) else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Its own group: terminal signals (Ctrl-C) do not end it before it has done its job.
        let (rc, pid) = spawnShell("read x; kill -KILL -\(group)", actions: &actions, defaultSignals: [SIGPIPE, SIGTERM, SIGHUP],
                                   environment: nil)
        closeDescriptor(pipe[0])
        guard rc == 0 else {
            closeDescriptor(pipe[1])
            return nil
        }
        return Watchdog(pid: pid, lifeline: pipe[1])
    }

    /// Kills and reaps the watchdog (without it firing), and closes the lifeline.
    mutating func disarm() {
        guard lifeline >= 0 else { return }
        _ = kill(pid, SIGKILL)
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        closeDescriptor(lifeline)
        lifeline = -1
    }
}

extension String {
    var trimmingNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
