// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    // Async functions run on their caller's executor instead of hopping to the global one: request and event
    // handlers started on an event loop (Task.immediate) then finish there without a thread hop.
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

let package = Package(
    name: "pushinator",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PushinatorJSON", targets: ["PushinatorJSON"]),
        .library(name: "PushinatorEventLoop", targets: ["PushinatorEventLoop"]),
        .library(name: "PushinatorHTTP", targets: ["PushinatorHTTP"]),
        .library(name: "PushinatorTLS", targets: ["PushinatorTLS"]),
        .library(name: "EngineIO", targets: ["EngineIO"]),
        .library(name: "PushinatorSocketIO", targets: ["PushinatorSocketIO"]),
        .library(name: "PushinatorRuntime", targets: ["PushinatorRuntime"]),
        .library(name: "PushinatorKit", targets: ["PushinatorKit"]),
        .library(name: "PushinatorSQLite", targets: ["PushinatorSQLite"]),
        .library(name: "PushinatorTesting", targets: ["PushinatorTesting"]),
        .library(name: "PushinatorMessagePack", targets: ["PushinatorMessagePack"]),
        .library(name: "PushinatorCluster", targets: ["PushinatorCluster"]),
        .library(name: "PushinatorPostgres", targets: ["PushinatorPostgres"]),
        .executable(name: "pushinator", targets: ["Pushinator"]),
        .executable(name: "conformance-server", targets: ["ConformanceServer"]),
        .executable(name: "http-example", targets: ["HTTPExample"]),
        .executable(name: "interop-server", targets: ["InteropServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Only PushinatorKit (the admin status page) depends on it.
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        // Only PushinatorPostgres (the cluster's PostgreSQL transport) depends on it.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
    ],
    targets: [
        // MARK: Library modules
        .target(
            name: "PushinatorJSON",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // The event-loop runtime the layers above share: per-loop timers, per-loop and per-thread values, the
        // event-loop task executor, the event-loop count.
        .target(
            name: "PushinatorEventLoop",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PushinatorHTTP",
            dependencies: [
                "PushinatorEventLoop",
                "PushinatorJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio"),
                // SHA-1 of the WebSocket handshake's accept value (WebSocketHandshake)
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PushinatorTesting",
            dependencies: [
                "PushinatorHTTP",
                "PushinatorJSON",
                "EngineIO",
                "PushinatorSocketIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PushinatorTLS",
            dependencies: [
                "PushinatorHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "EngineIO",
            dependencies: [
                "PushinatorEventLoop",
                "PushinatorHTTP",
                "PushinatorJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PushinatorSocketIO",
            dependencies: [
                "EngineIO",
                "PushinatorEventLoop",
                "PushinatorHTTP",
                "PushinatorJSON",
                "PushinatorCluster",  // the cluster adapter's messages and transport protocol (no database client)
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PushinatorRuntime",
            dependencies: [
                "PushinatorJSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "PushinatorKit",
            dependencies: [
                "PushinatorHTTP", "PushinatorEventLoop", "EngineIO", "PushinatorSocketIO", "PushinatorRuntime", "PushinatorJSON",
                "PushinatorCluster",  // the cluster's membership settings (PushinatorConfiguration+Cluster)
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            // The status page's template (a link to Templates/status.mustache), compiled into the binary so that an
            // installed pushinator needs no file beside it.
            resources: [.embedInCode("Resources/status.mustache")],
            swiftSettings: swiftSettings
        ),
        // The SQLite user store, apart so only apps that use it build SQLite.
        .target(
            name: "PushinatorSQLite",
            dependencies: [
                "PushinatorKit",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Cluster (issue 13): MessagePack codec, socket.io's cluster messages, the PostgreSQL transport
        .target(
            name: "PushinatorMessagePack",
            dependencies: ["PushinatorJSON", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PushinatorCluster",
            dependencies: [
                "PushinatorJSON", "PushinatorMessagePack",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PushinatorPostgres",
            dependencies: [
                "PushinatorCluster", "PushinatorEventLoop", "PushinatorJSON", "PushinatorMessagePack",
                "PushinatorSocketIO",  // the recovery session store (PostgresSessionStore) implements its protocol
                "PushinatorKit",  // the UserStore protocol PostgresUserStore implements
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Examples
        .executableTarget(
            name: "Pushinator",
            dependencies: [
                "PushinatorHTTP", "PushinatorTLS", "EngineIO", "PushinatorSocketIO", "PushinatorRuntime", "PushinatorJSON",
                "PushinatorEventLoop", "PushinatorKit", "PushinatorSQLite", "PushinatorCluster", "PushinatorPostgres",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Examples/Pushinator",
            exclude: ["run.sh", "client.html", "pushinator.conf"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ConformanceServer",
            dependencies: [
                "PushinatorHTTP", "EngineIO", "PushinatorSocketIO", "PushinatorJSON", "PushinatorCluster",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Examples/ConformanceServer",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "HTTPExample",
            dependencies: [
                "PushinatorHTTP", "PushinatorTLS", "PushinatorJSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Examples/HTTPExample",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "InteropServer",
            dependencies: [
                "PushinatorHTTP", "PushinatorTLS", "EngineIO", "PushinatorSocketIO", "PushinatorJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Examples/InteropServer",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        // What the live test suites share (a raw TCP client, a server on a free port, bounded waits); not a product.
        .target(
            name: "PushinatorTestSupport",
            dependencies: [
                "PushinatorHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/PushinatorTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "PushinatorJSONTests", dependencies: ["PushinatorJSON"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PushinatorEventLoopTests",
            dependencies: [
                "PushinatorEventLoop",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PushinatorHTTPTests",
            dependencies: [
                "PushinatorHTTP", "PushinatorTLS", "PushinatorJSON", "PushinatorTesting", "PushinatorTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EngineIOTests",
            dependencies: [
                "EngineIO", "PushinatorJSON", "PushinatorHTTP", "PushinatorTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PushinatorSocketIOTests",
            dependencies: [
                "PushinatorSocketIO", "EngineIO", "PushinatorJSON", "PushinatorHTTP", "PushinatorCluster", "PushinatorTesting",
                "PushinatorTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PushinatorKitTests",
            dependencies: [
                "PushinatorKit", "PushinatorHTTP", "PushinatorSocketIO", "PushinatorRuntime", "PushinatorJSON", "EngineIO", "PushinatorCluster",
                "PushinatorTesting",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PushinatorRuntimeTests",
            dependencies: ["PushinatorRuntime", "PushinatorJSON"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PushinatorMessagePackTests",
            dependencies: ["PushinatorMessagePack", "PushinatorJSON", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PushinatorClusterTests",
            dependencies: ["PushinatorCluster", "PushinatorMessagePack", "PushinatorJSON"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PushinatorPostgresTests",
            dependencies: [
                "PushinatorPostgres", "PushinatorCluster", "PushinatorMessagePack", "PushinatorJSON",
                "PushinatorSocketIO", "PushinatorHTTP", "PushinatorTesting", "PushinatorTestSupport", "PushinatorKit",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PushinatorStoreTests",
            dependencies: ["PushinatorKit", "PushinatorSQLite", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
    ]
)
