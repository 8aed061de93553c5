#if canImport(Glibc)
import Glibc
#endif
import EngineIO
import Logging
import PushinatorHTTP
import PushinatorJSON
import PushinatorRuntime
import PushinatorSocketIO

/// What the status page shows, read from a ``PushApp`` at one instant: the page's first render (``StatusPage``)
/// and the JSON it polls (`GET /status`) are made from the same snapshot, so they always agree.
struct StatusSnapshot {
    /// The chart's drawing box, in SVG user units.
    static let chartWidth = 600
    static let chartHeight = 150
    static let chartTop = 16
    /// The rates are averaged over the last samples, so that one quiet second does not read as zero.
    static let rateSamples = 5

    let version: String
    let uptimeSeconds: Int
    let connections: Int
    let webSocketConnections: Int
    let pollingConnections: Int
    let usersRegistered: Int
    let usersAuthenticated: Int
    let sentTotal: Int
    let deliveredTotal: Int
    let sentRate: Double
    let deliveredRate: Double
    let slowDisconnects: Int
    let slowDrops: Int
    let queued: Int
    let loopLagMilliseconds: Double
    let warnings: [RecentWarnings.Entry]
    let warningsTotal: Int
    let samples: [StatusHistory.Sample]
    let capacity: Int
    let intervalSeconds: Double

    init(_ app: PushApp) {
        version = PushApp.version
        uptimeSeconds = Int((ContinuousClock.now - app.startedAt).components.seconds)
        connections = app.clients.socketCount
        let engine = app.io.engine
        let sessions = engine.sessionCount
        webSocketConnections = min(sessions, engine.statistics.webSocketSessions)
        pollingConnections = max(0, sessions - webSocketConnections)
        usersRegistered = app.users.count
        usersAuthenticated = app.users.connectedCount
        sentTotal = app.messagesSent.value
        deliveredTotal = app.messagesDelivered.value
        slowDisconnects = engine.statistics.slowConsumers.disconnects
        slowDrops = engine.statistics.slowConsumers.drops
        queued = app.users.store.queueStatistics.messages
        loopLagMilliseconds = Double(app.eventLoopLag.current.components.attoseconds) / 1e15
            + Double(app.eventLoopLag.current.components.seconds) * 1000
        warnings = app.warnings.entries
        warningsTotal = app.warnings.total
        samples = app.history.samples
        capacity = app.history.capacity
        let (seconds, attoseconds) = app.history.interval.components
        intervalSeconds = max(0.001, Double(seconds) + Double(attoseconds) / 1e18)
        let recent = samples.suffix(Self.rateSamples)
        let span = Double(max(1, recent.count)) * intervalSeconds
        sentRate = Double(recent.reduce(0) { $0 + $1.sent }) / span
        deliveredRate = Double(recent.reduce(0) { $0 + $1.delivered }) / span
    }

    /// The figures as the page prints them, keyed by the id of their element.
    var figures: [String: String] {
        [
            "uptime": Self.duration(uptimeSeconds),
            "connections": String(connections),
            "connections-polling": String(pollingConnections),
            "connections-websocket": String(webSocketConnections),
            "users-registered": String(usersRegistered),
            "users-authenticated": String(usersAuthenticated),
            "sent-rate": Self.decimal(sentRate),
            "delivered-rate": Self.decimal(deliveredRate),
            "sent-total": String(sentTotal),
            "delivered-total": String(deliveredTotal),
            "slow-consumers": String(slowDisconnects + slowDrops),
            "slow-disconnects": String(slowDisconnects),
            "slow-drops": String(slowDrops),
            "queued": String(queued),
            "loop-lag": Self.decimal(loopLagMilliseconds) + " ms",
            "warnings-total": String(warningsTotal),
        ]
    }

