import SQLiteNIO

extension SQLiteConnection {
    /// Runs one statement whose rows (if any) are not needed.
    func run(_ sql: String, _ binds: [SQLiteData] = []) async throws {
        try await query(sql, binds) { _ in }
    }
}
