import NIOCore
import NIOEmbedded
import NIOPosix
import PushinatorEventLoop
import Testing

@Suite("Values per event loop and per thread")
struct PerLoopTests {
    private final class Made: Sendable {
        let loop: ObjectIdentifier
        init(_ loop: any EventLoop) { self.loop = ObjectIdentifier(loop) }
    }

    @Test func eachLoopGetsItsOwnValueMadeOnceOnFirstUse() async throws {
        let perLoop = PerLoop<Made> { Made($0) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (first, second) = (group.next(), group.next())
        let a = try await first.submit { ObjectIdentifier(perLoop.value(for: first)) }.get()
        let again = try await first.submit { ObjectIdentifier(perLoop.value(for: first)) }.get()
        let made = try await second.submit { perLoop.value(for: second).loop }.get()
        let b = try await second.submit { ObjectIdentifier(perLoop.value(for: second)) }.get()
        try await group.shutdownGracefully()
        #expect(a == again)
        #expect(a != b)
        #expect(made == ObjectIdentifier(second))  // made for the loop it was asked on
    }

    @Test func loopsDrivenFromOneThreadStillGetOneValueEach() {
        // embedded loops all run on the test's thread: the per-thread table holds one entry per loop
        let perLoop = PerLoop<Made> { Made($0) }
        let (first, second) = (EmbeddedEventLoop(), EmbeddedEventLoop())
        let a = perLoop.value(for: first)
        let b = perLoop.value(for: second)
        #expect(a !== b)
        #expect(a.loop == ObjectIdentifier(first))
        #expect(b.loop == ObjectIdentifier(second))
        #expect(perLoop.value(for: first) === a)
        #expect(perLoop.value(for: second) === b)
    }

    @Test func eachThreadGetsItsOwnValue() async throws {
        final class Box: Sendable {}
        let perThread = PerThread<Box> { Box() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (first, second) = (group.next(), group.next())
        let a = try await first.submit { ObjectIdentifier(perThread.currentValue) }.get()
        let again = try await first.submit { ObjectIdentifier(perThread.currentValue) }.get()
        let b = try await second.submit { ObjectIdentifier(perThread.currentValue) }.get()
        try await group.shutdownGracefully()
        #expect(a == again)
        #expect(a != b)
    }
}
