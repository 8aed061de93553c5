import HTTPTypes
import Logging
import NIOCore
public import PushinatorHTTP
import Prometheus
import PushinatorJSON
import PushinatorRuntime
import PushinatorSocketIO
import Synchronization

/// The admin API a backend calls: POST routes with JSON bodies whatever the `Content-Type`, behind the
/// ``AdminGuard``. See `Documentation/admin-api.md`.
public struct AdminRouter: Sendable {
    let app: PushApp

    /// Creates the admin API of `app`.
    public init(app: PushApp) { self.app = app }

    /// The paths ``PushMetrics`` counts by name, the busiest first (the metrics look a request's path up in order).
    static let countedRoutes = [
        "/user/send", "/broadcast", "/user/register", "/user/unregister", "/ping", "/stats", "/user/list", "/health", "/metrics", "/status", "/",
    ]

    /// The router to serve on the admin listener.
    public var router: Router {
        let (app, users, clients, logger) = (self.app, app.users, app.clients, app.clients.logger)
        return Router {
            if let metrics = app.metrics {  // the log line and the metrics in one layer
                AdminMetricsMiddleware(log: RequestLogMiddleware(.debug), metrics: metrics.adminRequests, routes: Self.countedRoutes)
            } else {
                RequestLogMiddleware(.debug)
            }
            AdminGuard { app.settings.withLock { ($0.adminToken, $0.adminAllowedOrigins) } }
            Get("health") { _, _ in
                var body: JSONObject = [
                    "version": .string(PushApp.version),
                    "uptime": .integer(Int((ContinuousClock.now - app.startedAt).components.seconds)),
                    "connections": .integer(app.clients.socketCount),
                    "users": .integer(app.users.count),
                ]
                guard let cluster = app.cluster?.status else { return AdminAPI.ok(body) }
                body["cluster"] = .object(PushApp.json(of: cluster))
                // cut off from the database, or the bus lagging, a node still serves its own clients but is
                // degraded: 503 for checks
                let maxBusLag = app.settings.withLock { $0.cluster?.maxBusLag } ?? 5_000
                if let reason = PushApp.degradation(of: cluster, maxBusLag: .milliseconds(maxBusLag)) {
                    body["result"] = "DEGRADED"
                    body["reason"] = .string(reason)
                    body["status"] = 503
                    return Response.json(.object(body), status: .serviceUnavailable)
                }
                return AdminAPI.ok(body)
            }
            Get("/") { _, _ in try StatusPage.response(app) }  // the live status page (Templates/status.mustache)
            Get("status") { _, _ in StatusPage.json(app) }  // what the status page polls
            Get("metrics") { _, _ in
                guard let metrics = app.metrics else {
                    throw HTTPError(.notFound, message: "Metrics are disabled (admin.metrics is false)")
                }
                return Response(
                    headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                    body: .buffer(ByteBuffer(bytes: metrics.scrape(app)))
                )
            }
            Post("ping") { _, _ in Response.json(["result": "pong", "status": 200]) }
            Post("user/register") { request, _ in
                let body = try AdminAPI.body(of: request)
                guard let userID = AdminAPI.userID(body["userId"]), let hash = AdminAPI.userID(body["hash"]) else {
                    throw AdminAPI.missing("Missing userId or hash in data", body: body)
                }
                guard userID.utf8.count <= UserRegistry.maximumUserIDLength else {
                    throw HTTPError(.badRequest, message: "userId longer than \(UserRegistry.maximumUserIDLength) bytes")
                }
                guard hash.utf8.count <= UserRegistry.maximumHashLength else {
                    throw HTTPError(.badRequest, message: "hash longer than \(UserRegistry.maximumHashLength) bytes")
                }
                let registration: UserRegistry.Registration
                do throws(UserStoreError) {
                    registration = try await users.register(userID, hash: hash)
                } catch {
                    throw PushApp.storeUnavailable(error, logger: logger, call: "user/register")
                }
                await app.replicateRegistration(userID, hash: hash)  // every node of a cluster accepts the user's auth
                if registration == .rotated {  // the old hash no longer opens anything, on any node
                    await clients.to(PushApp.room(of: userID)).disconnectSockets()
                }
                return AdminAPI.ok()
            }
            Post("user/unregister") { request, _ in
                let body = try AdminAPI.body(of: request)
                guard let userID = AdminAPI.userID(body["userId"]) else {
                    throw AdminAPI.missing("Missing userId in data", body: body)
                }
                let removed: Bool
                do throws(UserStoreError) {
                    removed = try await users.unregister(userID)
                } catch {
                    throw PushApp.storeUnavailable(error, logger: logger, call: "user/unregister")
                }
                await app.replicateUnregistration(userID)
                await clients.to(PushApp.room(of: userID)).disconnectSockets()  // on every node of a cluster
                return AdminAPI.ok(["removed": .bool(removed)])
            }
            // Answered on the event loop without a task unless it waits for acks or a durable queue write.
            Post("user/send", synchronously: { request, _ -> Response? in
                guard users.store.writesCompleteAtOnce, app.cluster == nil else { return nil }
                let send = try SendRequest(request)
                guard send.ack == nil else { return nil }
                let (delivered, queued) = app.deliverNow(send.message, to: send.userIDs)
                return app.sendAnswer(delivered: delivered, acked: nil, queued: queued.userIDs.count)
            }) { request, _ in
                let send = try SendRequest(request)
                if app.cluster != nil {
                    let delivery = await app.deliverOnCluster(send.message, to: send.userIDs, ack: send.ack)
                    do throws(UserStoreError) {
                        try await delivery.queued.durable()
                    } catch {
                        throw PushApp.storeUnavailable(error, logger: logger, call: "user/send")
                    }
                    if delivery.notPublished { throw PushApp.clusterUnavailable(delivered: delivery.delivered) }
                    return app.sendAnswer(
                        delivered: delivery.delivered,
                        acked: delivery.acked,
                        queued: delivery.queued.userIDs.count,
                        partial: delivery.partial
                    )
                }
                let (delivered, acked, queued) = await app.deliver(send.message, to: send.userIDs, ack: send.ack)
                do throws(UserStoreError) {
                    try await queued.durable()
                } catch {
                    throw PushApp.storeUnavailable(error, logger: logger, call: "user/send")
                }
                return app.sendAnswer(delivered: delivered, acked: acked, queued: queued.userIDs.count)
            }
            Post("broadcast") { request, _ in
                let body = try AdminAPI.body(of: request)
                guard let message = body["message"] else { throw AdminAPI.missing("Missing message in data", body: body) }
                guard app.cluster != nil else {
                    let delivered = clients.to("authenticated").emit("message", [app.payload(message)])
                    app.countSent(delivered: delivered)
                    return AdminAPI.ok(["delivered": .integer(delivered)])
                }
                let count = await clients.to("authenticated").emitCounting("message", [app.payload(message)])
                app.countSent(delivered: count.delivered)
                if count.notPublished { throw PushApp.clusterUnavailable(delivered: count.delivered) }
                var answer: JSONObject = ["delivered": .integer(count.delivered)]
                if count.missingServers > 0 { answer["partial"] = true }
                return AdminAPI.ok(answer)
            }
            Post("user/list") { _, _ in AdminAPI.ok(["users": .array(users.userIDs.map(JSONValue.string))]) }
            Post("stats") { _, _ in
                let memory = ProcessMemory.current()
                var clusterStats: JSONObject?
                if let cluster = app.cluster {
                    clusterStats = PushApp.json(of: cluster.status)
                    clusterStats?["connections"] = .integer(await clients.clientCount())  // every node's, by the deadline
                }
                var stats: JSONObject = [
                    "memory": ["rss": .integer(memory.resident), "peakRss": .integer(memory.peakResident), "virtual": .integer(memory.virtual)],
                    "users": .integer(users.count),
                    "offlineQueue": {
                        let queue = users.store.queueStatistics
                        return [
                            "messages": .integer(queue.messages), "bytes": .integer(queue.bytes),
                            "dropped": .integer(queue.dropped), "expired": .integer(queue.expired),
                        ]
                    }(),
                    "recovery": {
                        let recovery = app.io.recoveryStatistics
                        return [
                            "sessions": .integer(recovery.sessions), "messages": .integer(recovery.packets),
                            "bytes": .integer(recovery.bytes),
                            "dropped": .integer(recovery.droppedPackets + recovery.droppedSessions),
                            "expired": .integer(recovery.expired),
                            "recovered": .integer(recovery.recovered), "refused": .integer(recovery.refused),
                        ]
                    }(),
                    "connections": .integer(clients.socketCount),
                    "pendingAcks": .integer(app.ackBudget.current),
                    "uptime": .integer(Int((ContinuousClock.now - app.startedAt).components.seconds)),
                ]
                if let clusterStats { stats["cluster"] = .object(clusterStats) }
                return AdminAPI.ok(stats)
            }
        }
    }
}
