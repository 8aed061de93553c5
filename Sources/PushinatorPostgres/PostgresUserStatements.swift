import NIOCore
import PostgresNIO
import PushinatorKit

/// The SQL of ``PostgresUserStore``: every statement takes its rows as arrays (`UNNEST`, `= ANY`), so a batch of
/// thousands of registrations is one statement with a fixed number of parameters. Pure: tested without a database.
struct PostgresUserStatements: Sendable {
    let schema: PostgresUserSchema

    private var users: String { schema.usersTable }
    private var queue: String { schema.queueTable }

    /// The most users read at start-up per statement.
    var loadPageSize = 100_000

    /// A page of the registered users after `lastID` (from the first without it; in the primary key's order), for the
    /// start-up read: one row
    /// `(count, last id, packed)` where packed is each user's 32-byte digest, 4-byte big-endian id length and UTF-8 id
    /// (``unpackUsers(_:)``): one value to decode instead of a row per user.
    func loadUsers(after lastID: String?) -> PostgresQuery {
        let limit = Int64(loadPageSize)
        return """
            SELECT count(*), max(id), coalesce(string_agg(digest || int4send(octet_length(convert_to(id, 'UTF8'))) || convert_to(id, 'UTF8'), ''::bytea), ''::bytea)
            FROM (
                SELECT id, digest FROM \(unescaped: users)
                WHERE octet_length(digest) = 32 AND (\(lastID)::text IS NULL OR id > \(lastID)::text)
                ORDER BY id LIMIT \(limit)
            ) page
            """
    }

    /// Inserts or replaces registrations; `rows` must not repeat an id (``deduplicated(_:)``).
    func upsertUsers(_ rows: [(String, HashDigest)]) -> PostgresQuery {
        let ids = rows.map(\.0)
        let digests = rows.map { ByteBuffer(bytes: $0.1.bytes) }
        return """
            INSERT INTO \(unescaped: users) (id, digest) SELECT * FROM UNNEST(\(ids)::text[], \(digests)::bytea[])
            ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, active_at = NOW()
            """
    }

    /// Deletes the queued messages of `ids` (before their registrations, in the same transaction).
    func deleteQueues(of ids: [String]) -> PostgresQuery {
        "DELETE FROM \(unescaped: queue) WHERE user_id = ANY(\(ids)::text[])"
    }

    /// Deletes registrations; returns the ids that were there.
    func deleteUsers(_ ids: [String]) -> PostgresQuery {
        "DELETE FROM \(unescaped: users) WHERE id = ANY(\(ids)::text[]) RETURNING id"
    }

    /// The registrations of `ids` that exist (a miss in memory, or the check after an expiry).
    func selectUsers(_ ids: [String]) -> PostgresQuery {
        "SELECT id, digest FROM \(unescaped: users) WHERE id = ANY(\(ids)::text[])"
    }

    /// Appends messages in the given order, for users still registered (another node may have removed one).
    func insertMessages(_ messages: [QueuedMessage]) -> PostgresQuery {
        let userIDs = messages.map(\.userID)
        let times = messages.map(\.enqueuedAt)
        let texts = messages.map(\.message)
        return """
            INSERT INTO \(unescaped: queue) (user_id, enqueued_at, message)
            SELECT m.user_id, m.enqueued_at, m.message
            FROM UNNEST(\(userIDs)::text[], \(times)::bigint[], \(texts)::text[]) WITH ORDINALITY AS m(user_id, enqueued_at, message, n)
            WHERE EXISTS (SELECT 1 FROM \(unescaped: users) u WHERE u.id = m.user_id)
            ORDER BY m.n
            """
    }

    /// Deletes the oldest messages of `userIDs` beyond `maxPerUser` each; returns how many went.
    func trimQueues(of userIDs: [String], maxPerUser: Int) -> PostgresQuery {
        let limit = Int64(maxPerUser)
        return """
            WITH gone AS (
                DELETE FROM \(unescaped: queue) WHERE seq IN (
                    SELECT seq FROM (
                        SELECT seq, row_number() OVER (PARTITION BY user_id ORDER BY seq DESC) AS newer
                        FROM \(unescaped: queue) WHERE user_id = ANY(\(userIDs)::text[])
                    ) ranked WHERE newer > \(limit)
                ) RETURNING 1
            ) SELECT count(*) FROM gone
            """
    }

