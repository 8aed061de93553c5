// swift-tools-version:6.1
// __NAME__: a push app on the Pushinator toolkit (rendered from Templates/PushApp by scripts/new-app.sh).
import PackageDescription

let package = Package(
    name: "__NAME__",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "__NAME__", targets: ["__NAME__"]),
    ],
    dependencies: [
        .package(path: "__PUSHINATOR_PATH__"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // The app, as a library so that the tests can build its router.
        .target(
            name: "__NAME__Core",
            dependencies: [
                .product(name: "PushinatorHTTP", package: "__PUSHINATOR_PACKAGE__"),
                .product(name: "PushinatorSocketIO", package: "__PUSHINATOR_PACKAGE__"),
                .product(name: "PushinatorJSON", package: "__PUSHINATOR_PACKAGE__"),
                .product(name: "PushinatorRuntime", package: "__PUSHINATOR_PACKAGE__"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "__NAME__",
            dependencies: [
                "__NAME__Core",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "__NAME__Tests",
            dependencies: [
                "__NAME__Core",
                .product(name: "PushinatorHTTP", package: "__PUSHINATOR_PACKAGE__"),
                .product(name: "PushinatorSocketIO", package: "__PUSHINATOR_PACKAGE__"),
                .product(name: "EngineIO", package: "__PUSHINATOR_PACKAGE__"),
                .product(name: "PushinatorRuntime", package: "__PUSHINATOR_PACKAGE__"),
                .product(name: "PushinatorTesting", package: "__PUSHINATOR_PACKAGE__"),
                .product(name: "PushinatorJSON", package: "__PUSHINATOR_PACKAGE__"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
