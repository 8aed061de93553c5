// pushinator: runs the push server in the foreground, or controls it as a daemon (init-script verbs).
import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import PushinatorEventLoop
import PushinatorHTTP
import PushinatorJSON
import PushinatorKit
import PushinatorPostgres
import PushinatorRuntime
import PushinatorSocketIO
import PushinatorTLS
import ServiceLifecycle
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

    /// Runs; a configuration that cannot be used is said on stderr, exit code 6 (LSB "program is not configured").
    func run() async throws {
        let problem: String
        do {
            return try await runChecked()
        } catch let failure as ConfigurationFailure {
            problem = failure.message
        } catch let failure as TLSSetupError {
            problem = "\(failure)"
        } catch let failure as UserStoreError {
            problem = "users.store: \(failure.message)"
        } catch let failure as PostgresClusterTransportError {
            problem = "cluster: \(failure.message)"
        }
        StandardOutput.writeLine("pushinator: \(problem)", fileDescriptor: 2)
        throw ExitCode(6)
    }

    private func runChecked() async throws {
        let ports = PushinatorConfiguration.PortOverrides(admin: adminPort, client: clientPort)
        let (settings, source) = try PushinatorConfiguration.load(path: config, ports: ports)
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
        // the last warnings are kept for the admin status page too (bounded: RecentWarnings' capacity)
        let logging = try ProcessLogging(destination: settings.logDestination(standardOutput: !isDaemon), level: settings.logLevel)
        logging.bootstrap()
        let logger = Logger(label: "pushinator")
        logger.info("configuration loaded", metadata: ["config.source": "\(source)"])
        for warning in settings.warnings { logger.warning("\(warning)") }
        let connections = (cap: HTTPServer.connectionsWithinDescriptorLimit(), configured: HTTPServerConfiguration().maxConnections)
        OpenFileLimit.current?.warnIfCapping(connections: connections.cap, configured: connections.configured, logger: logger)
        // The daemon always writes its pidfile; the foreground mode when the configuration names one (systemd). It is
        // written once both servers listen (`start` reports success as soon as the pidfile names its child).
        let claim = isDaemon || settings.pidFileIsSet ? PIDFileClaim(waitingFor: 2) { try daemon.claimPIDFile() } : nil
        defer { if claim?.isClaimed == true { _ = try? daemon.configuration.pidFile.remove() } }
        try await serve(settings, source: source, ports: ports, logging: logging, logger: logger, announce: !isDaemon, claim: claim)
    }

    private func serve(
        _ settings: PushinatorConfiguration,
        source: String,
        ports: PushinatorConfiguration.PortOverrides,
        logging: ProcessLogging,
        logger: Logger,
        announce: Bool,
        claim: PIDFileClaim?
    ) async throws {
        MemoryBudget.shared.setLimit(settings.memoryBudgetLimit)  // limits.memoryBudget
        MemoryBudget.shared.setLogger(logger)
        let threads = settings.threads > 0 ? settings.threads : EventLoopThreads.available
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        defer { loops.shutdownGracefully { _ in } }
        var socketIO = settings.socketIOConfiguration  // recovery on unless 0
        let (cluster, clusterServices) = try await Self.openCluster(settings, socketIO: &socketIO, eventLoopGroup: loops, logger: logger)
        var adapter: @Sendable (AdapterContext) -> any SocketIOAdapter = { InMemoryAdapter(context: $0) }
        if let cluster { adapter = cluster.adapter }
        let io = SocketIOServer(configuration: socketIO, adapter: adapter, logger: logger)
        let store = try await Self.openStore(settings, logger: logger)
        let app = PushApp(configuration: settings, io: io, users: UserRegistry(store: store), cluster: cluster, warnings: logging.warnings)
        let security: TLSSecurity?
        do {
            security = try settings.useSSL ? TLSSecurity(certificateChainPath: settings.sslCert, privateKeyPath: settings.sslKey) : nil
        } catch {
            await store.close()
            throw error
        }
        let cors = CORSMiddleware(allowedOrigins: settings.clientCORS.isEmpty ? .any : .list(settings.clientCORS), allowCredentials: true)
        // in cluster mode the Engine.IO requests of the other nodes' sessions are forwarded to them
        let forwarding = cluster.map { ClusterForwarding(io: io, cluster: $0, eventLoopGroup: loops, logger: logger) }
        logger.info("event loops started", metadata: ["server.threads": "\(threads)"])
        let admin = HTTPServer(responder: AdminRouter(app: app).router, listeners: [Listener(.hostname(settings.adminHost, port: settings.adminPort))], configuration: settings.adminServerConfiguration, eventLoopGroup: loops, logger: logger) {
            if announce { StandardOutput.writeLine("LISTENING admin http://\($0[0].connectableHostAndPort)") }
            claim?.listening()
        }
        let client = HTTPServer(responder: Router {
            Get("health") { _, _ in Response.json(["status": "ok"]) }  // for load balancers: no token, no details
            io.routes(at: "socket.io", middleware: [cors])
        }, listeners: [Listener(.hostname(settings.clientHost, port: settings.clientPort), security: security)], configuration: settings.clientServerConfiguration, eventLoopGroup: loops, logger: logger) {
            forwarding?.advertise(settings: settings, bound: $0[0])
            if announce { StandardOutput.writeLine("LISTENING client \(security == nil ? "http" : "https")://\($0[0].connectableHostAndPort)") }
            claim?.listening()
        }
        let reloader = Reloader(app: app, source: source, level: logging.level, overrides: ports, logger: logger) { applied in
            MemoryBudget.shared.setLimit(applied.memoryBudgetLimit)
            client.connectionLimitExemptions = applied.clientConnectionLimitExemptions  // trusted proxies included
            admin.connectionLimitExemptions = applied.adminLimits.connectionLimitExempt
        }
        let reload = ReloadOnHangup {
            logging.reopenFiles(logger: logger)  // logrotate renamed log.file: start a new one under its name
            reloader.reload()
        }
        let services: [any Service] = clusterServices + [admin, client, io, reload, UserExpiry(app: app, logger: logger)] + app.services(eventLoopGroup: loops) + (claim.map { [$0] } ?? [])
        do {
            try await ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}