    /// The chart: two SVG polylines (delivered and sent per second), newest at the right edge.
    var chart: (delivered: String, sent: String, max: String) {
        let rate = { (count: Int) in Double(count) / self.intervalSeconds }
        let highest = max(1, samples.map { rate(max($0.delivered, $0.sent)) }.max() ?? 0)
        let step = Double(Self.chartWidth) / Double(capacity - 1)
        let offset = capacity - samples.count
        let usable = Double(Self.chartHeight - Self.chartTop)
        func points(_ value: (StatusHistory.Sample) -> Int) -> String {
            samples.enumerated().map { index, sample in
                let x = Double(offset + index) * step
                let y = Double(Self.chartHeight) - rate(value(sample)) / highest * usable
                return Self.decimal(x) + "," + Self.decimal(y)
            }.joined(separator: " ")
        }
        return (points(\.delivered), points(\.sent), Self.decimal(highest))
    }

    /// The warnings as the page lists them.
    var warningRows: [[String: String]] {
        warnings.map { ["time": Self.clock($0.time), "level": $0.level.rawValue, "message": $0.message] }
    }

    /// The JSON of `GET /status`: the figures as printed, the raw values, the chart and the warnings.
    var json: JSONObject {
        let chart = self.chart
        var figures: JSONObject = [:]
        for (key, value) in self.figures.sorted(by: { $0.key < $1.key }) { figures[key] = .string(value) }
        return [
            "version": .string(version),
            "figures": .object(figures),
            "values": [
                "uptime": .integer(uptimeSeconds),
                "connections": .integer(connections),
                "connectionsPolling": .integer(pollingConnections),
                "connectionsWebSocket": .integer(webSocketConnections),
                "usersRegistered": .integer(usersRegistered),
                "usersAuthenticated": .integer(usersAuthenticated),
                "sentTotal": .integer(sentTotal),
                "deliveredTotal": .integer(deliveredTotal),
                "sentPerSecond": .double(sentRate),
                "deliveredPerSecond": .double(deliveredRate),
                "slowConsumerDisconnects": .integer(slowDisconnects),
                "slowConsumerDrops": .integer(slowDrops),
                "queued": .integer(queued),
                "eventLoopLagMs": .double(loopLagMilliseconds),
            ],
            "history": [
                "intervalSeconds": .double(intervalSeconds),
                "capacity": .integer(capacity),
                "delivered": .array(samples.map { .integer($0.delivered) }),
                "sent": .array(samples.map { .integer($0.sent) }),
            ],
            "chart": ["delivered": .string(chart.delivered), "sent": .string(chart.sent), "max": .string(chart.max)],
            "warnings": .array(warningRows.map { row in .object(["time": .string(row["time"]!), "level": .string(row["level"]!), "message": .string(row["message"]!)]) }),
        ]
    }

    /// The values the Mustache template reads.
    func templateContext(refreshSeconds: Int) -> [String: Any] {
        let chart = self.chart
        return [
            "version": version,
            "refreshSeconds": refreshSeconds,
            "figures": figures,
            "warnings": warningRows,
            "chart": [
                "width": Self.chartWidth, "height": Self.chartHeight, "top": Self.chartTop, "labelY": Self.chartTop - 4,
                "minutes": Self.decimal(Double(capacity) * intervalSeconds / 60),
                "delivered": chart.delivered, "sent": chart.sent, "max": chart.max,
            ] as [String: Any],
        ]
    }

    /// `12.3`, `7`: one decimal, none when it is zero.
    static func decimal(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = Int((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let magnitude = abs(tenths)
        return magnitude % 10 == 0 ? sign + String(magnitude / 10) : sign + "\(magnitude / 10).\(magnitude % 10)"
    }

    /// `3d 4h`, `2h 03m`, `5m 07s`, `42s`.
    static func duration(_ seconds: Int) -> String {
        let (days, hours, minutes, rest) = (seconds / 86400, seconds / 3600 % 24, seconds / 60 % 60, seconds % 60)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if days > 0 { return "\(days)d \(hours)h" }
        if hours > 0 { return "\(hours)h \(two(minutes))m" }
        if minutes > 0 { return "\(minutes)m \(two(rest))s" }
        return "\(rest)s"
    }

    /// `2026-12-06 08:33:43Z`: a time in UTC.
    static func clock(_ time: Int) -> String {
        var seconds = time_t(time)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
