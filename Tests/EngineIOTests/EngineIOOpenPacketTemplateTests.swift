@testable import EngineIO
import HTTPTypes
import NIOCore
import PushinatorHTTP
import Testing

/// The server renders the open packet from a template once per configuration: it must give the bytes the state
/// machine's own encoder gives, and leave ids that need escaping to it.
@Suite("Engine.IO open packet template")
struct EngineIOOpenPacketTemplateTests {
    private typealias Machine = EngineIOSessionStateMachine<WebSocketConnection>

    private static let configurations = [
        EngineIOConfiguration(),
        EngineIOConfiguration(pingInterval: .milliseconds(300), pingTimeout: .milliseconds(200), maxPayload: 7),
        EngineIOConfiguration(pingInterval: .seconds(3600), pingTimeout: .milliseconds(1), maxPayload: Int.max),
    ]

    @Test(arguments: configurations)
    func sameBytesAsTheEncoder(configuration: EngineIOConfiguration) throws {
        let settings = Machine.Configuration(configuration, version: .v4)
        let template = EngineIOOpenPacketTemplate(
            pingInterval: settings.pingInterval,
            pingTimeout: settings.pingTimeout,
            maxPayload: settings.maxPayload
        )
        for sid in [RandomIdentifier.make(), "Qx3a-_09AZaz", "", "abc"] {
            for upgrades in [true, false] {
                let fast = try #require(template.packet(sid: sid, upgrades: upgrades))
                let reference = Machine.openPacket(sid: sid, upgrades: upgrades, configuration: settings)
                #expect(text(of: fast) == text(of: reference))
                #expect(fast.frame == reference.frame)
            }
        }
    }

    @Test func idsThatNeedEscapingAreLeftToTheEncoder() {
        let template = EngineIOOpenPacketTemplate(pingInterval: .seconds(25), pingTimeout: .seconds(20), maxPayload: 1)
        for sid in ["quote\"", "back\\slash", "slash/", "tab\t", "é", "\u{7F}"] {
            #expect(template.packet(sid: sid, upgrades: false) == nil)
        }
    }

    private func text(of packet: EngineIOEncodedPacket) -> String {
        guard case .text(let buffer) = packet.kind else { return "<binary>" }
        return String(buffer: buffer)
    }
}

/// `respondSynchronously` and `respond` read the `Upgrade` field without the joined string of the subscript: the
/// answers must be the subscript's.
@Suite("Engine.IO Upgrade field")
struct EngineIOUpgradeFieldTests {
    @Test(arguments: [
        [],
        ["websocket"],
        ["WebSocket"],
        ["WEBSOCKET"],
        ["websocket "],
        ["websockets"],
        ["h2c"],
        [""],
        ["websoc\u{212A}et"],  // the Kelvin sign lowercases to "k"
        ["websocket", "websocket"],
        ["websocket", "h2c"],
    ] as [[String]])
    func sameAnswersAsTheSubscript(values: [String]) {
        var headers: HTTPFields = [.accept: "*/*", .connection: "Upgrade"]
        for value in values { headers.append(HTTPField(name: .upgrade, value: value)) }
        let field = EngineIOServer.upgradeField(of: headers)
        #expect(field.isPresent == (headers[.upgrade] != nil))
        #expect(field.isWebSocket == (headers[.upgrade]?.lowercased() == "websocket"))
    }
}