    /// Takes the queues of `userIDs`: deletes and returns their messages (`seq, user_id, enqueued_at, message`).
    /// Row locks make it atomic across nodes: of two nodes taking one queue at once, one gets each message.
    func claimQueues(of userIDs: [String]) -> PostgresQuery {
        "DELETE FROM \(unescaped: queue) WHERE user_id = ANY(\(userIDs)::text[]) RETURNING seq, user_id, enqueued_at, message"
    }

    /// Marks users active now (they have a connection on this node), so that no node expires them.
    func touchUsers(_ ids: [String]) -> PostgresQuery {
        "UPDATE \(unescaped: users) SET active_at = NOW() WHERE id = ANY(\(ids)::text[])"
    }

    /// Deletes those of `ids` with no activity for `milliseconds`; returns their ids.
    func deleteIdleUsers(_ ids: [String], milliseconds: Int64) -> PostgresQuery {
        """
        DELETE FROM \(unescaped: users)
        WHERE id = ANY(\(ids)::text[]) AND active_at < NOW() - (\(milliseconds)::double precision / 1000) * interval '1 second'
        RETURNING id
        """
    }

    /// Deletes messages queued before `cutoff` (ms since 1970); returns how many.
    func expireMessages(before cutoff: Int64) -> PostgresQuery {
        """
        WITH gone AS (DELETE FROM \(unescaped: queue) WHERE enqueued_at < \(cutoff) RETURNING 1) SELECT count(*) FROM gone
        """
    }

    /// Deletes the oldest messages until the rest take at most `maxBytes`; returns how many went.
    func trimBytes(to maxBytes: Int) -> PostgresQuery {
        let limit = Int64(maxBytes)
        return """
            WITH gone AS (
                DELETE FROM \(unescaped: queue) WHERE seq IN (
                    SELECT seq FROM (
                        SELECT seq, sum(octet_length(message)) OVER (ORDER BY seq DESC) AS newer_bytes FROM \(unescaped: queue)
                    ) ranked WHERE newer_bytes > \(limit)
                ) RETURNING 1
            ) SELECT count(*) FROM gone
            """
    }

    /// Deletes messages whose user is no longer registered (an unregistration that raced an insert on another node).
    func deleteOrphans() -> PostgresQuery {
        "DELETE FROM \(unescaped: queue) q WHERE NOT EXISTS (SELECT 1 FROM \(unescaped: users) u WHERE u.id = q.user_id)"
    }

    /// The messages and bytes queued now, over every node.
    func queueTotals() -> PostgresQuery {
        "SELECT count(*), coalesce(sum(octet_length(message)), 0)::bigint FROM \(unescaped: queue)"
    }

    // MARK: Rows

    /// Registrations in submission order with a repeated id kept once, at its last value (one `INSERT ... ON
    /// CONFLICT` cannot touch a row twice).
    static func deduplicated(_ rows: [(String, HashDigest)]) -> [(String, HashDigest)] {
        var last: [String: Int] = [:]
        for (index, row) in rows.enumerated() { last[row.0] = index }
        return rows.enumerated().filter { last[$0.element.0] == $0.offset }.map(\.element)
    }

    /// The users of a ``loadUsers(after:)`` page; `nil` when the bytes do not have that shape.
    static func unpackUsers(_ packed: ByteBuffer) -> [(String, HashDigest)]? {
        var buffer = packed
        var users: [(String, HashDigest)] = []
        while buffer.readableBytes > 0 {
            guard let bytes = buffer.readBytes(length: 32), let digest = HashDigest(bytes: bytes),
                let length = buffer.readInteger(endianness: .big, as: Int32.self), length >= 0,
                let id = buffer.readString(length: Int(length))
            else { return nil }
            users.append((id, digest))
        }
        return users
    }

    /// A digest column; `nil` unless it holds 32 bytes.
    static func digest(_ buffer: ByteBuffer) -> HashDigest? {
        HashDigest(bytes: Array(buffer.readableBytesView))
    }

    /// Claimed rows grouped by user, each user's oldest first (`DELETE ... RETURNING` has no order).
    static func grouped(_ rows: [QueuedMessage]) -> [String: [QueuedMessage]] {
        var byUser: [String: [QueuedMessage]] = [:]
        for row in rows { byUser[row.userID, default: []].append(row) }
        for key in byUser.keys { byUser[key]?.sort { $0.sequence < $1.sequence } }
        return byUser
    }
}
