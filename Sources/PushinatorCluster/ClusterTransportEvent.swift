/// One thing a ``ClusterTransport`` reports.
public enum ClusterTransportEvent: Sendable {
    /// A message from another node (or from this node, for a transport that echoes: the receiver compares the uid).
    case message(ClusterMessage)
    /// The connection to the engine was lost; messages published meanwhile are caught up after ``reconnected``
    /// where the transport keeps a log.
    case disconnected(reason: String)
    /// The connection is back (the subscriptions are renewed; missed messages follow as ``message(_:)``).
    case reconnected
    /// A message on the channel was invalid and was dropped.
    case dropped(ClusterMessageError)
}
