#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AccuracyHarness
import Dispatch
import SoftmaxOracle
import Synchronization
import Testing
@testable import ExternalImplementations

@Suite("A process speaking JSON Lines")
struct ProcessImplementationTests {
    @Test("Answers in every accepted form are read exactly; an error answer is unsupported")
    func correct() throws {
        let command = Scripts.numbered("forms.sh", """
            if [ $n -eq 1 ]; then printf '{"id":%s,"values":["0x1.8p+1","-inf","nan","1e-310",0.1,"inf"],"time_ms":3}\\n' "$id"
            else printf '{"id":%s,"error":"probability targets not supported"}\\n' "$id"; fi
            """)
        let p = try ProcessImplementation(command: command, name: "forms", options: testOptions())
        let six = OracleRequest(function: .softmax, format: .f64, logits: [1, 2, 3, 4, 5, 6])
        let values = try p.evaluate(six)
        #expect(values.count == 6)
        #expect(values[0] == 3 && values[1] == -.infinity && values[2].isNaN)
        #expect(values[3] == Double("1e-310")! && values[4] == 0.1 && values[5] == .infinity)
        #expect(thrownMessage { _ = try p.evaluate(softmax2) } == "unsupported: probability targets not supported")
        #expect(p.failure == nil && p.requestCount == 2)
        #expect(p.close() == .exited(0))
        #expect(isReaped(p.processID))
    }

