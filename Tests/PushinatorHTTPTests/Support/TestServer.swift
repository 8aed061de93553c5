import Foundation
import Logging
import NIOCore
import NIOPosix
import PushinatorHTTP
import ServiceLifecycle
import Testing

/// Errors of the test helpers.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `operation`, failing with a timeout error after `seconds`.
func withTimeout<T: Sendable>(
    _ seconds: Double,
    _ what: String = "operation",
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TestFailure("\(what) timed out after \(seconds) s")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// A live server on 127.0.0.1 with an OS-assigned port.
struct TestServer: Sendable {
    let server: HTTPServer
    let group: ServiceGroup
    let port: Int

    var url: String { "http://127.0.0.1:\(port)" }

    /// Triggers graceful shutdown (the server stops accepting and drains).
    func shutdown() async { await group.triggerGracefulShutdown() }

    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    /// Starts a server with `responder`, runs `body`, then shuts the server down and waits (bounded) until it
    /// stopped.
    static func with(
        _ responder: any HTTPResponder,
        configuration: HTTPServerConfiguration = .init(),
        security: (any ListenerSecurity)? = nil,
        logger: Logger = TestServer.logger,
        _ body: (TestServer) async throws -> Void
    ) async throws {
        let server = HTTPServer(
            responder: responder,
            listeners: [Listener(.hostname("127.0.0.1", port: 0), security: security)],
            configuration: configuration,
            logger: logger
        )
        let group = ServiceGroup(services: [server], logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var failure: (any Error)?
            do {
                let addresses = try await withTimeout(10, "listening") { await server.listeningAddresses }
                try await body(TestServer(server: server, group: group, port: addresses[0].port!))
            } catch {
                failure = error
            }
            await group.triggerGracefulShutdown()
            // Bounded wait for the server to stop: the first of the two tasks to finish decides.
            tasks.addTask {
                try await Task.sleep(for: .seconds(15))
                throw TestFailure("server did not shut down within 15 s")
            }
            defer { tasks.cancelAll() }
            try await tasks.next()
            if let failure { throw failure }
        }
    }
}

/// The output of a finished process.
struct ProcessOutput {
    var status: Int32
    var stdout: Data
    var stderr: String
    var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs an executable from `PATH` with a bounded wait (the process is killed past `timeout`).
func run(_ executable: String, _ arguments: [String], timeout: Double = 20) async throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [executable] + arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = Task.detached { out.fileHandleForReading.readDataToEndOfFile() }
    let errData = Task.detached { err.fileHandleForReading.readDataToEndOfFile() }
    let deadline = ContinuousClock.now + .seconds(timeout)
    while process.isRunning {
        if ContinuousClock.now > deadline {
            process.terminate()
            throw TestFailure("\(executable) did not finish within \(timeout) s")
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    return ProcessOutput(
        status: process.terminationStatus,
        stdout: await outData.value,
        stderr: String(decoding: await errData.value, as: UTF8.self)
    )
}

/// Polls `condition` until it holds, failing after `seconds`.
func waitUntil(_ what: String, seconds: Double = 5, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while !condition() {
        if ContinuousClock.now > deadline { throw TestFailure("timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(5))
    }
}
