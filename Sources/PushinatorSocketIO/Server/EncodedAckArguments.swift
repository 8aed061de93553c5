public import PushinatorJSON
import NIOCore

/// Acknowledgement arguments encoded once, for an answer a handler sends again and again
/// (``SocketIOEvent/ack(_:)-(EncodedAckArguments)``): each ack then writes the JSON text as it is, instead of
/// building the ``JSONValue`` and running the packet encoder. The client gets the same bytes either way.
///
/// ```swift
/// let accepted = EncodedAckArguments([["ok": true]])
/// chat.on("join", synchronously: { socket, event in
///     socket.join("lobby")
///     event.ack(accepted)   // 43<id>[{"ok":true}]
///     return true
/// }, handler: { _, _ in })
/// ```
public struct EncodedAckArguments: Sendable {
    /// The arguments.
    public let arguments: [JSONValue]
    /// Their JSON array text; `nil` when they hold binary values (those go through the packet encoder, which turns
    /// them into attachments).
    let text: ByteBuffer?

    /// Encodes `arguments` once.
    public init(_ arguments: [JSONValue]) {
        self.arguments = arguments
        let value = JSONValue.array(arguments)
        guard SocketIOBinary.count(in: value) == 0 else {
            text = nil
            return
        }
        var text = ByteBuffer()
        value.write(to: &text)
        self.text = text
    }
}
