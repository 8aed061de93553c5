/// What happens to a client that does not read fast enough.
public struct SlowConsumerPolicy: Sendable, Hashable {
    enum Kind: Sendable, Hashable { case disconnect, drop }
    let kind: Kind

    /// Close the connection (code 1008 for WebSockets). The default: memory stays bounded and the client
    /// reconnects and catches up.
    public static var disconnect: Self { .init(kind: .disconnect) }
    /// Drop the messages that do not fit; the connection stays open.
    public static var drop: Self { .init(kind: .drop) }
}
