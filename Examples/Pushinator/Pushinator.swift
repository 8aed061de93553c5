// pushinator: runs the push server in the foreground, or controls it as a daemon (init-script verbs).
import ArgumentParser
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PushinatorEventLoop
import PushinatorHTTP
import PushinatorJSON
import PushinatorKit
import PushinatorPostgres
import PushinatorRuntime
import PushinatorSocketIO
import PushinatorSQLite
import PushinatorTLS
import ServiceLifecycle
import Synchronization
import UnixSignals

@main
struct Pushinator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pushinator",
        abstract: "Pushes messages from your backend to browsers over Socket.IO.",
        discussion: "Without a verb it runs in the foreground. Exit codes of 'status': 0 running, 1 dead, 3 stopped.",
        version: PushApp.version
    )

    @Argument(help: "start | stop | restart | status | force-reload | try-restart") var verb: String?
    @Option(name: .shortAndLong, help: "The configuration file (default: /etc/pushinator.conf if it exists).")
    var config: String?
    @Option(help: "Override admin.port (0 picks a free port).") var adminPort: Int?
    @Option(help: "Override client.port (0 picks a free port).") var clientPort: Int?
    @Flag(help: "Check the configuration, print its warnings, and exit (0: usable, 6: not).") var check = false

    func run() async throws {
        do {
            try await runChecked()
        } catch let failure as ConfigurationFailure {
            StandardOutput.writeLine("pushinator: \(failure.message)", fileDescriptor: 2)
            throw ExitCode(6)
        } catch let failure as TLSSetupError {
            StandardOutput.writeLine("pushinator: \(failure)", fileDescriptor: 2)
            throw ExitCode(6)
        } catch let failure as UserStoreError {
            StandardOutput.writeLine("pushinator: users.store: \(failure.message)", fileDescriptor: 2)
            throw ExitCode(6)
        } catch let failure as PostgresClusterTransportError {
            StandardOutput.writeLine("pushinator: cluster: \(failure.message)", fileDescriptor: 2)
            throw ExitCode(6)
        }
    }

    private func runChecked() async throws {
        let (settings, source) = try loadSettings()
        if check {
            for warning in settings.warnings { StandardOutput.writeLine("pushinator: warning: \(warning)", fileDescriptor: 2) }
            return StandardOutput.writeLine("pushinator: configuration OK (\(source))")
        }
        let daemon = DaemonController(configuration: .init(programName: "pushinator", pidFile: PIDFile(path: settings.pidFile)))
        if let verb {
            guard let action = DaemonVerb(verb) else { throw ValidationError("unknown verb '\(verb)'") }
            let outcome = daemon.perform(action)
            print(outcome.message)
            throw ExitCode(outcome.exitCode)
        }
        let isDaemon = daemon.isDetachedChild
        let level = LogLevelControl(settings.debug ? .debug : .info)
        var destinations: [LogDestination] = isDaemon ? [] : [.standardOutput]
        if settings.syslogEnabled { destinations.append(.syslog(tag: settings.syslogTag, facility: settings.syslogFacility, socketPath: settings.syslogPath)) }
        if let file = settings.logFile { destinations.append(.file(file)) }
        let logs = try LogDestination.all(destinations).open(logLevel: .trace)
        // the last warnings are kept for the admin status page too (bounded: RecentWarnings' capacity)
        let warnings = RecentWarnings()
        LoggingSystem.bootstrap(level.wrapping { label, provider in
            MultiplexLogHandler([logs.factory(label, provider), warnings.handler(label: label)])
        }, metadataProvider: nil)
        let logger = Logger(label: "pushinator")
        logger.info("configuration loaded", metadata: ["config.source": "\(source)"])
        for warning in settings.warnings { logger.warning("\(warning)") }
        Self.warnIfDescriptorsCapConnections(logger: logger)
        // The daemon always writes its pidfile; the foreground mode when the configuration names one (systemd). It is
        // written once what the configuration names is open (cluster, store, TLS files): `start` reports success as
        // soon as the pidfile names its child, so a pidfile written first made a daemon that then exits 6 "started"
        // whenever `start` looked before the failure (on a busy machine).
        let writesPIDFile = isDaemon || settings.pidFileIsSet
        var claimed = false
        defer { if claimed { _ = try? daemon.configuration.pidFile.remove() } }
        try await serve(settings, source: source, level: level, logs: logs, warnings: warnings, logger: logger, announce: !isDaemon) {
            guard writesPIDFile else { return }
            try daemon.claimPIDFile()
            claimed = true
        }
    }

    /// Warns when the open-file limit allows fewer connections per port than the servers' own limit.
    private static func warnIfDescriptorsCapConnections(logger: Logger) {
        let cap = HTTPServer.connectionsWithinDescriptorLimit()
        let configured = HTTPServerConfiguration().maxConnections
        guard cap < configured else { return }
        var limit = rlimit()
        _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        logger.warning(
            "the open-file limit caps the connections: raise it with LimitNOFILE=65536 in the systemd unit, or ulimit -n 65536 before starting",
            metadata: ["process.nofile.soft": "\(limit.rlim_cur)", "process.nofile.hard": "\(limit.rlim_max)", "http.max_connections": "\(cap)"]
        )
    }

    /// The configuration from `-c`, /etc/pushinator.conf or the embedded defaults, with PUSHINATOR_* overrides.
    private func loadSettings() throws -> (PushinatorConfiguration, String) {
        let path = config ?? (access("/etc/pushinator.conf", R_OK) == 0 ? "/etc/pushinator.conf" : nil)
        do {
            let environment = EnvironmentOverrides(prefix: "PUSHINATOR")
            let document = try path.map { try ConfigDocument.load(contentsOf: $0, environment: environment) }
                ?? ConfigDocument(root: .object([:]), source: "embedded defaults", environment: environment)
            var settings = try PushinatorConfiguration(document: document)
            if let adminPort { settings.adminPort = adminPort }
            if let clientPort { settings.clientPort = clientPort }
            return (settings, document.source)
        } catch {
            throw ConfigurationFailure(message: "\(error)")
        }
    }

    private func serve(
        _ settings: PushinatorConfiguration,
        source: String,
        level: LogLevelControl,
        logs: OpenedLogDestination,
        warnings: RecentWarnings,
        logger: Logger,
        announce: Bool,
        configured: () throws -> Void
    ) async throws {
        MemoryBudget.shared.setLimit(settings.memoryBudgetLimit)  // limits.memoryBudget
        MemoryBudget.shared.setLogger(logger)
        let threads = settings.threads > 0 ? settings.threads : EventLoopThreads.available
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        defer { loops.shutdownGracefully { _ in } }
        let (transport, cluster) = try await Self.openCluster(settings, eventLoopGroup: loops, logger: logger)
        var makeAdapter: @Sendable (AdapterContext) -> any SocketIOAdapter = { InMemoryAdapter(context: $0) }
        if let cluster { makeAdapter = cluster.adapter }
        var socketIO = settings.socketIOConfiguration  // recovery on unless 0
        let sessions = Self.openSessionTable(settings, transport: transport, socketIO: &socketIO, logger: logger)
        let io = SocketIOServer(configuration: socketIO, adapter: makeAdapter, logger: logger)
        let store = try await Self.openStore(settings, logger: logger)
        let app = PushApp(configuration: settings, io: io, users: UserRegistry(store: store), cluster: cluster, warnings: warnings)
        let security: TLSSecurity?
        do {
            security = try settings.useSSL ? TLSSecurity(certificateChainPath: settings.sslCert, privateKeyPath: settings.sslKey) : nil
            try configured()  // everything the configuration names is open: the pidfile may say the daemon runs
        } catch {
            await store.close()
            throw error
        }
        let cors = CORSMiddleware(allowedOrigins: settings.clientCORS.isEmpty ? .any : .list(settings.clientCORS), allowCredentials: true)
        let forwarder = Self.forwardSessions(of: io, on: cluster, eventLoopGroup: loops, logger: logger)
        logger.info("event loops started", metadata: ["server.threads": "\(threads)"])
        let admin = HTTPServer(responder: AdminRouter(app: app).router, listeners: [Listener(.hostname(settings.adminHost, port: settings.adminPort))], configuration: settings.adminServerConfiguration, eventLoopGroup: loops, logger: logger) {
            if announce { StandardOutput.writeLine("LISTENING admin http://\($0[0].connectableHostAndPort)") }
        }
        let client = HTTPServer(responder: Router {
            Get("health") { _, _ in Response.json(["status": "ok"]) }  // for load balancers: no token, no details
            io.routes(at: "socket.io", middleware: [cors])
        }, listeners: [Listener(.hostname(settings.clientHost, port: settings.clientPort), security: security)], configuration: settings.clientServerConfiguration, eventLoopGroup: loops, logger: logger) {
            if let cluster, let forwarder { Self.advertise(forwarder, on: cluster, settings: settings, bound: $0[0], logger: logger) }
            if announce { StandardOutput.writeLine("LISTENING client \(security == nil ? "http" : "https")://\($0[0].connectableHostAndPort)") }
        }
        let reloader = Reloader(app: app, source: source, level: level, overrides: (adminPort, clientPort), logger: logger) { applied in
            MemoryBudget.shared.setLimit(applied.memoryBudgetLimit)
            client.connectionLimitExemptions = applied.clientConnectionLimitExemptions  // trusted proxies included
            admin.connectionLimitExemptions = applied.adminLimits.connectionLimitExempt
        }
        let expiry = UserExpiry(
            users: app.users,
            timeout: { app.settings.withLock { $0.usersIdleTimeout > 0 ? .seconds($0.usersIdleTimeout) : nil } },
            onExpired: { logger.info("idle users expired", metadata: ["push.users": "\($0.count)"]) },
            onFailure: { logger.error("idle users not expired: user store write failed", metadata: ["error.message": "\($0.message)"]) }
        )
        var clusterServices: [any Service] = []  // first, so that they stop after the servers
        if let transport, let cluster { clusterServices = [transport, cluster] + (sessions.map { [$0] } ?? []) }
        let services: [any Service] = clusterServices + [admin, client, io, ReloadOnHangup {
            for error in logs.reopenFiles() {  // logrotate renamed log.file: start a new one under its name
                logger.error("cannot reopen the log file", metadata: ["error.message": "\(error)"])
            }
            reloader.reload()
        }, expiry] + app.services(eventLoopGroup: loops)
        do {
            try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    /// The store `users.store` names, opened and read; a store that cannot be used stops the start (exit code 6).
    private static func openStore(_ settings: PushinatorConfiguration, logger: Logger) async throws(UserStoreError) -> any UserStore {
        switch settings.usersStore {
        case .memory:
            return MemoryUserStore(queueLimits: settings.offlineQueue)
        case .sqlite(let path):
            return try await SQLiteUserStore.open(path: path, queueLimits: settings.offlineQueue, logger: logger)
        case .postgres(let url):
            return try await openPostgresStore(url: url ?? settings.cluster?.postgres ?? "", settings, logger: logger)
        }
    }
}

/// A configuration that cannot be used: said on stderr, exit code 6 (LSB "program is not configured").
struct ConfigurationFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
