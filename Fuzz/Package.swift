// swift-tools-version:6.1
// libFuzzer targets for every parser in the main package; see README.md and run.sh. Not part of the main build:
// every target needs `-sanitize=fuzzer` and `-parse-as-library`, which run.sh passes.
import PackageDescription

let fuzzers: [(name: String, dependencies: [Target.Dependency])] = [
    ("FuzzJSON", [.product(name: "PushinatorJSON", package: "pushinator")]),
    ("FuzzConfigFile", [.product(name: "PushinatorRuntime", package: "pushinator")]),
    ("FuzzEngineIOPacket", [.product(name: "EngineIO", package: "pushinator"), .product(name: "NIOCore", package: "swift-nio")]),
    ("FuzzEngineIOPolling", [.product(name: "EngineIO", package: "pushinator"), .product(name: "NIOCore", package: "swift-nio")]),
    (
        "FuzzSocketIODecoder",
        [
            .product(name: "PushinatorSocketIO", package: "pushinator"),
            .product(name: "PushinatorJSON", package: "pushinator"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]
    ),
    (
        "FuzzMessagePack",
        [
            .product(name: "PushinatorMessagePack", package: "pushinator"),
            .product(name: "PushinatorJSON", package: "pushinator"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]
    ),
    (
        "FuzzClusterMessage",
        [
            .product(name: "PushinatorCluster", package: "pushinator"),
            .product(name: "PushinatorJSON", package: "pushinator"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]
    ),
    (
        "FuzzHTTPRequest",
        [
            .product(name: "PushinatorHTTP", package: "pushinator"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]
    ),
    (
        "FuzzWebSocket",
        [
            .product(name: "PushinatorHTTP", package: "pushinator"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ]
    ),
]

let package = Package(
    name: "pushinator-fuzz",
    platforms: [.macOS(.v15)],
    products: fuzzers.map { .executable(name: $0.name, targets: [$0.name]) },
    dependencies: [
        .package(name: "pushinator", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [.target(name: "FuzzSupport")]
        + fuzzers.map { .executableTarget(name: $0.name, dependencies: ["FuzzSupport"] + $0.dependencies) }
)
