import EngineIO
public import PushinatorHTTP
public import PushinatorSocketIO

/// The server settings the configuration's limits make.
extension PushinatorConfiguration {
    /// The addresses the client port's per-address limit does not apply to: `client.connectionLimitExempt` and
    /// every `client.trustedProxies` entry (every client behind a proxy arrives from the proxy's address).
    public var clientConnectionLimitExemptions: [AddressRange] {
        clientLimits.connectionLimitExempt + trustedProxies.entries.compactMap(AddressRange.init)
    }

    /// The client port's HTTP limits.
    public var clientServerConfiguration: HTTPServerConfiguration {
        HTTPServerConfiguration(
            maxConnectionsPerAddress: clientLimits.maxConnectionsPerAddress,
            connectionLimitExemptions: clientConnectionLimitExemptions,
            maxQueuedResponseBytes: clientLimits.maxQueuedResponseBytes,
            writeTimeout: .milliseconds(clientLimits.writeTimeoutMilliseconds)
        )
    }

    /// The admin port's HTTP limits.
    public var adminServerConfiguration: HTTPServerConfiguration {
        HTTPServerConfiguration(
            maxConnectionsPerAddress: adminLimits.maxConnectionsPerAddress,
            connectionLimitExemptions: adminLimits.connectionLimitExempt,
            maxQueuedResponseBytes: adminLimits.maxQueuedResponseBytes,
            writeTimeout: .milliseconds(adminLimits.writeTimeoutMilliseconds),
            pipelineOverlap: Self.adminPipelineOverlap
        )
    }

    /// The admin calls that may start while earlier answers on the same connection are pending: sends and
    /// broadcasts (their deliveries and their place in the cluster's log are taken in request order, when they
    /// start). Registrations, unregistrations and everything else wait for the answers before them, and what
    /// follows them waits for theirs: a `/user/send` pipelined behind the `/user/register` of its user sees the
    /// registration.
    public static let adminPipelineOverlap = HTTPPipelineOverlap.safeMethods(andPaths: ["/user/send", "/broadcast"])

    /// The Socket.IO server's settings: the transports, the client port's payload and binary-packet limits, and
    /// connection state recovery for `client.recovery.maxDisconnectionDuration` milliseconds (off at `0`) within
    /// `client.recovery.maxMessages`, `maxBytes` and `maxSessions`, and the WebSocket write and close timeouts.
    public var socketIOConfiguration: SocketIOConfiguration {
        let configuration = SocketIOConfiguration(
            engine: EngineIOConfiguration(
                maxPayload: clientLimits.maxPayload,
                transports: transports,
                maxBufferedBytes: clientLimits.maxBufferedBytes,
                webSocketWriteTimeout: .milliseconds(clientLimits.webSocketWriteTimeoutMilliseconds),
                webSocketCloseTimeout: .milliseconds(clientLimits.webSocketCloseTimeoutMilliseconds)
            ),
            maxPendingBinaryBytes: clientLimits.maxPendingBinaryBytes,
            maxPendingBinaryBytesTotal: clientLimits.maxPendingBinaryBytesTotal,
            binaryAttachmentTimeout: .milliseconds(clientLimits.binaryAttachmentTimeoutMilliseconds)
        )
        guard recoveryMaxDisconnection > 0 else { return configuration }
        var recovering = configuration
        recovering.recovery = ConnectionStateRecovery(
            maxDisconnectionDuration: .milliseconds(recoveryMaxDisconnection),
            maxPackets: recoveryMaxMessages,
            maxBytes: recoveryMaxBytes,
            maxSessions: recoveryMaxSessions
        )
        return recovering
    }

    /// The process-wide budget's limit: `limits.memoryBudget`, `nil` (no limit) for 0.
    public var memoryBudgetLimit: Int? { memoryBudget > 0 ? memoryBudget : nil }
}
