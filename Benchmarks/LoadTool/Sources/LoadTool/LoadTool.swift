// loadtool: drives any server that follows the pushinator contract (admin `/user/register`, `/user/send`,
// `/broadcast`; Socket.IO client `auth` -> `message` events) and measures it. See Benchmarks/README.md.
import ArgumentParser
import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix

// MARK: /proc readings

let clockTicks = Double(sysconf(Int32(_SC_CLK_TCK)))

/// utime + stime of a process in clock ticks (from /proc/<pid>/stat).
func cpuTicks(_ pid: Int32) -> Double {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = text.lastIndex(of: ")") else { return 0 }
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 12 else { return 0 }
    return (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
}

/// (busy, total) jiffies of each CPU from /proc/stat: busy = everything but idle and iowait.
func cpuJiffies() -> [(busy: Double, total: Double)] {
    guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return [] }
    return text.split(separator: "\n").filter { $0.hasPrefix("cpu") && !$0.hasPrefix("cpu ") }.map { line in
        let f = line.split(separator: " ").dropFirst().map { Double($0) ?? 0 }
        let total = f.prefix(8).reduce(0, +)
        return (total - f[3] - f[4], total)
    }
}

func loadAverage() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return -1 }
    return Double(text.split(separator: " ")[0]) ?? -1
}

/// VmRSS of a process in bytes (from /proc/<pid>/status).
func rssBytes(_ pid: Int32) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return (Int(line.split(separator: " ")[1]) ?? 0) * 1024
    }
    return 0
}

/// CPU use of the server and of this process over an interval, in % of one core.
struct Meter {
    let serverPid: Int32?
    /// Every load-tool process (this one and its workers): "client" CPU is their sum.
    let toolPids: [Int32]
    let start = nowNs()
    let server: Double
    let client: Double
    let cores: [(busy: Double, total: Double)]
    init(serverPid: Int32?, toolPids: [Int32] = [getpid()]) {
        self.serverPid = serverPid
        self.toolPids = toolPids
        server = serverPid.map(cpuTicks) ?? 0
        client = toolPids.map(cpuTicks).reduce(0, +)
        cores = cpuJiffies()
    }
    func stop(at end: UInt64 = nowNs()) -> (seconds: Double, serverCPU: Double, clientCPU: Double, cpu: CPU) {
        let seconds = Double(end - start) / 1e9
        let serverCPU = serverPid.map { (cpuTicks($0) - server) / clockTicks / seconds * 100 } ?? -1
        let clientCPU = (toolPids.map(cpuTicks).reduce(0, +) - client) / clockTicks / seconds * 100
        let now = cpuJiffies()
        func busy(_ core: Int) -> Double {
            guard core < now.count, core < cores.count else { return -1 }
            let total = now[core].total - cores[core].total
            return total > 0 ? (now[core].busy - cores[core].busy) / total * 100 : -1
        }
        let (core0, core1) = (busy(0), busy(1))
        let cpu = CPU(server: serverCPU, client: clientCPU, core0Busy: core0, core1Busy: core1, loadAverage: loadAverage(),
                      saturated: saturated(server: serverCPU, client: clientCPU, serverCore: core0, clientCore: core1))
        return (seconds, serverCPU, clientCPU, cpu)
    }
}

/// Which side was the limit: a side that ran >= 90 % of a core; or whose core (server: 0, client: 1, as run.sh
/// pins them) was >= 90 % busy with it and other processes: "server (core contended)".
func saturated(server: Double, client: Double, serverCore: Double, clientCore: Double) -> String {
    func side(_ cpu: Double, _ core: Double) -> String? {
        if cpu >= 90 { return "" }
        if core >= 90 { return " (core contended)" }
        return nil
    }
    switch (side(server, serverCore), side(client, clientCore)) {
    case (let s?, let c?): return "both: server\(s), client\(c)"
    case (let s?, nil): return "server\(s)"
    case (nil, let c?): return "client\(c)"
    default: return "neither"
    }
}

// MARK: results

