import CFFmpeg
import Foundation
import Synchronization

/// What a stream of an input carries, as found by `avformat_find_stream_info`.
public struct StreamInfo: Sendable {
    public enum Kind: Sendable, Equatable { case video, audio, data, subtitle, other }
    public let index: Int
    public let kind: Kind
    public let codecName: String
    public let timeBase: Rational
    /// Average frame rate (video), or 0/0 when unknown.
    public let frameRate: Rational
    public let width: Int
    public let height: Int
    public let sampleRate: Int
    public let channels: Int
    public let bitRate: Int64
    /// Stream start in its time base, or `MediaTime.noPTS`.
    public let startTime: Int64
    public let duration: Int64
    public let metadata: [String: String]
}

/// Lets a blocking FFmpeg I/O call give up: on shutdown, or when no data came for `timeout`.
/// FFmpeg polls `shouldAbort` from inside its I/O loops (the AVIOInterruptCB).
public final class IOInterrupter: Sendable {
    private let cancelled = Atomic<Bool>(false)
    /// Deadline for the current blocking call in uptime nanoseconds; 0 = none.
    private let deadline = Atomic<UInt64>(0)
    private let timeoutNanos: UInt64

    public init(timeout: Double? = nil) {
        timeoutNanos = timeout.map { UInt64(max(0, $0) * 1e9) } ?? 0
    }
    /// The timeout for one blocking call, if any (seconds).
    public var timeoutSeconds: Double? { timeoutNanos > 0 ? Double(timeoutNanos) / 1e9 : nil }
    public func cancel() { cancelled.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
    /// Starts the timeout clock for the next blocking call; `timed: false` lets it wait until
    /// cancelled (a listener waiting for its caller).
    public func arm(timed: Bool = true) {
        expired.store(false, ordering: .relaxed)
        if timeoutNanos > 0 && timed { deadline.store(DispatchTime.now().uptimeNanoseconds + timeoutNanos, ordering: .relaxed) }
    }
    public func disarm() { deadline.store(0, ordering: .relaxed) }
    public var timedOut: Bool {
        let d = deadline.load(ordering: .relaxed)
        return d != 0 && DispatchTime.now().uptimeNanoseconds > d
    }
    /// Set when the timeout (not a cancel) aborted a call since the last `arm()`: some demuxers
    /// (HLS) turn the abort into a plain end of input, which would hide a stalled server.
    private let expired = Atomic<Bool>(false)
    public var timeoutFired: Bool { expired.load(ordering: .relaxed) }
    var shouldAbort: Bool {
        if isCancelled { return true }
        if timedOut { expired.store(true, ordering: .relaxed); return true }
        return false
    }

    func install(on context: UnsafeMutablePointer<AVFormatContext>) {
        lc_set_interrupt(context, { opaque in
            guard let opaque else { return 0 }
            let me = Unmanaged<IOInterrupter>.fromOpaque(opaque).takeUnretainedValue()
            return me.shouldAbort ? 1 : 0
        }, Unmanaged.passUnretained(self).toOpaque())
    }
}

/// An opened input: any URL or path libavformat reads (file, pipe:, rtmp://, srt://, udp://, HLS).
/// Reading blocks; call it from one serial queue. `interrupter.cancel()` from any thread makes a
/// blocked read return end-of-input.
public final class Demuxer: @unchecked Sendable {
    public let context: UnsafeMutablePointer<AVFormatContext>
    /// The streams as last described: at open, and again after `refreshStreams()` (a live
    /// input's stream that showed up, or learnt its parameters, after the probe).
    public private(set) var streams: [StreamInfo]
    /// Packets read ahead (while waiting for a late stream) that `read()` hands out first.
    private var readAhead: [Packet] = []
    public let interrupter: IOInterrupter
    /// The URL as shown in messages (credentials removed by the caller).
    public let displayName: String

