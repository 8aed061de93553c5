import Testing

@testable import PushinatorHTTP

extension WebSocketStateMachine {
    /// A machine with its own unlimited memory budget (the shared one is left alone).
    static func make(_ policy: SlowConsumerPolicy, budget: MemoryBudget = MemoryBudget(limit: nil)) -> Self {
        Self(slowConsumerPolicy: policy, maxBufferedBytes: 1000, memoryBudget: budget)
    }
}

/// The WebSocket close handshake and output flow control, without a channel.
@Suite("WebSocket state machine")
struct WebSocketStateMachineTests {
    typealias Machine = WebSocketStateMachine

    @Test func weCloseThenThePeerAnswers() {
        var machine = Machine.make(.disconnect)
        #expect(machine.close(code: .goingAway) == .sendClose(.goingAway))
        #expect(machine.closeState == .closeSent)
        #expect(!machine.isOpen)
        #expect(machine.close(code: .normalClosure) == .none)  // one close frame
        #expect(machine.receivedClose(code: .goingAway) == .closeConnection)
    }

    @Test func thePeerClosesAndWeAnswerWithItsCode() {
        var machine = Machine.make(.disconnect)
        #expect(machine.receivedClose(code: .init(4000)) == .answerThenClose(.init(4000)))
        #expect(machine.closeState == .closeReceived)
        #expect(machine.close(code: .normalClosure) == .none)  // our answer is the close frame
        #expect(machine.receivedClose(code: nil) == .none)
    }

    @Test func peerCloseWithoutACodeIsAnsweredWith1000() {
        var machine = Machine.make(.disconnect)
        #expect(machine.receivedClose(code: nil) == .answerThenClose(.normalClosure))
    }

    @Test func closeTimerClosesOnlyAnUnfinishedHandshake() {
        var open = Machine.make(.disconnect)
        #expect(open.closeTimerFired() == false)
        var closing = Machine.make(.disconnect)
        _ = closing.close(code: .normalClosure)
        #expect(closing.closeTimerFired() == true)
        var answering = Machine.make(.disconnect)
        _ = answering.receivedClose(code: nil)
        #expect(answering.closeTimerFired() == true)
        closing.closed()
        #expect(closing.closeTimerFired() == false)
    }

    @Test func closedConnectionDoesNothingMore() {
        var machine = Machine.make(.disconnect)
        machine.closed()
        #expect(machine.close(code: .normalClosure) == .none)
        #expect(machine.receivedClose(code: nil) == .none)
        #expect(machine.admitWrite() == .drop)
        #expect(machine.writabilityChanged(false) == .none)
    }

    @Test func writesFollowTheSlowConsumerPolicy() {
        var disconnect = Machine.make(.disconnect)
        #expect(disconnect.admitWrite() == .write)
        _ = disconnect.writabilityChanged(false)
        #expect(disconnect.admitWrite() == .closeSlowConsumer)
        var drop = Machine.make(.drop)
        _ = drop.writabilityChanged(false)
        #expect(drop.admitWrite() == .drop)
        _ = drop.writabilityChanged(true)
        #expect(drop.admitWrite() == .write)
        _ = drop.close(code: .normalClosure)
        #expect(drop.admitWrite() == .drop)  // nothing after our close frame
    }

    @Test func pingsAreAnsweredOnlyWhileOpenAndWritable() {
        var machine = Machine.make(.drop)
        #expect(machine.answersPing)
        _ = machine.writabilityChanged(false)
        #expect(!machine.answersPing)
        _ = machine.writabilityChanged(true)
        _ = machine.close(code: .normalClosure)
        #expect(!machine.answersPing)
    }

    @Test func clientBehindHoldsReadsUntilItDrains() {
        var machine = Machine.make(.drop)
        #expect(machine.readRequested() == true)
        #expect(machine.writabilityChanged(false) == .startWriteTimer)
        #expect(machine.writabilityChanged(false) == .none)  // one timer
        #expect(machine.readRequested() == false)
        #expect(machine.writabilityChanged(true) == .resume(read: true))
        #expect(machine.readRequested() == true)
        #expect(machine.writabilityChanged(false) == .none)  // the timer runs from the first fall
        #expect(machine.writabilityChanged(true) == .resume(read: false))  // no read was held back
        #expect(machine.writeTimerFired() == false)  // caught up when it fired
        #expect(machine.writabilityChanged(false) == .startWriteTimer)
    }

    @Test func flappingWritabilityDoesNotRestartTheWriteTimeout() {
        var machine = Machine.make(.drop)
        #expect(machine.writabilityChanged(false) == .startWriteTimer)
        _ = machine.writabilityChanged(true)
        #expect(machine.writabilityChanged(false) == .none)
        #expect(machine.writeTimerFired() == true)
    }

    @Test func underTheDisconnectPolicyReadsGoOnUntilTheNextWriteCloses() {
        var machine = Machine.make(.disconnect)
        #expect(machine.writabilityChanged(false) == .startWriteTimer)
        #expect(machine.readRequested() == true)
        #expect(machine.admitWrite() == .closeSlowConsumer)
    }

    @Test func clientStillBehindAtTheWriteTimeoutIsClosed() {
        var machine = Machine.make(.drop)
        _ = machine.writabilityChanged(false)
        #expect(machine.writeTimerFired() == true)
        #expect(machine.writeTimerFired() == false)
    }

    @Test func closingConnectionKeepsReadingForThePeersCloseFrame() {
        var machine = Machine.make(.drop)
        _ = machine.writabilityChanged(false)
        _ = machine.close(code: .normalClosure)
        #expect(machine.readRequested() == true)
    }

    @Test func clientBehindIsChargedToTheBudgetUntilItDrains() {
        let budget = MemoryBudget(limit: 1500)
        var machine = Machine.make(.drop, budget: budget)
        _ = machine.writabilityChanged(false)
        #expect(budget.reserved == 1000)
        _ = machine.writabilityChanged(false)
        #expect(budget.reserved == 1000)  // one charge while behind
        _ = machine.writabilityChanged(true)
        #expect(budget.reserved == 0)
        var other = Machine.make(.drop, budget: budget)
        _ = machine.writabilityChanged(false)
        #expect(other.writabilityChanged(false) == .closeOverBudget)  // no room for a second client's queue
        machine.closed()
        #expect(budget.reserved == 0)
    }
}