/// CPU use in % of one core over the scenario; how busy cores 0 (server) and 1 (load tool) were with everything
/// (other processes included); the machine's 1-minute load average at the end.
struct CPU: Codable {
    var server: Double; var client: Double; var core0Busy: Double; var core1Busy: Double
    var loadAverage: Double; var saturated: String
}
struct ConnectResult: Codable {
    var clients: Int; var transport: String; var authenticated: Int; var failed: Int; var seconds: Double
    var perSecond: Double; var cpu: CPU
    var firstError: String?
}
struct MemoryResult: Codable {
    var baselineRSS: Int; var registeredRSS: Int; var connectedRSS: Int; var bytesPerConnection: Double
    var bytesPerConnectionInclUser: Double
}
struct FanoutResult: Codable {
    var clients: Int; var broadcasts: Int; var expected: Int; var delivered: Int; var lost: Int
    /// With `--check-ids`: distinct (client, broadcast) pairs delivered, and deliveries of a pair seen before.
    var distinct: Int?; var duplicates: Int?
    var seconds: Double; var deliveriesPerSecond: Double; var triggerToFirstMs: Double; var triggerToLastMs: Double
    var postsSeconds: Double; var cpu: CPU
}
struct LatencyResult: Codable {
    var clients: Int; var targetRate: Int; var achievedRate: Double; var sent: Int; var delivered: Int; var errors: Int
    /// With `--check-ids`: distinct messages delivered, and deliveries of a message seen before.
    var distinct: Int?; var duplicates: Int?
    var p50Ms: Double; var p90Ms: Double; var p99Ms: Double; var p999Ms: Double; var maxMs: Double; var cpu: CPU
}
struct RunResult: Codable {
    var label: String; var clients: Int; var date: String
    var registerPerSecond: Double?
    var connect: ConnectResult?; var memory: MemoryResult?; var fanout: FanoutResult?; var latency: LatencyResult?
}

// MARK: helpers on the loop

/// Runs `count` operations with at most `window` in flight; succeeds when all finished (failures are counted by them).
func bounded(_ count: Int, window: Int, _ operation: @escaping (Int) -> EventLoopFuture<Void>) -> EventLoopFuture<Void> {
    let done = loop.makePromise(of: Void.self)
    var next = 0
    var finished = 0
    func start() {
        guard next < count else { return }
        let index = next
        next += 1
        operation(index).whenComplete { _ in
            finished += 1
            if finished == count { done.succeed(()) } else { start() }
        }
    }
    if count == 0 { done.succeed(()) }
    for _ in 0..<min(window, count) { start() }
    return done.futureResult
}

/// Blocks until `promise` is completed (by the clients) or `seconds` have passed.
func wait(for promise: EventLoopPromise<Void>, seconds: Double) {
    let timeout = loop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) { promise.fail(ClientError.closed) }
    _ = try? promise.futureResult.wait()
    timeout.cancel()
}

func onLoop<T>(_ body: @escaping () -> EventLoopFuture<T>) throws -> T {
    try loop.flatSubmit(body).wait()
}

// MARK: the command

