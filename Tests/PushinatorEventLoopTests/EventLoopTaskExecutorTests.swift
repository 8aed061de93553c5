import NIOCore
import NIOPosix
import PushinatorEventLoop
import Testing

@Suite("Event-loop task executor")
struct EventLoopTaskExecutorTests {
    @Test func aTaskThatPrefersTheExecutorRunsAndResumesOnItsLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (loop, other) = (group.next(), group.next())
        let executor = try await loop.submit { EventLoopTaskExecutor.current(on: loop) }.get()
        #expect(executor.eventLoop === loop)
        let onLoop = try await Task(executorPreference: executor) {
            var seen = [loop.inEventLoop]
            // a suspension on another loop's future: the task resumes on its own loop, not on the global pool
            _ = try await other.submit { other.inEventLoop }.get()
            seen.append(loop.inEventLoop)
            await Task.yield()
            seen.append(loop.inEventLoop)
            return seen
        }.value
        try await group.shutdownGracefully()
        #expect(onLoop == [true, true, true])
    }

    @Test func childTasksInheritTheLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let executor = try await loop.submit { EventLoopTaskExecutor.current(on: loop) }.get()
        let children = await Task(executorPreference: executor) {
            await withTaskGroup(of: Bool.self) { tasks in
                for _ in 0..<4 { tasks.addTask { loop.inEventLoop } }
                return await tasks.reduce(into: [Bool]()) { $0.append($1) }
            }
        }.value
        try await group.shutdownGracefully()
        #expect(children == [true, true, true, true])
    }

    @Test func oneExecutorPerLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (first, second) = (group.next(), group.next())
        let a = try await first.submit { ObjectIdentifier(EventLoopTaskExecutor.current(on: first)) }.get()
        let again = try await first.submit { ObjectIdentifier(EventLoopTaskExecutor.current(on: first)) }.get()
        let b = try await second.submit { ObjectIdentifier(EventLoopTaskExecutor.current(on: second)) }.get()
        try await group.shutdownGracefully()
        #expect(a == again)
        #expect(a != b)
    }

    @Test func preferredOnlyOnTheLoopItself() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let onLoop = try await loop.submit { EventLoopTaskExecutor.preferred(for: loop).map(ObjectIdentifier.init) }.get()
        let current = try await loop.submit { ObjectIdentifier(EventLoopTaskExecutor.current(on: loop)) }.get()
        let offLoop = EventLoopTaskExecutor.preferred(for: loop)  // the test's thread: no preference
        try await group.shutdownGracefully()
        #expect(onLoop == current)
        #expect(offLoop == nil)
    }
}