    @Test("Requests from many threads are serialized and each gets its own answer", needsPython3)
    func threads() throws {
        let p = try ProcessImplementation(command: Scripts.echo, name: "echo", options: testOptions())
        let mismatches = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 40) { i in
            let logits = (0...(i % 7)).map { Double($0) + Double(i) / 64 }
            let r = OracleRequest(function: .softmax, format: .f64, logits: logits)
            if (try? p.evaluate(r)) != logits { mismatches.add(1, ordering: .relaxed) }
        }
        #expect(mismatches.load(ordering: .relaxed) == 0)
        #expect(p.requestCount == 40)
        #expect(p.close() == .exited(0))
        #expect(isReaped(p.processID))
    }

    @Test("A process that hangs times out within the timeout, is killed with its group, and reaped")
    func hang() throws {
        let pidFile = Scripts.directory.appendingPathComponent("grandchild.pid").path
        let command = Scripts.command("hang.sh", """
            sleep 1000 &
            echo $! > '\(pidFile)'
            IFS= read -r line
            \(Scripts.readID)
            printf '{"id":%s,"values":["0x1p-1","0x1p-1"]}\\n' "$id"
            IFS= read -r line
            sleep 1000
            """)
        let p = try ProcessImplementation(command: command, name: "hang", options: testOptions(timeout: 0.5))
        #expect(try p.evaluate(softmax2) == [0.5, 0.5])
        let start = ContinuousClock.now
        let message = thrownMessage { _ = try p.evaluate(OracleRequest(function: .logSoftmax, format: .f64, logits: [3, 4, 5])) }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(3), "took \(elapsed)")
        #expect(message.contains("gave no answer within 0.5 s (timed out; its process group was killed)"), "\(message)")
        #expect(message.contains("on request id 2 (log_softmax, f64, K = 3)"), "\(message)")
        #expect(message.contains(#""function":"log_softmax""#), "\(message)")
        #expect(isReaped(p.processID))
        let grandchild = Int32((try? String(contentsOfFile: pidFile, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        // SIGKILL reached it with the group; its death is asynchronous (it is not our child to wait for).
        let deadline = ContinuousClock.now + .seconds(2)
        while grandchild > 0 && !isNotRunning(grandchild) && ContinuousClock.now < deadline { usleep(10_000) }
        #expect(grandchild > 0 && isNotRunning(grandchild), "the background sleep \(grandchild) survived")
        // Later requests fail at once, with the same reason.
        let again = ContinuousClock.now
        #expect(thrownMessage { _ = try p.evaluate(softmax2) } == "failed: " + (p.failure?.description ?? "?"))
        #expect(ContinuousClock.now - again < .milliseconds(100))
        if case .timeout? = p.failure?.kind {} else { Issue.record("kind \(String(describing: p.failure?.kind))") }
    }

    @Test("A child that never reads cannot block a large write: the write times out too")
    func neverReads() throws {
        let p = try ProcessImplementation(command: "exec sleep 1000", name: "deaf", options: testOptions(timeout: 0.5))
        let big = OracleRequest(function: .softmax, format: .f64, logits: (0..<100_000).map { Double($0) / 3 })
        let start = ContinuousClock.now
        let message = thrownMessage { _ = try p.evaluate(big) }
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(message.contains("timed out") && message.contains("K = 100000"), "\(message)")
        #expect(isReaped(p.processID))
    }

    @Test("A crash mid-stream names the signal and the request; later requests fail fast")
    func crash() throws {
        let command = Scripts.numbered("crash.sh", """
            if [ $n -eq 3 ]; then echo "about to crash" >&2; kill -SEGV $$; fi
            printf '{"id":%s,"values":["0x1p+0"]}\\n' "$id"
            """)
        let p = try ProcessImplementation(command: command, name: "crash", options: testOptions())
        let lse = OracleRequest(function: .logsumexp, format: .f32, logits: [0, 1, 2, 3])
        #expect(try p.evaluate(lse) == [1])
        #expect(try p.evaluate(lse) == [1])
        let message = thrownMessage { _ = try p.evaluate(lse) }
        // The script runs under a second shell, which reports the signal as status 128 + 11.
        #expect(message.contains("signal 11 (SIGSEGV)"), "\(message)")
        #expect(message.contains("before answering on request id 3 (logsumexp, f32, K = 4)"), "\(message)")
        #expect(message.contains("about to crash"), "standard error tail missing: \(message)")
        #expect([.exited(.signaled(SIGSEGV)), .exited(.exited(128 + SIGSEGV))].contains(p.failure?.kind))
        let direct = try ProcessImplementation(command: "read line; kill -SEGV $$", name: "segv", options: testOptions())
        #expect(thrownMessage { _ = try direct.evaluate(lse) }.contains("killed by signal 11 (SIGSEGV) before answering on request id 1"))
        #expect(isReaped(direct.processID))
        #expect(isReaped(p.processID))
        #expect(thrownMessage { _ = try p.evaluate(lse) }.contains("on request id 3"))
    }

    @Test("An exit status is reported; a command that does not exist is status 127")
    func exits() throws {
        let p = try ProcessImplementation(command: "read line; exit 3", name: "exit3", options: testOptions())
        #expect(thrownMessage { _ = try p.evaluate(softmax2) }.contains("exited with status 3 before answering on request id 1"))
        let q = try ProcessImplementation(command: "no-such-command-softmax-oracle", name: "missing", options: testOptions())
        let message = thrownMessage { _ = try q.evaluate(softmax2) }
        #expect(message.contains("exited with status 127") && message.contains("not found"), "\(message)")
        #expect(isReaped(p.processID) && isReaped(q.processID))
    }

    @Test("Wrong id, wrong count, garbage, closed output: protocol failures naming the request")
    func protocolErrors() throws {
        let cases: [(String, String, String)] = [
            ("wrong-id", #"IFS= read -r line; printf '{"id":7,"values":["0x1p-1","0x1p-1"]}\n'; sleep 5"#,
             "answered with id 7, expected 1"),
            ("wrong-count", #"IFS= read -r line; printf '{"id":1,"values":["0x1p-1"]}\n'; sleep 5"#,
             "answered with 1 value, expected 2"),
            ("garbage", #"IFS= read -r line; echo '{Traceback: oops'; sleep 5"#,
             "answered with a line that is not a result (invalid JSON at byte 1"),
            ("bad-value", #"IFS= read -r line; printf '{"id":1,"values":["0x1p-1","half"]}\n'; sleep 5"#,
             #"field "values[1]""#),
            ("closed", #"IFS= read -r line; exec >&-; exec sleep 5"#,
             "closed its standard output without exiting (it was killed)"),
        ]
        for (name, script, expected) in cases {
            let p = try ProcessImplementation(command: script, name: name, options: testOptions())
            let message = thrownMessage { _ = try p.evaluate(softmax2) }
            #expect(message.contains(expected), "\(name): \(message)")
            #expect(message.contains("on request id 1 (softmax, f32, K = 2)"), "\(name): \(message)")
            #expect(p.failure != nil, "\(name)")
            #expect(isReaped(p.processID), "\(name)")
        }
    }

    @Test("close() ends a child that ignores EOF and SIGTERM with SIGKILL, and reaps it; deinit closes", needsPython3)
    func closing() throws {
        let p = try ProcessImplementation(command: "trap '' TERM; exec sleep 1000", name: "stubborn",
                                          options: .init(standardError: .discard, closeGracePeriod: 0.1))
        let start = ContinuousClock.now
        #expect(p.close() == .signaled(SIGKILL))
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(isReaped(p.processID))
        #expect(p.close() == .signaled(SIGKILL))  // idempotent
        #expect(thrownMessage { _ = try p.evaluate(softmax2) }.contains("was closed"))

        var pid: Int32 = 0
        do {
            let q = try ProcessImplementation(command: Scripts.echo, options: testOptions())
            pid = q.processID
            #expect(try q.evaluate(softmax2) == [1, 2])
        }
        #expect(isReaped(pid))
    }

    @Test("Default names come from the command")
    func names() {
        #expect(ProcessImplementation.defaultName(for: "python3 Examples/adapters/scipy_special.py") == "scipy_special")
        #expect(ProcessImplementation.defaultName(for: "./build/my_softmax --fast") == "my_softmax")
        #expect(ProcessImplementation.defaultName(for: "python3 '/tmp/x y/torch_nn.py'") == "torch_nn")
        #expect(ProcessImplementation.defaultName(for: "exec sleep 100") == "sleep")
        #expect(ProcessImplementation.defaultName(for: "OMP_NUM_THREADS=1 my_impl -v") == "my_impl")
        #expect(ProcessImplementation.defaultName(for: "") == "process")
    }

    @Test("Nested answers (N rows, as eval writes a batch's) are read row-major")
    func nestedAnswers() throws {
        let command = Scripts.numbered("nested.sh", """
            printf '{"id":%s,"values":[["0x1p+0","2"],[3,"-inf"]]}\\n' "$id"
            """)
        let p = try ProcessImplementation(command: command, name: "nested", options: testOptions())
        let grad = OracleRequest(function: .crossEntropyLossBackward, batch: [[1, 2], [3, 4]], batchTargets: .indices([0, 1]))
        #expect(try p.evaluate(grad) == [1, 2, 3, -.infinity])
        var m = OracleRequest(function: .linearCrossEntropyGradHidden)
        m.linear = LinearCrossEntropyInputs(hidden: [[1, 2], [3, 4]], weight: [[1, 0], [0, 1]], targets: [0, 1])
        #expect(try p.evaluate(m) == [1, 2, 3, -.infinity])  // N × d = 2 × 2
        #expect(p.close() == .exited(0))
    }

    @Test("Expected output counts follow the oracle")
    func counts() {
        #expect(ExpectedOutputs.count(for: OracleRequest(function: .logsumexp, logits: [1, 2, 3])) == 1)
        #expect(ExpectedOutputs.count(for: OracleRequest(function: .softplus, logits: [1, 2, 3])) == 3)
        let batch = OracleRequest(function: .crossEntropyLoss, batch: [[1, 2], [3, 4]], batchTargets: .indices([0, 1]),
                                  reduction: .none)
        #expect(ExpectedOutputs.count(for: batch) == 2)
        var summed = batch
        summed.reduction = .sum
        #expect(ExpectedOutputs.count(for: summed) == 1)
    }
}
