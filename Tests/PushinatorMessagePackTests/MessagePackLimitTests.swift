import NIOCore
import PushinatorMessagePack
import Testing

/// Hostile input ends in a typed error at the right offset, before any allocation it asks for.
@Suite struct MessagePackLimitTests {
    static func decode(_ hex: String, limits: MessagePackLimits = .init()) throws(MessagePackError) -> MessagePackValue {
        try MessagePackDecoder(limits: limits).decode(MessagePackVectorTests.hex(hex))
    }

    static func error(_ hex: String, limits: MessagePackLimits = .init()) -> MessagePackError? {
        do {
            _ = try decode(hex, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    @Test func declaredLengthsLargerThanTheInputAreRefused() {
        #expect(Self.error("dd ffffffff") == MessagePackError(.tooManyElements, offset: 0))
        #expect(Self.error("df ffffffff 00") == MessagePackError(.tooManyElements, offset: 0))
        #expect(Self.error("dc ffff") == MessagePackError(.declaredSizeTooLarge, offset: 0))
        #expect(Self.error("dd 000f4240 00") == MessagePackError(.declaredSizeTooLarge, offset: 0))
        #expect(Self.error("91 dc ffff") == MessagePackError(.declaredSizeTooLarge, offset: 1))
        #expect(Self.error("db ffffffff 61") == MessagePackError(.declaredSizeTooLarge, offset: 5))
        #expect(Self.error("c6 ffffffff") == MessagePackError(.declaredSizeTooLarge, offset: 5))
        #expect(Self.error("c9 ffffffff 01") == MessagePackError(.declaredSizeTooLarge, offset: 6))
        // a map of n pairs needs 2n bytes
        #expect(Self.error("82 00 00 00") == MessagePackError(.declaredSizeTooLarge, offset: 0))
    }

    @Test func truncatedInput() {
        #expect(Self.error("") == MessagePackError(.truncated, offset: 0))
        #expect(Self.error("cd 01") == MessagePackError(.truncated, offset: 1))
        #expect(Self.error("cb 0000") == MessagePackError(.truncated, offset: 1))
        #expect(Self.error("92 01") == MessagePackError(.declaredSizeTooLarge, offset: 0))
        #expect(Self.error("d4") == MessagePackError(.truncated, offset: 1))
    }

    @Test func depthLimit() throws {
        let limits = MessagePackLimits(maxDepth: 8)
        let ok = String(repeating: "91", count: 8) + "c0"
        #expect(throws: Never.self) { try Self.decode(ok, limits: limits) }
        let deep = String(repeating: "91", count: 9) + "c0"
        #expect(Self.error(deep, limits: limits) == MessagePackError(.tooDeep, offset: 8))
        // the default keeps a deep hostile document far from the stack's end
        let hostile = String(repeating: "91", count: 100_000) + "c0"
        #expect(Self.error(hostile)?.reason == .tooDeep)
    }

    @Test func sizeAndElementLimits() {
        #expect(Self.error("a4 61626364", limits: .init(maxInputSize: 4)) == MessagePackError(.inputTooLarge, offset: 0))
        #expect(Self.error("93 00 00 00", limits: .init(maxElements: 2)) == MessagePackError(.tooManyElements, offset: 0))
        #expect(Self.error("81 00 00", limits: .init(maxElements: 0)) == MessagePackError(.tooManyElements, offset: 0))
    }

    @Test func invalidBytes() {
        #expect(Self.error("c1") == MessagePackError(.invalidByte, offset: 0))
        #expect(Self.error("91 c1") == MessagePackError(.invalidByte, offset: 1))
        #expect(Self.error("a2 c328") == MessagePackError(.invalidUTF8, offset: 1))
        #expect(Self.error("c0 c0") == MessagePackError(.trailingBytes, offset: 1))
    }

    @Test func errorsDescribeThemselves() {
        #expect("\(MessagePackError(.truncated, offset: 3))" == "MessagePack: the input ends inside a value at offset 3")
    }
}
