import PushinatorJSON
public import PushinatorRuntime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where pushinator's configuration comes from: a file, the environment and the command line.
extension PushinatorConfiguration {
    /// The file read when the command line names none (if it exists and is readable).
    public static let defaultFile = "/etc/pushinator.conf"
    /// The source of a configuration read from no file.
    public static let embeddedDefaults = "embedded defaults"
    /// The prefix of the environment variables that override keys (`PUSHINATOR_CLIENT_PORT` for `client.port`).
    public static let environmentPrefix = "PUSHINATOR"

    /// The ports given on the command line; they win over the file and the environment, also on reload.
    public struct PortOverrides: Sendable, Equatable {
        /// `--admin-port`.
        public var admin: Int?
        /// `--client-port`.
        public var client: Int?

        /// Creates overrides; `nil` keeps the configured port.
        public init(admin: Int? = nil, client: Int? = nil) {
            self.admin = admin
            self.client = client
        }
    }

    /// Loads the configuration at start: the file `path` names; without one ``defaultFile`` when it is readable,
    /// else the embedded defaults. Environment variables override keys, `ports` override both.
    /// - Parameters:
    ///   - path: The file named on the command line (`-c`), or `nil`.
    ///   - defaultFile: The file read when `path` is `nil`, if readable.
    ///   - environment: The overrides (``environmentPrefix`` and the process environment by default).
    ///   - ports: The command line's ports.
    /// - Returns: The settings, and their source (the path, or ``embeddedDefaults``).
    /// - Throws: ``ConfigurationFailure`` naming the file and what is wrong in it.
    public static func load(
        path: String?,
        defaultFile: String = Self.defaultFile,
        environment: EnvironmentOverrides = EnvironmentOverrides(prefix: Self.environmentPrefix),
        ports: PortOverrides = PortOverrides()
    ) throws(ConfigurationFailure) -> (settings: Self, source: String) {
        let path = path ?? (access(defaultFile, R_OK) == 0 ? defaultFile : nil)
        let settings = try read(path: path, environment: environment, ports: ports)
        return (settings, path ?? embeddedDefaults)
    }

    /// Reads the file at `path` (``embeddedDefaults`` when `nil`) with the environment's and `ports`' overrides.
    /// - Throws: ``ConfigurationFailure`` naming the file and what is wrong in it.
    public static func read(
        path: String?,
        environment: EnvironmentOverrides = EnvironmentOverrides(prefix: Self.environmentPrefix),
        ports: PortOverrides = PortOverrides()
    ) throws(ConfigurationFailure) -> Self {
        do {
            let document = try path.map { try ConfigDocument.load(contentsOf: $0, environment: environment) }
                ?? ConfigDocument(root: .object([:]), source: embeddedDefaults, environment: environment)
            var settings = try PushinatorConfiguration(document: document)
            settings.adminPort = ports.admin ?? settings.adminPort
            settings.clientPort = ports.client ?? settings.clientPort
            return settings
        } catch {
            throw ConfigurationFailure(message: "\(error)")
        }
    }
}
