/// Live inputs whose timestamps jump back while the connection stays up: a publisher behind a
/// media server restarted, and the server kept our session (nginx-rtmp does, and by default
/// says nothing), so the new stream arrives on it starting again near 0. Left alone, media time
/// would run backwards: the schedule and live switches would be judged at replayed times (a
/// synthetic stretch going out unlabeled) and the video encoder would get a second of frames
/// crammed 1 tick apart. Instead each stream's packets get an offset so media time carries on
/// from where it was, as after a reconnect; every stream of the new source gets the same
/// offset, so they stay in step with each other.
///
/// Per connection (a reconnect starts afresh). Times are seconds on the connection's own clock.
struct TimestampJumps {
    /// A stream going back more than this counts as a new source (decode timestamps never go
    /// back in a stream; a forward gap is left alone: it may be real).
    static let threshold = 0.5

    /// Seconds added to each stream's timestamps.
    private(set) var offsets: [Int: Double] = [:]
    /// The last time seen per stream, offset included.
    private var last: [Int: Double] = [:]
    /// The offset of the newest jump, for the other streams of that source to take.
    private var newest: Double?

    /// The offset for a packet of `stream` at `time`; `resumeAt` is where media time should
    /// carry on (just past the newest packet, on this clock) if the packet starts a new source.
    /// `jumped` is true when it does.
    mutating func offset(stream: Int, time: Double, resumeAt: Double) -> (offset: Double, jumped: Bool) {
        var offset = offsets[stream] ?? 0
        var jumped = false
        if let previous = last[stream], time + offset < previous - Self.threshold {
            if let newest, newest != offset, time + newest >= previous - Self.threshold {
                offset = newest          // the source another stream already moved onto
            } else {
                offset = resumeAt - time
                newest = offset
                jumped = true
            }
            offsets[stream] = offset
        }
        last[stream] = time + offset
        return (offset, jumped)
    }
}