@main
struct LoadTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtool",
        abstract: "Socket.IO load generator for the pushinator contract: connect rate, idle memory, fan-out, latency."
    )

    @Option(help: "Server address.") var host = "127.0.0.1"
    @Option(help: "Admin HTTP port.") var adminPort: Int
    @Option(help: "Socket.IO client port.") var clientPort: Int
    @Option(help: "Several nodes' client ports, comma-separated (a cluster): user u connects to port number u % count (replaces --client-port).")
    var clientPorts = ""
    @Option(help: "Several nodes' admin ports, comma-separated (a cluster): --admin-connections to each; user u is registered through port u % count, broadcast i is posted to port i % count (replaces --admin-port).")
    var adminPorts = ""
    @Flag(help: "With --admin-ports and --client-ports of the same length: post each /user/send to the next node after the user's ((u + 1) % count), so that every send crosses the cluster bus.")
    var crossSends = false
    @Option(help: "Server PID (for CPU and RSS from /proc).") var serverPid: Int32?
    @Option(name: [.customShort("n"), .long], help: "Number of Socket.IO clients.") var clients = 1000
    @Option(help: "First user id.") var firstUser = 1
    @Option(help: "Spread connections over source addresses 127.0.0.1 ... 127.0.0.<sources>.") var sources = 8
    @Option(help: "Connections in handshake at once.") var connectWindow = 256
    @Option(help: "How clients connect: websocket (straight), or polling (long-polling handshake, then the upgrade, as the official clients do by default).")
    var connectTransport = ConnectTransport.websocket
    @Option(help: "Keep-alive admin connections.") var adminConnections = 4
    @Option(help: "Pipelined requests per admin connection.") var adminDepth = 8
    @Option(help: "Broadcasts in the fan-out scenario (0: 500000 / clients, at least 10).") var broadcasts = 0
    @Option(help: "Per-user sends per second in the latency scenario.") var latencyRate = 10_000
    @Option(help: "Seconds of the latency scenario.") var latencySeconds = 10.0
    @Option(help: "Seconds to wait for deliveries after the last trigger.") var drainTimeout = 60.0
    @Option(help: "Seconds the latency scenario waits for its last deliveries after the last send.") var latencyDrainTimeout = 10.0
    @Option(help: "Scenarios, comma-separated: connect,memory,fanout,latency.") var scenarios = "connect,memory,fanout,latency"
    @Option(help: "A name for the server in the output.") var label = "server"
    @Option(help: "Write the JSON result here.") var json: String?

    @Option(help: "Load-tool processes that share the clients (the open-file limit is per process).") var processes = 1
    @Flag(help: .hidden) var worker = false
    @Flag(help: "Count deliveries per message id (user and seq), so that a duplicate cannot hide a loss (the smoke run).")
    var checkIds = false

    func run() throws {
        let slices = Slice.split(total: clients, firstUser: firstUser, parts: max(1, processes))
        let clientPortList = try ports(clientPorts, default: clientPort)
        let adminPortList = try ports(adminPorts, default: adminPort)
        if crossSends, clientPortList.count != adminPortList.count || clientPortList.count < 2 {
            throw ValidationError("--cross-sends needs --client-ports and --admin-ports of the same length, at least 2")
        }
        if worker {
            return try runWorker(host: host, clientPorts: clientPortList, slice: Slice(firstUser: firstUser, count: clients),
                                 sources: max(1, sources), connectWindow: connectWindow, transport: connectTransport,
                                 drainTimeout: drainTimeout, checkIDs: checkIds)
        }
        let wanted = Set(scenarios.split(separator: ",").map(String.init))
        let stats = Stats()
        stats.checkIDs = checkIds
        let pid = serverPid
        var result = RunResult(label: label, clients: clients, date: ISO8601DateFormatter().string(from: Date()))
        defer { try? group.syncShutdownGracefully() }
        let (host, sources, drainTimeout) = (self.host, self.sources, self.drainTimeout)
        let transport = connectTransport
        let window = max(1, connectWindow / max(1, processes))
        let workers = slices.count > 1 ? try WorkerPool(slices: Array(slices.dropFirst())) { slice in
            ["--worker", "--host", host, "--admin-port", "\(adminPortList[0])", "--client-port", "\(clientPortList[0])",
             "--client-ports", clientPortList.map(String.init).joined(separator: ","),
             "-n", "\(slice.count)", "--first-user", "\(slice.firstUser)", "--sources", "\(sources)",
             "--connect-window", "\(window)", "--connect-transport", transport.rawValue, "--drain-timeout", "\(drainTimeout)"] + (checkIds ? ["--check-ids"] : [])
        } : nil
        defer { workers?.quit() }
        let toolPids = [getpid()] + (workers?.pids ?? [])
        if let workers { log("\(workers.pids.count + 1) processes: \(slices.map { "\($0.count)" }.joined(separator: " + ")) clients") }

        // Admin connections: `adminConnections` to each admin port.
        var admins: [AdminConnection] = []
        var adminGroups: [[AdminConnection]] = []
        for adminPort in adminPortList {
            var group: [AdminConnection] = []
            for index in 0..<adminConnections {
                let admin = AdminConnection(host: "\(host):\(adminPort)")
                _ = try ClientBootstrap(group: loop)
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .bind(to: try SocketAddress(ipAddress: "127.0.0.\(1 + index % max(1, sources))", port: 0))
                    .channelInitializer { channel in
                        channel.pipeline.addHTTPClientHandlers().flatMap { channel.pipeline.addHandler(admin) }
                    }
                    .connect(host: host, port: adminPort).wait()
                admins.append(admin)
                group.append(admin)
            }
            adminGroups.append(group)
        }
        /// The least busy admin connection to node `node % adminGroups.count` (the only node without --admin-ports).
        func admin(_ index: Int, node: Int = 0) -> AdminConnection {
            let group = adminGroups[node % adminGroups.count]
            var best = group[index % group.count]
            for candidate in group where candidate.inFlight < best.inFlight { best = candidate }
            return best
        }
        let crossSends = self.crossSends
        let adminWindow = adminConnections * adminDepth

        let baseline = pid.map(rssBytes) ?? 0

        // Register the users.
        let registerStart = nowNs()
        let firstUser = self.firstUser
        try onLoop {
            bounded(clients, window: adminWindow) { index in
                let uid = firstUser + index
                return admin(index, node: uid).post("/user/register", json: #"{"userId":\#(uid),"hash":"h\#(uid)"}"#).map { _ in }
            }
        }
        let registerSeconds = Double(nowNs() - registerStart) / 1e9
        result.registerPerSecond = Double(clients) / registerSeconds
        let registered = pid.map(rssBytes) ?? 0
        log("registered \(clients) users in \(fmt(registerSeconds)) s")

        // Connect and authenticate (the connect-rate scenario): every process at once.
        let connectMeter = Meter(serverPid: pid, toolPids: toolPids)
        workers?.broadcast("CONNECT")
        let connection = try connectClients(host: host, ports: clientPortList, slice: slices[0], sources: max(1, sources),
                                            window: window, transport: transport, stats: stats)
        var connectEnd = nowNs()
        var authenticated = try loop.submit { stats.authenticated }.wait()
        var firstError = connection.firstError
        var workerLive: [Int] = []
        for reply in workers?.replies() ?? [] {
            guard reply.count >= 4, reply[0] == "CONNECTED" else { workerLive.append(0); continue }
            let count = Int(reply[1]) ?? 0
            workerLive.append(count)
            authenticated += count
            connectEnd = max(connectEnd, UInt64(reply[2]) ?? 0)
            if firstError == nil, reply[3] != "-" { firstError = reply[3] }
        }
        let connected = connectMeter.stop(at: connectEnd)
        if wanted.contains("connect") {
            result.connect = ConnectResult(
                clients: clients, transport: transport.rawValue, authenticated: authenticated, failed: clients - authenticated,
                seconds: connected.seconds, perSecond: Double(authenticated) / connected.seconds,
                cpu: connected.cpu,
                firstError: firstError
            )
        }
        log("authenticated \(authenticated)/\(clients) in \(fmt(connected.seconds)) s\(firstError.map { " first error: \($0)" } ?? "")")
        let live = authenticated

        // Idle memory.
        if wanted.contains("memory"), let pid {
            Thread.sleep(forTimeInterval: 2)
            let rss = rssBytes(pid)
            result.memory = MemoryResult(
                baselineRSS: baseline, registeredRSS: registered, connectedRSS: rss,
                bytesPerConnection: Double(rss - registered) / Double(max(1, live)),
                bytesPerConnectionInclUser: Double(rss - baseline) / Double(max(1, live))
            )
        }

        // Fan-out: M broadcasts, every authenticated client must get every one.
        if wanted.contains("fanout") {
            let count = broadcasts > 0 ? broadcasts : max(10, 500_000 / max(1, clients))
            let expected = count * live
            let all = loop.makePromise(of: Void.self)
            try loop.submit { stats.reset(expecting: count * stats.authenticated, promise: all) }.wait()
            workers?.broadcast("FANOUT \(count)")
            _ = workers?.replies()  // ARMED
            let meter = Meter(serverPid: pid, toolPids: toolPids)
            let trigger = meter.start
            var postsDone: UInt64 = 0
            let posts = onLoopFuture {
                bounded(count, window: adminWindow) { index in
                    admin(index / adminGroups.count, node: index).post("/broadcast", json: #"{"message":{"t":\#(nowNs()),"seq":\#(index),"text":"hello"}}"#)
                        .map { _ in }
                }.map { postsDone = nowNs() }
            }
            _ = try? posts.wait()
            workers?.broadcast("FANOUT-WAIT")
            wait(for: all, seconds: drainTimeout)
            var (delivered, first, last) = try loop.submit { (stats.received, stats.firstReceive, stats.lastReceive) }.wait()
            var (distinct, duplicates) = try loop.submit { (stats.ids.count, stats.duplicates) }.wait()
            for reply in workers?.replies() ?? [] where reply.count >= 6 && reply[0] == "FANOUT" {
                delivered += Int(reply[1]) ?? 0
                distinct += Int(reply[4]) ?? 0
                duplicates += Int(reply[5]) ?? 0
                let (workerFirst, workerLast) = (UInt64(reply[2]) ?? 0, UInt64(reply[3]) ?? 0)
                if workerFirst > 0 { first = first == 0 ? workerFirst : min(first, workerFirst) }
                last = max(last, workerLast)
            }
            let end = delivered >= expected ? last : nowNs()
            let usage = meter.stop(at: end)
            let seconds = Double(last > trigger ? last - trigger : 1) / 1e9
            result.fanout = FanoutResult(
                clients: live, broadcasts: count, expected: expected, delivered: delivered,
                lost: max(0, expected - (checkIds ? distinct : delivered)),
                distinct: checkIds ? distinct : nil, duplicates: checkIds ? duplicates : nil,
                seconds: seconds, deliveriesPerSecond: Double(delivered) / seconds,
                triggerToFirstMs: Double(first > trigger ? first - trigger : 0) / 1e6,
                triggerToLastMs: Double(last > trigger ? last - trigger : 0) / 1e6,
                postsSeconds: Double(postsDone > trigger ? postsDone - trigger : 0) / 1e9,
                cpu: usage.cpu
            )
            log("fan-out: \(delivered)/\(expected) deliveries in \(fmt(seconds)) s")
        }

        // Latency: per-user sends at a fixed rate, open loop; each message carries its intended send time.
        if wanted.contains("latency"), live > 0 {
            let rate = latencyRate
            let latencyDrainTimeout = self.latencyDrainTimeout
            let total = Int(Double(rate) * latencySeconds)
            let all = loop.makePromise(of: Void.self)
            try loop.submit {
                stats.reset(expecting: Int.max, promise: nil)
                stats.recordLatency = true
                stats.latency.reset()
            }.wait()
            workers?.broadcast("LATENCY")
            _ = workers?.replies()  // ARMED
            let meter = Meter(serverPid: pid, toolPids: toolPids)
            let start = meter.start
            let end = start + UInt64(latencySeconds * 1e9)
            var sent = 0
            var sentTo = [Int](repeating: 0, count: slices.count)  // messages per process (by the slice of the user)
            var errors = 0
            let maxInFlight = 4096
            let sendingDone = loop.makePromise(of: Void.self)
            var rng = SystemRandomNumberGenerator()
            let users = clients
            let sliceStarts = slices.map(\.firstUser)
            let interval = 1e9 / Double(rate)
            let ticker = loop.scheduleRepeatedTask(initialDelay: .zero, delay: .microseconds(500)) { task in
                let now = nowNs()
                let due = min(total, Int(Double(now - start) / interval) + 1)
                var touched: Set<ObjectIdentifier> = []
                var batch: [AdminConnection] = []
                while sent < due, now < end || sent < due {
                    let uid = firstUser + Int.random(in: 0..<users, using: &rng)
                    let connection = admin(sent, node: crossSends ? uid + 1 : uid)
                    if connection.inFlight * admins.count >= maxInFlight { break }
                    let intended = start + UInt64(Double(sent) * interval)
                    sentTo[(sliceStarts.lastIndex { $0 <= uid }) ?? 0] += 1
                    connection.post("/user/send", json: #"{"userId":\#(uid),"message":{"t":\#(intended),"seq":\#(sent)}}"#, flush: false)
                        .whenComplete { result in
                            if case .success((let status, _)) = result, status == 200 {} else { errors += 1 }
                        }
                    if touched.insert(ObjectIdentifier(connection)).inserted { batch.append(connection) }
                    sent += 1
                }
                for connection in batch { connection.flush() }
                if sent >= total || now >= end {
                    task.cancel()
                    sendingDone.succeed(())
                }
            }
            try sendingDone.futureResult.wait()
            _ = ticker
            let (sentTotal, perProcess) = try loop.submit { (sent, sentTo) }.wait()
            for index in 1..<max(1, perProcess.count) { workers?.send("LATENCY-WAIT \(perProcess[index])", to: index - 1) }
            try loop.submit {
                stats.expected = perProcess[0]
                if stats.received >= perProcess[0] { all.succeed(()) } else { stats.expectation = all }
            }.wait()
            wait(for: all, seconds: latencyDrainTimeout)
            var (delivered, histogram, errorCount) = try loop.submit { (stats.received, stats.latency, errors) }.wait()
            var (distinct, duplicates) = try loop.submit { (stats.ids.count, stats.duplicates) }.wait()
            try loop.submit { stats.recordLatency = false }.wait()
            for reply in workers?.replies() ?? [] where reply.count >= 5 && reply[0] == "LATENCY" {
                delivered += Int(reply[1]) ?? 0
                distinct += Int(reply[3]) ?? 0
                duplicates += Int(reply[4]) ?? 0
                if let other = decodeHistogram(reply[2]) { histogram.add(other) }
            }
            let usage = meter.stop(at: min(nowNs(), end))
            func ms(_ p: Double) -> Double { Double(histogram.valueAtPercentile(p)) / 1000 }
            result.latency = LatencyResult(
                clients: live, targetRate: rate, achievedRate: Double(sentTotal) / latencySeconds, sent: sentTotal,
                delivered: delivered, errors: errorCount,
                distinct: checkIds ? distinct : nil, duplicates: checkIds ? duplicates : nil,
                p50Ms: ms(50), p90Ms: ms(90), p99Ms: ms(99), p999Ms: ms(99.9), maxMs: Double(histogram.max) / 1000,
                cpu: usage.cpu
            )
            log("latency: \(delivered)/\(sentTotal) delivered")
        }

        // Close everything.
        try loop.submit { for handler in connection.handlers { handler.channel?.close(promise: nil) } }.wait()

        printTable(result)
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: json))
        }
        if wanted.contains("fanout"), let fanout = result.fanout, fanout.lost > 0 || live < clients {
            throw ExitCode(3)
        }
    }
}