    /// Opens `url`. `options` are libavformat/protocol options (probesize, fflags, rw_timeout…).
    /// `untimedOpen`: the connection itself (a listener's accept, the first bytes) may take
    /// as long as it takes, until the interrupter is cancelled; reading the stream's
    /// parameters is timed as usual.
    public init(url: String, format: String? = nil, options: [String: String] = [:],
                displayName: String? = nil, interrupter: IOInterrupter = IOInterrupter(), untimedOpen: Bool = false) throws {
        self.displayName = displayName ?? url
        self.interrupter = interrupter
        var ctx: UnsafeMutablePointer<AVFormatContext>? = avformat_alloc_context()
        guard let allocated = ctx else { throw MediaError(call: "avformat_alloc_context", code: lc_averror_enomem()) }
        interrupter.install(on: allocated)
        var inputFormat: UnsafePointer<AVInputFormat>? = nil
        if let format {
            inputFormat = av_find_input_format(format)
            if inputFormat == nil {
                avformat_free_context(allocated)
                throw MediaError(call: "av_find_input_format", code: lc_averror_demuxer_not_found(),
                                 message: "unknown input format '\(format)'", context: self.displayName)
            }
        }
        var dict = Dictionary_AV(options)
        interrupter.arm(timed: !untimedOpen)
        // avformat_open_input frees the context itself when it fails.
        let openResult = avformat_open_input(&ctx, url, inputFormat, &dict.pointer)
        interrupter.disarm()
        dict.free()
        if openResult < 0 {
            throw MediaError(call: "avformat_open_input", code: openResult, context: self.displayName)
        }
        context = ctx!
        interrupter.arm()
        let infoResult = avformat_find_stream_info(context, nil)
        interrupter.disarm()
        if infoResult < 0 {
            var c: UnsafeMutablePointer<AVFormatContext>? = context
            avformat_close_input(&c)
            throw MediaError(call: "avformat_find_stream_info", code: infoResult, context: self.displayName)
        }
        var infos: [StreamInfo] = []
        for i in 0..<Int(context.pointee.nb_streams) {
            guard let s = context.pointee.streams[i] else { continue }
            infos.append(Demuxer.describe(s, index: i))
        }
        streams = infos
    }

    /// Describes the streams again: the demuxer may have added streams while reading (FLV,
    /// MPEG-TS) or a caller may have filled in a stream's parameters.
    public func refreshStreams() {
        var infos: [StreamInfo] = []
        for i in 0..<Int(context.pointee.nb_streams) {
            guard let s = context.pointee.streams[i] else { continue }
            infos.append(Demuxer.describe(s, index: i))
        }
        streams = infos
    }

    /// Puts packets already read back in front of the input, in order: `read()` returns them
    /// before reading on (a probe that read ahead loses nothing).
    public func unread(_ packets: [Packet]) {
        readAhead.insert(contentsOf: packets, at: 0)
    }

    /// Closes the input's connection (or file) now, ahead of `deinit`: a live input given up for
    /// a reconnect must not stay subscribed at the server while the object lives on. The
    /// context and its streams stay valid; reading afterwards returns an error.
    public func closeInput() {
        let nofile = (context.pointee.iformat?.pointee.flags ?? 0) & AVFMT_NOFILE != 0
        let customIO = context.pointee.flags & AVFMT_FLAG_CUSTOM_IO != 0
        guard !nofile, !customIO, context.pointee.pb != nil else { return }
        avio_closep(&context.pointee.pb)
    }

    deinit {
        var c: UnsafeMutablePointer<AVFormatContext>? = context
        avformat_close_input(&c)
    }

