public import EngineIO
import PushinatorJSON

/// A broadcast event kept for recovery, in its wire form with its offset as the last argument.
public struct RecordedPacket: Sendable {
    /// The sequence number the offset stands for.
    public let sequence: UInt64
    /// The rooms it was sent to (everyone when empty).
    public let rooms: Set<String>
    /// The rooms left out (the sender's own room for `socket.broadcast`).
    public let except: Set<String>
    /// The Engine.IO packets: the Socket.IO text packet, then its binary attachments.
    public let packets: [EngineIOEncodedPacket]
    /// The bytes the packets take.
    public let byteCount: Int
    /// When it was sent.
    public let time: ContinuousClock.Instant
    /// Where it came from when another node of a cluster published it; `nil` for this node's own events.
    public let origin: RecordOrigin?

    /// Creates a record.
    public init(
        sequence: UInt64,
        rooms: Set<String>,
        except: Set<String>,
        packets: [EngineIOEncodedPacket],
        byteCount: Int,
        time: ContinuousClock.Instant,
        origin: RecordOrigin? = nil
    ) {
        self.sequence = sequence
        self.rooms = rooms
        self.except = except
        self.packets = packets
        self.byteCount = byteCount
        self.time = time
        self.origin = origin
    }

    /// Whether a socket in `socketRooms` would have received it (as socket.io's `shouldIncludePacket`).
    public func reaches(_ socketRooms: Set<String>) -> Bool {
        let included = rooms.isEmpty || !rooms.isDisjoint(with: socketRooms)
        return included && except.isDisjoint(with: socketRooms)
    }
}
