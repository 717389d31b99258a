import Hummingbird
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The control server's open connections, shared by every connection's `ConnectionGuard`.
///
/// Up to `maxConnections` are served normally. Past that a connection is "overflow": it may
/// send one request, and while it has sent nothing it waits in a queue of at most
/// `overflowConnections`; when a new one arrives with the queue full, the oldest waiting one is
/// closed to make room. So an idle flood holds at most `maxConnections + overflowConnections`
/// descriptors, and a probe that connects and asks at once always gets in.
final class ConnectionRegistry: Sendable {
    enum Admission { case normal, overflow, refused }
    private struct State {
        var open = 0
        var waiting: [(id: ObjectIdentifier, channel: any Channel)] = []
    }
    private let state = Mutex(State())
    private let settings: ControlSettings

    init(settings: ControlSettings) { self.settings = settings }

    var count: Int { state.withLock { $0.open } }

    func admit(_ channel: any Channel) -> Admission {
        let (admission, evict): (Admission, (any Channel)?) = state.withLock { s in
            s.open += 1
            if s.open <= settings.maxConnections { return (.normal, nil) }
            // Evicted channels leave `open` only once closed: a hard cap on top, for safety.
            if s.open > settings.maxConnections + 4 * max(1, settings.overflowConnections) { return (.refused, nil) }
            var evict: (any Channel)?
            if s.waiting.count >= settings.overflowConnections, !s.waiting.isEmpty { evict = s.waiting.removeFirst().channel }
            if settings.overflowConnections == 0 { return (.refused, nil) }
            s.waiting.append((ObjectIdentifier(channel), channel))
            return (.overflow, evict)
        }
        evict?.close(promise: nil)
        return admission
    }

    /// The connection sent a request head: no longer an idle one to evict.
    func started(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { s in s.waiting.removeAll { $0.id == id } }
    }

    func closed(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        state.withLock { s in
            s.open -= 1
            s.waiting.removeAll { $0.id == id }
        }
    }
}

/// First handler after HTTP decoding on every control connection: enforces the connection
/// limit and the read deadlines, so neither idle nor slow clients can hold the server.
///
/// - A request (head and body) must arrive within `requestReadTimeout` of the connection
///   opening; a kept-alive connection must start its next request within `idleTimeout` of the
///   last answer. Otherwise the connection is closed. A slow-loris client trickling a byte at a
///   time is therefore closed after at most `requestReadTimeout` (or `idleTimeout`) seconds.
/// - Over `maxConnections` a connection is answered once, then closed: `GET /healthz` still
///   goes through (probes keep working under a flood), and so does a request that carries the
///   control token (the operator can still switch while others hold every slot: a flood from
///   clients without the token locks nobody out), anything else gets 503; an overflow
///   connection that sends nothing is closed after 1 s, or sooner when newer ones need its
///   place (`ConnectionRegistry`).
///
/// Runs on the connection's event loop; never blocks.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let settings: ControlSettings
    private let registry: ConnectionRegistry
    private var counted = false
    private var overLimit = false
    private var refusing = false
    private var deadline: Scheduled<Void>?
    private let token: ControlToken?

    init(settings: ControlSettings, registry: ConnectionRegistry, token: ControlToken? = nil) {
        self.settings = settings
        self.registry = registry
        self.token = token
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { begin(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        begin(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if counted { registry.closed(context.channel); counted = false }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        if counted { registry.closed(context.channel); counted = false }
    }

    private func begin(_ context: ChannelHandlerContext) {
        guard !counted else { return }
        counted = true
        switch registry.admit(context.channel) {
        case .normal: overLimit = false
        case .overflow: overLimit = true
        case .refused:
            context.close(promise: nil)
            return
        }
        // An over-limit connection gets a short wait: it holds a descriptor the others need.
        arm(context, seconds: overLimit ? min(1, settings.requestReadTimeout) : settings.requestReadTimeout)
    }

    private func arm(_ context: ChannelHandlerContext, seconds: Double) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if refusing { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if overLimit && !(head.method == .get && head.path == "/healthz")
                && token?.matches(authorization: head.headerFields[.authorization]) != true {
                // Stays evictable: a refused request is no reason to keep its place.
                refuse(context)
                return
            }
            if overLimit { registry.started(context.channel) }
            arm(context, seconds: settings.requestReadTimeout)
        case .body:
            break
        case .end:
            // Read in full: the responder's time is its own, not the client's.
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        if overLimit {
            let done = promise ?? context.eventLoop.makePromise()
            context.write(data, promise: done)
            let channel = context.channel
            done.futureResult.whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.write(data, promise: promise)
            arm(context, seconds: settings.idleTimeout)
        }
    }

    /// Answers 503 (after 1 s: a client that reconnects at once would otherwise turn the
    /// refusals into a busy loop of accept, parse, answer, close) and closes, reading nothing
    /// more from this connection.
    private func refuse(_ context: ChannelHandlerContext) {
        refusing = true
        deadline?.cancel()
        deadline = nil
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .seconds(1)) {
            let (handler, context) = bound.value
            guard context.channel.isActive else { return }
            handler.answer503(context)
        }
    }

    private func answer503(_ context: ChannelHandlerContext) {
        let body = ByteBuffer(string: #"{"error":"too many connections to the control server; retry later"}"#)
        var head = HTTPResponse(status: .serviceUnavailable)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(body.readableBytes)
        head.headerFields[.connection] = "close"
        head.headerFields[.retryAfter] = "5"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
