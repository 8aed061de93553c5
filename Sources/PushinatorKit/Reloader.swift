public import Logging
public import PushinatorRuntime
import Synchronization

/// Re-reads the configuration file on SIGHUP; addresses, TLS and transports change only on restart.
public struct Reloader: Sendable {
    let app: PushApp
    let source: String
    let level: LogLevelControl
    let overrides: PushinatorConfiguration.PortOverrides
    let logger: Logger
    let onApplied: @Sendable (PushinatorConfiguration) -> Void

    /// Creates a reloader for `app`, whose configuration came from `source` (a path, or
    /// ``PushinatorConfiguration/embeddedDefaults``);
    /// `overrides` are the command-line ports, which win over the file; `onApplied` gets the settings in effect after
    /// each successful reload, to hand what the app does not hold to the servers (the memory budget, the
    /// connection-limit exemptions).
    public init(
        app: PushApp,
        source: String,
        level: LogLevelControl,
        overrides: PushinatorConfiguration.PortOverrides,
        logger: Logger,
        onApplied: @escaping @Sendable (PushinatorConfiguration) -> Void = { _ in }
    ) {
        self.app = app
        self.source = source
        self.level = level
        self.overrides = overrides
        self.logger = logger
        self.onApplied = onApplied
    }

    /// The keys a reload cannot change (they are read once, at start), and how to read each.
    public static let restartOnly: [(key: String, value: @Sendable (PushinatorConfiguration) -> String)] = [
        ("pidfile", { $0.pidFile }),
        ("threads", { "\($0.threads)" }),
        ("admin.host", { $0.adminHost }),
        ("admin.port", { "\($0.adminPort)" }),
        ("admin.metrics", { "\($0.adminMetrics)" }),
        ("client.host", { $0.clientHost }),
        ("client.port", { "\($0.clientPort)" }),
        ("client.socketIoTransports", { $0.transports.map { "\($0)" }.joined(separator: ",") }),
        ("client.useSSL", { "\($0.useSSL)" }),
        ("client.sslKey", { $0.sslKey }),
        ("client.sslCert", { $0.sslCert }),
        ("client.cors", { $0.clientCORS.joined(separator: ",") }),
        ("users.store", { "\($0.usersStore)" }),
        ("client.recovery.maxDisconnectionDuration", { "\($0.recoveryMaxDisconnection)" }),
        ("client.recovery.maxMessages", { "\($0.recoveryMaxMessages)" }),
        ("client.recovery.maxBytes", { "\($0.recoveryMaxBytes)" }),
        ("client.recovery.maxSessions", { "\($0.recoveryMaxSessions)" }),
        ("log.syslog.enable", { "\($0.syslogEnabled)" }),
        ("log.syslog.tag", { $0.syslogTag }),
        ("log.syslog.facility", { "\($0.syslogFacility)" }),
        ("log.syslog.path", { $0.syslogPath ?? "" }),
        ("log.file", { $0.logFile ?? "" }),
        ("client.maxConnectionsPerAddress", { "\($0.clientLimits.maxConnectionsPerAddress)" }),
        ("client.writeTimeout", { "\($0.clientLimits.writeTimeoutMilliseconds)" }),
        ("client.maxQueuedResponseBytes", { "\($0.clientLimits.maxQueuedResponseBytes)" }),
        ("client.maxBufferedBytes", { "\($0.clientLimits.maxBufferedBytes)" }),
        ("client.maxPayload", { "\($0.clientLimits.maxPayload)" }),
        ("client.maxPendingBinaryBytes", { "\($0.clientLimits.maxPendingBinaryBytes)" }),
        ("client.maxPendingBinaryBytesTotal", { "\($0.clientLimits.maxPendingBinaryBytesTotal)" }),
        ("client.binaryAttachmentTimeout", { "\($0.clientLimits.binaryAttachmentTimeoutMilliseconds)" }),
        ("client.webSocketWriteTimeout", { "\($0.clientLimits.webSocketWriteTimeoutMilliseconds)" }),
        ("client.webSocketCloseTimeout", { "\($0.clientLimits.webSocketCloseTimeoutMilliseconds)" }),
        ("admin.maxConnectionsPerAddress", { "\($0.adminLimits.maxConnectionsPerAddress)" }),
        ("admin.writeTimeout", { "\($0.adminLimits.writeTimeoutMilliseconds)" }),
        ("admin.maxQueuedResponseBytes", { "\($0.adminLimits.maxQueuedResponseBytes)" }),
    ]

    /// `running` with the values of `fresh` that a reload applies; the restart-only keys keep their running values.
    public static func applyingLive(_ fresh: PushinatorConfiguration, to running: PushinatorConfiguration) -> PushinatorConfiguration {
        var applied = fresh
        applied.pidFile = running.pidFile
        applied.pidFileIsSet = running.pidFileIsSet
        applied.threads = running.threads
        applied.adminHost = running.adminHost
        applied.adminPort = running.adminPort
        applied.clientHost = running.clientHost
        applied.clientPort = running.clientPort
        applied.transports = running.transports
        applied.useSSL = running.useSSL
        applied.sslKey = running.sslKey
        applied.sslCert = running.sslCert
        applied.clientCORS = running.clientCORS
        applied.syslogEnabled = running.syslogEnabled
        applied.syslogTag = running.syslogTag
        applied.syslogFacility = running.syslogFacility
        applied.syslogPath = running.syslogPath
        applied.logFile = running.logFile
        // The limits are read at start, but for the exemptions (`connectionLimitExempt`), which apply at once.
        applied.clientLimits = running.clientLimits
        applied.clientLimits.connectionLimitExempt = fresh.clientLimits.connectionLimitExempt
        applied.adminLimits = running.adminLimits
        applied.adminLimits.connectionLimitExempt = fresh.adminLimits.connectionLimitExempt
        return applied
    }

    /// Reads the file again and swaps the settings; logs each key that could not change, and any error.
    public func reload() {
        guard source != PushinatorConfiguration.embeddedDefaults else { return logger.info("reload: no configuration file to read") }
        do {
            let fresh = try PushinatorConfiguration.read(path: source, ports: overrides)
            let (old, applied) = app.settings.withLock { settings in
                let old = settings
                settings = Self.applyingLive(fresh, to: settings)
                return (old, settings)
            }
            onApplied(applied)
            level.level = fresh.logLevel
            app.users.store.setQueueLimits(fresh.offlineQueue)
            for warning in fresh.warnings { logger.warning("reload: \(warning)") }
            for (key, value) in Self.restartOnly where value(old) != value(fresh) {
                logger.warning(
                    "reload: \(key) changes only on restart; still using the running value",
                    metadata: ["config.key": "\(key)", "config.running": "\(value(old))", "config.file": "\(value(fresh))"]
                )
            }
            logger.info("configuration reloaded", metadata: ["config.source": "\(source)", "log.debug": "\(fresh.debug)"])
        } catch {
            logger.error("reload failed; keeping the running configuration", metadata: ["error.message": "\(error)"])
        }
    }
}
