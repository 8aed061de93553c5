/// Why a message was not published.
public enum SocketIOClusterError: Error, Sendable, Hashable {
    /// ``SocketIOCluster/Configuration/maxPendingPublishes`` messages were already waiting.
    case queueFull
    /// The server was stopping: the message came after the last publish.
    case stopped
}
