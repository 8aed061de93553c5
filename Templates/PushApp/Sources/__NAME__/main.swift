import Logging
import __NAME__Core

// __NAME__ [config-file]: serves the app in the foreground until SIGTERM.
let logger = Logger(label: "__NAME_LOWER__")
let configuration = try AppConfiguration.load(from: CommandLine.arguments.dropFirst().first)
try await App(configuration: configuration, logger: logger).run(configuration: configuration, logger: logger)
