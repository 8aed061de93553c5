import Logging
import PushinatorCluster
@testable import PushinatorPostgres
import Testing

@Suite struct PostgresURLTests {
    @Test func parsesEveryPart() throws {
        let url = try PostgresURL("postgres://app:s%40cret@db.example:6543/push?sslmode=require")
        #expect(url.host == "db.example")
        #expect(url.port == 6543)
        #expect(url.username == "app")
        #expect(url.password == "s@cret")
        #expect(url.database == "push")
        #expect(url.sslMode == "require")
        #expect(url.description == "postgres://app@db.example:6543/push?sslmode=require")
    }

    @Test func defaultsAsLibpq() throws {
        let url = try PostgresURL("postgresql://postgres@127.0.0.1")
        #expect(url.port == 5432)
        #expect(url.database == "postgres")
        #expect(url.password == nil)
        #expect(url.sslMode == "disable")
    }

    @Test func refusesWhatIsNotAnAddressWithoutShowingThePassword() {
        #expect(throws: PostgresClusterTransportError.configuration("not a postgres:// URL: mysql://u:***@h/db")) {
            try PostgresURL("mysql://u:pw@h/db")
        }
        #expect(throws: PostgresClusterTransportError.self) { try PostgresURL("postgres:///db") }
        #expect(throws: PostgresClusterTransportError.self) { try PostgresURL("postgres://h/db") }
        #expect(throws: PostgresClusterTransportError.self) { try PostgresURL("postgres://u@h/db?sslmode=verify-full") }
    }

    @Test func tableNamesMustBeIdentifiers() throws {
        var configuration = PostgresClusterConfiguration(url: try PostgresURL("postgres://u@h/db"))
        #expect(throws: Never.self) { try configuration.validate() }
        configuration.logTable = "log; DROP TABLE x"
        #expect(throws: PostgresClusterTransportError.self) { try configuration.validate() }
        configuration.logTable = "1log"
        #expect(throws: PostgresClusterTransportError.self) { try configuration.validate() }
        configuration.logTable = "log"
        configuration.payloadThreshold = 9000
        #expect(throws: PostgresClusterTransportError.self) { try configuration.validate() }
    }

    @Test func publishingBeforeRunIsAnErrorNotAWait() async throws {
        let configuration = PostgresClusterConfiguration(url: try PostgresURL("postgres://u@127.0.0.1:1/db"))
        let transport = try PostgresClusterTransport(configuration: configuration, logger: .init(label: "test"))
        await #expect(throws: PostgresClusterTransportError.self) {
            try await transport.publish(ClusterMessage(uid: "a", nsp: "/", body: .heartbeat))
        }
    }

    @Test func channelsAreNamedAsTheNodeAdapterNamesThem() throws {
        let configuration = PostgresClusterConfiguration(url: try PostgresURL("postgres://u@h/db"))
        #expect(configuration.channel(of: "/") == "socket.io#/")
        #expect(configuration.namespace(of: "socket.io#/admin") == "/admin")
        #expect(configuration.namespace(of: "other#/") == nil)
        #expect(configuration.localUID.count == 16)
    }
}

@Suite struct ClusterLogCursorTests {
    @Test func deliversEachIdOnce() {
        var cursor = ClusterLogCursor(position: 10, window: 100)
        do { let accepted = cursor.accept(11); #expect(accepted) }
        do { let accepted = cursor.accept(11); #expect(!accepted) }
        do { let accepted = cursor.accept(13); #expect(accepted) }
        #expect(cursor.position == 13)
        // 12 committed late: a catch-up re-reads above the start position and finds it
        #expect(cursor.catchUpStart == 10)
        do { let accepted = cursor.accept(12); #expect(accepted) }
        do { let accepted = cursor.accept(13); #expect(!accepted) }
    }

    @Test func idsBelowTheStartComeOnlyByNotificationAndAreNew() {
        var cursor = ClusterLogCursor(position: 10, window: 100)
        do { let accepted = cursor.accept(5); #expect(accepted) }
        #expect(cursor.position == 10)
    }

    @Test func theSeenSetStaysBounded() {
        var cursor = ClusterLogCursor(position: 0, window: 10)
        for id in 1...1000 {
            let accepted = cursor.accept(Int64(id))
            #expect(accepted)
        }
        #expect(cursor.seen.count <= 2 * 10 + 64)
        #expect(cursor.catchUpStart == 990)
        do { let accepted = cursor.accept(995); #expect(!accepted) }
    }
}
