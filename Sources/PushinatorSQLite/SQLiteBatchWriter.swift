import Logging
import PushinatorKit
import SQLiteNIO

/// One change to the SQLite user store.
enum StoreOperation: Sendable {
    case upsertUser(String, HashDigest)
    case deleteUsers([String])
    case insertMessages([QueuedMessage])
    case deleteMessages([Int64])
}

/// Writes store operations to SQLite, grouping whatever is pending into one transaction.
///
/// Callers submit and await the returned completion; a ``BatchWriter`` runs one transaction at a time:
/// `BEGIN IMMEDIATE`, every pending operation (consecutive ones of a kind as one multi-row statement), `COMMIT`. A
/// burst of 1,000 registrations is then one transaction and one fsync instead of 1,000. Each write's `committed`
/// closure runs in submission order right after its transaction ends (with `true` or `false`), before its
/// completion is resolved, so the store's memory follows the database in the same order.
final class SQLiteBatchWriter: Sendable {
    /// The most writes waiting for a transaction; more are refused (the admin call gets a 503).
    static let maxPending = 100_000
    /// The most writes grouped into one transaction.
    static let maxBatch = 4_096
    /// The most rows per multi-row statement.
    static let rowsPerStatement = 500

    private let connection: SQLiteConnection
    private let logger: Logger
    /// The pending writes (each a list of operations) and the drain loop, a transaction per batch.
    private let batches = BatchWriter<[StoreOperation], Void>(maxPending: SQLiteBatchWriter.maxPending, maxBatch: SQLiteBatchWriter.maxBatch)

    init(connection: SQLiteConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
        batches.start { [weak self] writes in
            guard let self else { return .failure(UserStoreError("the user store is closed")) }
            if let failure = await write(writes.flatMap { $0 }) { return .failure(failure) }
            return .success(Array(repeating: (), count: writes.count))
        }
    }

    /// Queues `operations` for the next transaction.
    ///
    /// - Parameter committed: runs in submission order once the transaction ended (`true`: committed), before the
    ///   completion is resolved; also (with `false`) when too many writes are pending.
    @discardableResult
    func submit(_ operations: [StoreOperation], committed: @escaping @Sendable (Bool) -> Void = { _ in }) -> WriteCompletion {
        let completion = WriteCompletion()
        batches.submit(operations) { result in
            switch result {
            case .success:
                committed(true)
                completion.succeed()
            case .failure(let error):
                committed(false)
                completion.fail(error)
            }
        }
        return completion
    }

    /// Returns once every write submitted before is finished.
    func flush() async {
        await batches.flush()
    }

    /// Runs one transaction; returns the error that rolled it back, if any.
    private func write(_ operations: [StoreOperation]) async -> UserStoreError? {
        do {
            try await connection.run("BEGIN IMMEDIATE")
            do {
                for statement in Self.statements(for: operations) {
                    try await connection.run(statement.sql, statement.binds)
                }
                try await connection.run("COMMIT")
            } catch {
                _ = try? await connection.run("ROLLBACK")
                throw error
            }
            return nil
        } catch {
            logger.error(
                "user store write failed; nothing of it was stored",
                metadata: ["store.operations": "\(operations.count)", "error.message": "\(error)"]
            )
            return UserStoreError("the user store could not write: \(SQLiteUserStore.reason(error))")
        }
    }

    /// The statements for `operations`: consecutive operations of one kind become multi-row statements.
    static func statements(for operations: [StoreOperation]) -> [(sql: String, binds: [SQLiteData])] {
        var statements: [(sql: String, binds: [SQLiteData])] = []
        var index = 0
        while index < operations.count {
            switch operations[index] {
            case .upsertUser:
                var rows: [(String, HashDigest)] = []
                while index < operations.count, case .upsertUser(let id, let digest) = operations[index] {
                    rows.append((id, digest))
                    index += 1
                }
                for chunk in rows.chunked(Self.rowsPerStatement) {
                    let values = Array(repeating: "(?,?)", count: chunk.count).joined(separator: ",")
                    statements.append((
                        "INSERT INTO users(id, digest) VALUES \(values) ON CONFLICT(id) DO UPDATE SET digest = excluded.digest",
                        chunk.flatMap { [.text($0.0), .blob(ByteBuffer(bytes: $0.1.bytes))] }
                    ))
                }
            case .deleteUsers:
                var ids: [String] = []
                while index < operations.count, case .deleteUsers(let more) = operations[index] {
                    ids += more
                    index += 1
                }
                for chunk in ids.chunked(Self.rowsPerStatement) {
                    let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                    let binds = chunk.map { SQLiteData.text($0) }
                    statements.append(("DELETE FROM queue WHERE user_id IN (\(marks))", binds))
                    statements.append(("DELETE FROM users WHERE id IN (\(marks))", binds))
                }
            case .insertMessages:
                var messages: [QueuedMessage] = []
                while index < operations.count, case .insertMessages(let more) = operations[index] {
                    messages += more
                    index += 1
                }
                for chunk in messages.chunked(Self.rowsPerStatement) {
                    let values = Array(repeating: "(?,?,?,?)", count: chunk.count).joined(separator: ",")
                    statements.append((
                        "INSERT OR REPLACE INTO queue(seq, user_id, enqueued_at, message) VALUES \(values)",
                        chunk.flatMap { [.integer(SQLiteInt64($0.sequence)), .text($0.userID), .integer(SQLiteInt64($0.enqueuedAt)), .text($0.message)] }
                    ))
                }
            case .deleteMessages:
                var sequences: [Int64] = []
                while index < operations.count, case .deleteMessages(let more) = operations[index] {
                    sequences += more
                    index += 1
                }
                for chunk in sequences.chunked(Self.rowsPerStatement) {
                    let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                    statements.append(("DELETE FROM queue WHERE seq IN (\(marks))", chunk.map { .integer(SQLiteInt64($0)) }))
                }
            }
        }
        return statements
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    fileprivate func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