/// How the load tool's clients connect.
enum ConnectTransport: String, CaseIterable, ExpressibleByArgument {
    /// Straight to WebSocket (`transport=websocket`): three round trips after the TCP handshake.
    case websocket
    /// As the official clients do by default: the Engine.IO handshake and the namespace connect over HTTP
    /// long-polling, then a second TCP connection upgrades the session to WebSocket (probe), then `auth`.
    case polling
}

/// Connects and authenticates the clients of `slice` (users `slice.firstUser...`), `window` handshakes in flight,
/// spread over the source addresses 127.0.0.1 ... 127.0.0.<sources>.
func connectClients(
    host: String, ports: [Int], slice: Slice, sources: Int, window: Int, transport: ConnectTransport, stats: Stats
) throws -> (handlers: [SocketIOClient], firstError: String?) {
    var handlers: [SocketIOClient] = []
    handlers.reserveCapacity(slice.count)
    let noPort = ChannelOptions.Types.SocketOption(level: .init(rawValue: CInt(IPPROTO_IP)), name: .init(rawValue: 24))  // IP_BIND_ADDRESS_NO_PORT
    var firstError: String?
    // Resolved once: `connect(host:port:)` would run a resolver and a happy-eyeballs race (a thread hop and two
    // timers) for every client, which made the tool, not the server, the limit of the connect rate.
    let targets = try ports.map { try SocketAddress.makeAddressResolvingHost(host, port: $0) }
    let sourceAddresses = try (1...max(1, sources)).map { try SocketAddress(ipAddress: "127.0.0.\($0)", port: 0) }
    func bootstrap(uid: Int, from source: SocketAddress, _ handler: some ChannelHandler & Sendable) -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(noPort, value: 1)
            .bind(to: source)
            .connectTimeout(.seconds(20))
            .channelInitializer { $0.pipeline.addHandler(handler) }
            .connect(to: targets[uid % targets.count])
    }
    /// The WebSocket half: a new session, or the upgrade of the polling session `sid`.
    func webSocket(uid: Int, sid: String?, source: SocketAddress, promise: EventLoopPromise<Void>) {
        let handler = SocketIOClient(host: host, port: ports[uid % ports.count], userId: uid, hash: "h\(uid)", sid: sid, stats: stats, promise: promise)
        handlers.append(handler)
        bootstrap(uid: uid, from: source, handler).whenFailure { promise.fail($0) }
    }
    try onLoop {
        bounded(slice.count, window: window) { index in
            let uid = slice.firstUser + index
            let promise = loop.makePromise(of: Void.self)
            let source = sourceAddresses[uid % sourceAddresses.count]
            switch transport {
            case .websocket:
                webSocket(uid: uid, sid: nil, source: source, promise: promise)
            case .polling:
                let opened = loop.makePromise(of: String.self)
                bootstrap(uid: uid, from: source, PollingHandshake(host: host, port: ports[uid % ports.count], promise: opened))
                    .whenFailure { opened.fail($0) }
                opened.futureResult.whenComplete { result in
                    switch result {
                    case .success(let sid): webSocket(uid: uid, sid: sid, source: source, promise: promise)
                    case .failure(let error): promise.fail(error)
                    }
                }
            }
            return promise.futureResult.flatMapErrorThrowing { error in
                if firstError == nil { firstError = "\(error)" }
                if stats.failed == 0 { stats.failed += 1 }  // a connect failure never reached the handler
            }
        }
    }
    return (handlers, firstError)
}

