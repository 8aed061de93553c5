import NIOCore
@testable import PushinatorEventLoop
import Testing

@Suite("Event-loop thread count")
struct EventLoopThreadsTests {
    @Test(arguments: [
        ("Name:\tx\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n", 2),
        ("Cpus_allowed:\t1\n", 1),
        ("Cpus_allowed:\tff,ffffffff\n", 40),  // 40 processors: two 32-bit words
        ("Cpus_allowed:\t00000000,00000100\n", 1),
    ])
    func countsTheProcessorsOfTheAffinityMask(status: String, expected: Int) {
        #expect(EventLoopThreads.allowedProcessors(status: status) == expected)
    }

    @Test func noMaskOrAnUnreadableOneIsUnknown() {
        #expect(EventLoopThreads.allowedProcessors(status: nil) == nil)
        #expect(EventLoopThreads.allowedProcessors(status: "Name:\tx\n") == nil)
        #expect(EventLoopThreads.allowedProcessors(status: "Cpus_allowed:\tzz\n") == nil)
    }

    @Test func thisProcessHasAtLeastOneAndAtMostEveryCore() {
        #expect((1...System.coreCount).contains(EventLoopThreads.available))
    }
}
