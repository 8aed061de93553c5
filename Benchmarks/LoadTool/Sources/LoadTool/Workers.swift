// Several load-tool processes (`--processes P`): the open-file limit is per process (20,000 here), and one process
// drives one core. The first process (the coordinator) registers the users, holds the first slice of the clients,
// triggers every scenario through the admin API and adds up the results; each worker holds one more slice and
// answers the coordinator over its stdin/stdout, one line per message:
//
//   coordinator -> worker            worker -> coordinator
//   CONNECT                          CONNECTED <authenticated> <end ns> <first error, or ->
//   FANOUT <broadcasts>              ARMED                       (counting from now on)
//   FANOUT-WAIT                      FANOUT <delivered> <first ns> <last ns> <distinct> <duplicates>   (all arrived or drain timeout)
//   LATENCY                          ARMED                       (recording latencies from now on)
//   LATENCY-WAIT <expected>          LATENCY <delivered> <histogram, JSON in base64> <distinct> <duplicates>
//   QUIT                             (closes its clients and exits)
//
// Times are CLOCK_MONOTONIC, which is the same clock in every process.
import Foundation
import Histogram
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The slice of the clients one process holds.
struct Slice {
    var firstUser: Int
    var count: Int

    /// `total` clients from `firstUser` on, cut into `parts` slices whose sizes differ by at most one.
    static func split(total: Int, firstUser: Int, parts: Int) -> [Slice] {
        var slices: [Slice] = []
        var next = firstUser
        for part in 0..<parts {
            let count = total / parts + (part < total % parts ? 1 : 0)
            slices.append(Slice(firstUser: next, count: count))
            next += count
        }
        return slices
    }
}

/// The worker processes of a run, seen from the coordinator.
final class WorkerPool {
    private struct Worker {
        let process: Process
        let input: FileHandle
        let output: LineReader
        let slice: Slice
    }

    private var workers: [Worker] = []

    /// Starts one worker per slice: this executable with `--worker` and the slice's options.
    init(slices: [Slice], arguments: (Slice) -> [String]) throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        for slice in slices {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments(slice)
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.standardError
            try process.run()
            workers.append(Worker(process: process, input: input.fileHandleForWriting,
                                  output: LineReader(output.fileHandleForReading.fileDescriptor), slice: slice))
        }
    }

    var pids: [Int32] { workers.map(\.process.processIdentifier) }
    var slices: [Slice] { workers.map(\.slice) }

    /// Sends `line` to every worker.
    func broadcast(_ line: String) { for index in workers.indices { send(line, to: index) } }

    /// Sends `line` to worker `index`.
    func send(_ line: String, to index: Int) {
        try? workers[index].input.write(contentsOf: Data((line + "\n").utf8))
    }

    /// The next line of every worker, split at spaces; a worker that exited answers an empty array.
    func replies() -> [[String]] {
        workers.map { worker in worker.output.readLine().map { $0.split(separator: " ").map(String.init) } ?? [] }
    }

    /// Tells every worker to stop and waits for them (bounded: a worker that hangs is killed).
    func quit() {
        broadcast("QUIT")
        for worker in workers {
            let deadline = Date().addingTimeInterval(10)
            while worker.process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if worker.process.isRunning { kill(worker.process.processIdentifier, SIGKILL) }
        }
    }
}

/// Reads lines from a file descriptor, blocking.
final class LineReader {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(_ fd: Int32) { self.fd = fd }

    /// The next line without its newline; `nil` at the end of the input.
    func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[..<count])
        }
    }
}

/// A histogram as one word (JSON in base64), for the worker protocol.
func encodeHistogram(_ histogram: Histogram<UInt64>) -> String {
    ((try? JSONEncoder().encode(histogram)) ?? Data()).base64EncodedString()
}

func decodeHistogram(_ text: String) -> Histogram<UInt64>? {
    Data(base64Encoded: text).flatMap { try? JSONDecoder().decode(Histogram<UInt64>.self, from: $0) }
}

/// Worker mode: holds `slice` and does what the coordinator asks until QUIT or the end of stdin.
func runWorker(
    host: String, clientPorts: [Int], slice: Slice, sources: Int, connectWindow: Int, transport: ConnectTransport,
    drainTimeout: Double, checkIDs: Bool
) throws {
    let stats = Stats()
    stats.checkIDs = checkIDs
    let input = LineReader(STDIN_FILENO)
    var handlers: [SocketIOClient] = []
    func reply(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
    defer { try? group.syncShutdownGracefully() }
    while let line = input.readLine() {
        let words = line.split(separator: " ").map(String.init)
        switch words.first {
        case "CONNECT":
            let connected = try connectClients(
                host: host, ports: clientPorts, slice: slice, sources: sources, window: connectWindow, transport: transport,
                stats: stats
            )
            handlers = connected.handlers
            let authenticated = try loop.submit { stats.authenticated }.wait()
            reply("CONNECTED \(authenticated) \(nowNs()) \(connected.firstError.map { $0.replacingOccurrences(of: " ", with: "_") } ?? "-")")
        case "FANOUT":
            let broadcasts = Int(words.dropFirst().first ?? "") ?? 0
            let all = loop.makePromise(of: Void.self)
            try loop.submit { stats.reset(expecting: broadcasts * stats.authenticated, promise: all) }.wait()
            reply("ARMED")
            guard input.readLine() == "FANOUT-WAIT" else { return }
            wait(for: all, seconds: drainTimeout)
            let (delivered, first, last, distinct, duplicates) = try loop.submit {
                (stats.received, stats.firstReceive, stats.lastReceive, stats.ids.count, stats.duplicates)
            }.wait()
            reply("FANOUT \(delivered) \(first) \(last) \(distinct) \(duplicates)")
        case "LATENCY":
            try loop.submit {
                stats.reset(expecting: Int.max, promise: nil)
                stats.recordLatency = true
                stats.latency.reset()
            }.wait()
            reply("ARMED")
            let next = input.readLine()?.split(separator: " ").map(String.init) ?? []
            guard next.first == "LATENCY-WAIT", let expected = next.dropFirst().first.flatMap({ Int($0) }) else { return }
            let all = loop.makePromise(of: Void.self)
            try loop.submit {
                stats.expected = expected
                if stats.received >= expected { all.succeed(()) } else { stats.expectation = all }
            }.wait()
            wait(for: all, seconds: 10)
            let (delivered, histogram, distinct, duplicates) = try loop.submit { () -> (Int, Histogram<UInt64>, Int, Int) in
                stats.recordLatency = false
                return (stats.received, stats.latency, stats.ids.count, stats.duplicates)
            }.wait()
            reply("LATENCY \(delivered) \(encodeHistogram(histogram)) \(distinct) \(duplicates)")
        case "QUIT":
            try loop.submit { for handler in handlers { handler.channel?.close(promise: nil) } }.wait()
            return
        default:
            log("worker: unknown command \(line)")
        }
    }
}