/// "19701,19711" as ports; empty: `default` alone.
func ports(_ list: String, default port: Int) throws -> [Int] {
    guard !list.isEmpty else { return [port] }
    return try list.split(separator: ",").map {
        guard let port = Int($0.trimmingCharacters(in: .whitespaces)), (1...65535).contains(port) else {
            throw ValidationError("not a port list: \(list)")
        }
        return port
    }
}

func onLoopFuture<T>(_ body: @escaping () -> EventLoopFuture<T>) -> EventLoopFuture<T> { loop.flatSubmit(body) }

func log(_ text: String) {
    FileHandle.standardError.write(Data("[loadtool] \(text)\n".utf8))
}

func fmt(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

func printTable(_ r: RunResult) {
    var lines = ["| \(r.label) N=\(r.clients) | value | server CPU % (core 0 busy %) | client CPU % (core 1 busy %) | saturated |", "|---|---|---|---|---|"]
    if let c = r.connect {
        lines.append("| connect rate (\(c.transport)) | \(fmt(c.perSecond, 0)) clients/s (\(c.authenticated)/\(c.clients) in \(fmt(c.seconds)) s) | \(fmt(c.cpu.server, 0)) (\(fmt(c.cpu.core0Busy, 0))) | \(fmt(c.cpu.client, 0)) (\(fmt(c.cpu.core1Busy, 0))) | \(c.cpu.saturated) |")
    }
    if let m = r.memory {
        lines.append("| idle memory | \(fmt(m.bytesPerConnection / 1024)) KB/conn (\(fmt(m.bytesPerConnectionInclUser / 1024)) KB incl. user record; RSS \(m.connectedRSS / 1_048_576) MB) | | | |")
    }
    if let f = r.fanout {
        lines.append("| fan-out | \(fmt(f.deliveriesPerSecond, 0)) deliveries/s (\(f.broadcasts) x \(f.clients), lost \(f.lost), last after \(fmt(f.triggerToLastMs, 1)) ms) | \(fmt(f.cpu.server, 0)) (\(fmt(f.cpu.core0Busy, 0))) | \(fmt(f.cpu.client, 0)) (\(fmt(f.cpu.core1Busy, 0))) | \(f.cpu.saturated) |")
    }
    if let l = r.latency {
        lines.append("| latency | p50 \(fmt(l.p50Ms)) p99 \(fmt(l.p99Ms)) p99.9 \(fmt(l.p999Ms)) max \(fmt(l.maxMs)) ms at \(fmt(l.achievedRate, 0))/s (\(l.delivered)/\(l.sent)) | \(fmt(l.cpu.server, 0)) (\(fmt(l.cpu.core0Busy, 0))) | \(fmt(l.cpu.client, 0)) (\(fmt(l.cpu.core1Busy, 0))) | \(l.cpu.saturated) |")
    }
    print(lines.joined(separator: "\n"))
}
