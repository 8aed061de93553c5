import EngineIO
import Logging
import NIOCore
import PushinatorCluster
import PushinatorJSON

extension ClusterAdapter {
    /// Applies a message from another server (or an emitter) to this server's sockets, answering the requests.
    func apply(_ message: ClusterMessage) {
        switch message.body {
        case .broadcast(let json, let options, let requestId):
            guard let packet = ClusterPacketCoding.event(from: json, namespace: namespace) else {
                cluster.logger.warning("cluster broadcast without an event packet dropped", metadata: ["cluster.uid": "\(message.uid)"])
                return
            }
            let target = ClusterPacketCoding.target(of: options)
            if let requestId {
                let timeout = Duration.milliseconds(options.flags.timeout ?? 5_000)
                broadcastWithAckLocally(packet, to: target, requestId: requestId, timeout: timeout)
            } else {
                _ = local.record(packet, to: target, flags: ClusterPacketCoding.flags(of: options), origin: Self.origin(of: message))
            }
        case .socketsJoin(let options, let rooms):
            let target = ClusterPacketCoding.target(of: options)
            for socket in local.sockets(in: target.rooms, except: target.except) { local.join(socket, rooms: rooms) }
        case .socketsLeave(let options, let rooms):
            let target = ClusterPacketCoding.target(of: options)
            for socket in local.sockets(in: target.rooms, except: target.except) {
                for room in rooms { local.leave(socket, room: room) }
            }
        case .disconnectSockets(let options, let close):
            let target = ClusterPacketCoding.target(of: options)
            for socket in local.sockets(in: target.rooms, except: target.except) { socket.disconnect(close: close ?? false) }
        case .fetchSockets(let options, let requestId):
            let target = ClusterPacketCoding.target(of: options)
            let sockets = local.sockets(in: target.rooms, except: target.except).map {
                ClusterPacketCoding.json(of: RemoteSocket(id: $0.id, rooms: local.rooms(of: $0), data: $0.data))
            }
            publish(.fetchSocketsResponse(requestId: requestId, sockets: sockets))
        case .serverSideEmit(let packet, let requestId):
            serverSideEmitted(packet, requestId: requestId, origin: Self.origin(of: message))
        case .broadcastClientCount(let requestId, let clientCount):
            let uid = message.uid
            updateAcks(requestId) { acks in
                if acks.waiting.remove(uid) != nil { acks.expected += max(0, clientCount) }
            }
        case .broadcastAck(let requestId, let packet):
            updateAcks(requestId) { $0.responses.append([packet]) }
        default:
            break  // heartbeats and responses are the membership's
        }
    }

    /// Where a message from the bus comes from, for connection state recovery.
    static func origin(of message: ClusterMessage) -> RecordOrigin {
        RecordOrigin(uid: message.uid, sequence: message.recoverySequence, logID: message.logID)
    }

    private func serverSideEmitted(_ packet: [JSONValue], requestId: String?, origin: RecordOrigin) {
        guard let event = packet.first?.string else { return }
        let arguments = Array(packet.dropFirst())
        switch event {
        case Self.countingBroadcastEvent:
            guard let request = arguments.first, let json = request["packet"],
                let event = ClusterPacketCoding.event(from: json, namespace: namespace)
            else { return }
            let target = BroadcastTarget(
                rooms: Set(request["rooms"]?.array?.compactMap(\.string) ?? []),
                except: Set(request["except"]?.array?.compactMap(\.string) ?? [])
            )
            let flags = BroadcastFlags(volatile: request["volatile"]?.bool == true, local: true)
            let count = local.record(event, to: target, flags: flags, origin: origin).delivered
            let rooms = local.occupiedRooms(of: target)
            guard let requestId else { return }
            let answer: JSONValue = ["count": .integer(count), "rooms": .array(rooms.sorted().map(JSONValue.string))]
            publish(.serverSideEmitResponse(requestId: requestId, packet: answer))
        case Self.clientCountEvent:
            guard let requestId else { return }
            publish(.serverSideEmitResponse(requestId: requestId, packet: .integer(local.count)))
        default:
            let handlers = serverSideEvents
            Task {
                let answer = await handlers.handle(event, arguments)
                if let requestId, let answer { self.publish(.serverSideEmitResponse(requestId: requestId, packet: answer)) }
            }
        }
    }

    /// Another server's broadcast with acknowledgements, for this server's sockets: the client count goes back at
    /// once, then each acknowledgement as it arrives (its first argument, as socket.io sends it).
    private func broadcastWithAckLocally(_ packet: SocketIOPacket, to target: BroadcastTarget, requestId: String, timeout: Duration) {
        let sockets = local.sockets(in: target.rooms, except: target.except)
        publish(.broadcastClientCount(requestId: requestId, clientCount: sockets.count))
        guard let ackID = packet.ackID, let first = sockets.first else { return }
        for socket in sockets {
            socket.expectAck(ackID) { [self] result in
                guard case .success(let arguments) = result else { return }
                publish(.broadcastAck(requestId: requestId, packet: arguments.first ?? .null))
            }
        }
        SocketIOWire.deliver(SocketIOWire.encode(packet), to: sockets.map(\.session))
        first.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            for socket in sockets { socket.forgetAck(ackID) }
        }
    }
}