    static func describe(_ s: UnsafeMutablePointer<AVStream>, index: Int) -> StreamInfo {
        let par = s.pointee.codecpar!.pointee
        let kind: StreamInfo.Kind
        switch par.codec_type {
        case AVMEDIA_TYPE_VIDEO: kind = (s.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0 ? .other : .video
        case AVMEDIA_TYPE_AUDIO: kind = .audio
        case AVMEDIA_TYPE_DATA: kind = .data
        case AVMEDIA_TYPE_SUBTITLE: kind = .subtitle
        default: kind = .other
        }
        let name = avcodec_get_name(par.codec_id).map { String(cString: $0) } ?? "unknown"
        var rate = Rational(s.pointee.avg_frame_rate)
        if !rate.isValid { rate = Rational(s.pointee.r_frame_rate) }
        return StreamInfo(index: index, kind: kind, codecName: name, timeBase: Rational(s.pointee.time_base),
                          frameRate: rate, width: Int(par.width), height: Int(par.height),
                          sampleRate: Int(par.sample_rate), channels: Int(par.ch_layout.nb_channels),
                          bitRate: par.bit_rate, startTime: s.pointee.start_time, duration: s.pointee.duration,
                          metadata: Dictionary_AV.read(s.pointee.metadata))
    }

    /// The container's metadata tags.
    public var metadata: [String: String] { Dictionary_AV.read(context.pointee.metadata) }
    /// Duration in seconds, when the container knows it.
    public var durationSeconds: Double? {
        let d = context.pointee.duration
        return d == MediaTime.noPTS || d <= 0 ? nil : Double(d) / Double(AV_TIME_BASE)
    }
    /// Start time in seconds, when the container knows it.
    public var startSeconds: Double? {
        let s = context.pointee.start_time
        return s == MediaTime.noPTS ? nil : Double(s) / Double(AV_TIME_BASE)
    }
    public var formatName: String { String(cString: context.pointee.iformat.pointee.name) }

    public func stream(_ index: Int) -> UnsafeMutablePointer<AVStream> { context.pointee.streams[index]! }

    /// The stream FFmpeg considers best of a kind, or nil.
    public func bestStream(_ kind: StreamInfo.Kind) -> Int? {
        let type: AVMediaType = kind == .video ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO
        let r = av_find_best_stream(context, type, -1, -1, nil, 0)
        guard r >= 0, Int(r) < streams.count, streams[Int(r)].kind == kind else { return streams.first { $0.kind == kind }?.index }
        return Int(r)
    }

    public enum ReadResult { case packet(Packet), endOfInput }

    /// Reads the next packet. End of input, a cancel and `AVERROR_EXIT` give `.endOfInput`;
    /// a read timeout and other failures throw.
    public func read() throws -> ReadResult {
        if !readAhead.isEmpty { return .packet(readAhead.removeFirst()) }
        let packet = Packet()
        while true {
            interrupter.arm()
            let r = av_read_frame(context, packet.pointer)
            interrupter.disarm()
            if r >= 0 { return .packet(packet) }
            if r == lc_averror_eagain() { continue }
            if interrupter.isCancelled { return .endOfInput }
            // Not cancelled, so an abort was the read timeout (HLS reports it as an end).
            if r == lc_averror_exit() || (r == lc_averror_eof() && interrupter.timeoutFired) {
                throw MediaError(call: "av_read_frame", code: lc_averror_etimedout(),
                                 message: "no data for \(interrupter.timeoutSeconds.map { String(format: "%g", $0) } ?? "too long") s (read timeout)",
                                 context: displayName)
            }
            if r == lc_averror_eof() { return .endOfInput }
            // Some demuxers report a truncated file's end as an I/O error; pb->eof_reached says so.
            if let pb = context.pointee.pb, pb.pointee.eof_reached != 0, r == lc_averror_eio() || r == lc_averror_invaliddata() {
                return .endOfInput
            }
            throw MediaError(call: "av_read_frame", code: r, context: displayName)
        }
    }
}

/// A small owner for AVDictionary option lists.
struct Dictionary_AV {
    var pointer: OpaquePointer? = nil
    init(_ values: [String: String]) {
        for (k, v) in values { av_dict_set(&pointer, k, v, 0) }
    }
    mutating func free() { av_dict_free(&pointer) }
    /// Keys still present after an open call were not recognised by anyone.
    func keys() -> [String] { Dictionary_AV.read(pointer).keys.sorted() }

    static func read(_ dict: OpaquePointer?) -> [String: String] {
        var out: [String: String] = [:]
        var entry: UnsafeMutablePointer<AVDictionaryEntry>? = nil
        while let e = av_dict_get(dict, "", entry, AV_DICT_IGNORE_SUFFIX) {
            out[String(cString: e.pointee.key)] = String(cString: e.pointee.value)
            entry = e
        }
        return out
    }
}
