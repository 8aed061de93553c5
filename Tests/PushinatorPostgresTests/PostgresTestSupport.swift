import Foundation
import Logging
import PostgresNIO
import PushinatorCluster
@testable import PushinatorPostgres
import Synchronization
import Testing

/// The throwaway server scripts/with-postgres.sh starts for the test command.
enum TestDatabase {
    static let url = ProcessInfo.processInfo.environment["PUSHINATOR_TEST_POSTGRES_URL"]
    static var available: Bool { url != nil }

    /// A configuration on its own channel prefix, so that tests running at once do not hear each other.
    static func configuration(nodeName: String? = nil, prefix: String = "t\(UInt32.random(in: 0...UInt32.max))")
        throws -> PostgresClusterConfiguration
    {
        var configuration = PostgresClusterConfiguration(url: try PostgresURL(url!), channelPrefix: prefix, nodeName: nodeName)
        configuration.reconnectDelay = .milliseconds(50)
        configuration.maxReconnectDelay = .milliseconds(200)
        return configuration
    }

    static let logger = Logger(label: "test.postgres")

    /// Runs one statement on a connection of its own.
    static func execute(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let connection = try await PostgresConnection.connect(
            configuration: try PostgresURL(url!).connectionConfiguration(),
            id: 99,
            logger: logger
        )
        defer { Task { try? await connection.close() } }
        var rows: [PostgresRow] = []
        for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
        return rows
    }

    /// Runs Python (psycopg, msgpack) with the database URL in `PGURL`; returns its standard output.
    static func python(_ script: String, arguments: [String] = []) async throws -> String {
        try await offThePool { try pythonBlocking(script, arguments: arguments) }
    }

    private static func pythonBlocking(_ script: String, arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PGURL"] = url!
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw PostgresClusterTransportError.database("python exited \(process.terminationStatus): \(errorText)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

/// A transport running in a task, with the events it reported collected for the test to wait on.
final class RunningTransport: Sendable {
    let transport: PostgresClusterTransport
    private let collected = Mutex<[ClusterTransportEvent]>([])
    private let tasks = Mutex<[Task<Void, Never>]>([])
    let runError = Mutex<(any Error)?>(nil)

    init(_ configuration: PostgresClusterConfiguration, namespaces: [String] = ["/"]) async throws {
        transport = try PostgresClusterTransport(configuration: configuration, logger: TestDatabase.logger)
        for namespace in namespaces { try await transport.subscribe(namespace: namespace) }
        let transport = transport
        let runner = Task {
            do { try await transport.run() } catch { self.runError.withLock { $0 = error } }
        }
        let reader = Task {
            for await event in transport.events { self.collected.withLock { $0.append(event) } }
        }
        tasks.withLock { $0 = [runner, reader] }
        try await waitFor("listening on \(namespaces)") { Set(namespaces).isSubset(of: transport.listeningNamespaces) }
    }

    var events: [ClusterTransportEvent] { collected.withLock { $0 } }

    var messages: [ClusterMessage] {
        events.compactMap { if case .message(let message) = $0 { message } else { nil } }
    }

    var dropped: [ClusterMessageError] {
        events.compactMap { if case .dropped(let error) = $0 { error } else { nil } }
    }

    func stop() async {
        let tasks = tasks.withLock { $0 }
        tasks[0].cancel()
        await tasks[0].value
        await tasks[1].value
    }

    /// Waits (at most 20 s, checking every 10 ms) until `condition` holds.
    func waitFor(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<2000 {
            if condition() { return }
            if let error = runError.withLock({ $0 }) { throw error }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }
}

/// Runs blocking work (reading a child process's output) on a thread of its own, so that it does not hold one of
/// the few cooperative threads the transport's tasks run on.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}
