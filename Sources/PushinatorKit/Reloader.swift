public import Logging
public import PushinatorRuntime
import Synchronization

/// Re-reads the configuration file on SIGHUP; addresses, TLS and transports change only on restart.
public struct Reloader: Sendable {
    let app: PushApp
    let source: String
    let level: LogLevelControl
    let overrides: (admin: Int?, client: Int?)
    let logger: Logger

    /// Creates a reloader for `app`, whose configuration came from `source` (a path, or `embedded defaults`);
    /// `overrides` are the command-line ports, which win over the file.
    public init(app: PushApp, source: String, level: LogLevelControl, overrides: (admin: Int?, client: Int?), logger: Logger) {
        self.app = app
        self.source = source
        self.level = level
        self.overrides = overrides
        self.logger = logger
    }

    /// Reads the file again and swaps the settings; logs what could not change and any error.
    public func reload() {
        guard source != "embedded defaults" else { return logger.info("reload: no configuration file to read") }
        do {
            var fresh = try PushinatorConfiguration(document: ConfigDocument.load(contentsOf: source, environment: EnvironmentOverrides(prefix: "PUSHINATOR")))
            fresh.adminPort = overrides.admin ?? fresh.adminPort
            fresh.clientPort = overrides.client ?? fresh.clientPort
            let old = app.settings.withLock { settings in
                defer { settings = fresh }
                return settings
            }
            level.level = fresh.debug ? .debug : .info
            if (old.adminHost, old.adminPort, old.clientHost, old.clientPort, old.useSSL, old.transports) != (fresh.adminHost, fresh.adminPort, fresh.clientHost, fresh.clientPort, fresh.useSSL, fresh.transports)
                || old.threads != fresh.threads
            {
                logger.warning("reload: addresses, TLS, transports and threads change only on restart")
            }
            logger.info("configuration reloaded", metadata: ["config.source": "\(source)", "log.debug": "\(fresh.debug)"])
        } catch {
            logger.error("reload failed; keeping the running configuration", metadata: ["error.message": "\(error)"])
        }
    }
}
