import CFFmpeg
import Foundation

/// An output: a file (written under a temporary name and renamed on `finish()`), stdout (`-`),
/// or a URL (rtmp://, srt://, udp://…). Used from one serial queue.
public final class Muxer: @unchecked Sendable {
    public let context: UnsafeMutablePointer<AVFormatContext>
    public let displayName: String
    public let formatName: String
    /// For file outputs: the final path, and the temporary one written until `finish()`.
    public let finalPath: String?
    public let temporaryPath: String?
    public let interrupter: IOInterrupter
    /// For a file output: called once it is complete and closed, before it is renamed into
    /// place, with the temporary path; may rewrite the file there (C2PA signing). An error
    /// fails `finish()`: the temporary file is removed, nothing gets the final name.
    public var beforeRename: ((String) throws -> Void)?
    /// For a segmenting muxer (hls, dash): the files it writes besides the playlist, caught on
    /// their way to the disk (see `SegmentedOutput`); removed with the playlist on a failure.
    public var segmented: SegmentedOutput?
    private var headerWritten = false
    private var finished = false
    private var ioOpened = false
    /// For an MPEG-TS output with SCTE-35 streams: the filter between the muxer and its I/O
    /// (see `SCTE35TSFilter`); detached before the I/O is closed.
    var filteredIO: FilteredOutputIO?
    var detachedSCTE35Statistics: SCTE35TSFilter.Statistics?
    /// Set by the caller for an HLS output whose TS segments it filters (`scte35SegmentFilter`).
    public var segmentsCarrySCTE35 = false

    /// Whether `url` names a local file (as opposed to stdout or a network URL).
    public static func isFilePath(_ url: String) -> Bool {
        url != "-" && !url.contains("://") && !url.hasPrefix("pipe:") && !url.hasPrefix("file:")
    }

    /// Whether `path` exists and is not a regular file or folder (a device, FIFO or socket,
    /// symbolic links followed).
    static func isSpecialFile(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let type = st.st_mode & S_IFMT
        return type != S_IFREG && type != S_IFDIR
    }

    /// Whether `format` (or, without one, the file name of `url`) is a segmenting muxer: HLS or DASH.
    public static func isSegmented(url: String, format: String?) -> Bool {
        if let format { return ["hls", "dash"].contains(format) }
        let lower = url.lowercased()
        return Muxer.isFilePath(url) && (lower.hasSuffix(".m3u8") || lower.hasSuffix(".mpd"))
    }

    /// Allocates the output context. The container is `format` or guessed from the file name.
    /// `inPlace`: a file output written under its own name from the start (a live HLS/DASH
    /// playlist, which players read while it grows), not under a temporary one.
    public init(url: String, format: String?, displayName: String? = nil, interrupter: IOInterrupter = IOInterrupter(),
                inPlace: Bool = false) throws {
        self.displayName = displayName ?? url
        self.interrupter = interrupter
        let isFile = Muxer.isFilePath(url)
        let target: String
        if url == "-" {
            target = "pipe:1"
            guard format != nil else {
                throw MediaError(call: "avformat_alloc_output_context2", code: lc_averror_muxer_not_found(),
                                 message: "output is stdout: name the container with -f (e.g. -f mpegts)")
            }
            finalPath = nil; temporaryPath = nil
        } else if isFile && (inPlace || Muxer.isSpecialFile(url)) {
            // A device or FIFO (/dev/null, a named pipe): written in place. Renaming a temporary
            // file over it would replace the device node (as root) instead of writing to it.
            target = url
            finalPath = nil; temporaryPath = nil
        } else if isFile {
            let dir = (url as NSString).deletingLastPathComponent
            let base = (url as NSString).lastPathComponent
            finalPath = url
            temporaryPath = (dir.isEmpty ? "" : dir + "/") + "." + base + ".partial-\(getpid())"
            target = temporaryPath!
        } else {
            target = url
            finalPath = nil; temporaryPath = nil
        }
        var guessed: UnsafePointer<AVOutputFormat>? = nil
        if let format {
            guessed = av_guess_format(format, nil, nil)
            guard guessed != nil else {
                throw MediaError(call: "av_guess_format", code: lc_averror_muxer_not_found(),
                                 message: "unknown output format '\(format)' (see `ffmpeg -muxers`)")
            }
        } else if url.hasPrefix("rtmp://") || url.hasPrefix("rtmps://") {
            guessed = av_guess_format("flv", nil, nil)
        } else if url.hasPrefix("srt://") || url.hasPrefix("udp://") || url.hasPrefix("rtp://") || url.hasPrefix("tcp://") {
            guessed = av_guess_format("mpegts", nil, nil)
        } else {
            guessed = av_guess_format(nil, url, nil)
            guard guessed != nil else {
                throw MediaError(call: "av_guess_format", code: lc_averror_muxer_not_found(),
                                 message: "cannot tell the container from '\(self.displayName)': add -f FORMAT (mp4, matroska, mpegts, flv, wav)")
            }
        }
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        try check(avformat_alloc_output_context2(&ctx, guessed, nil, target), "avformat_alloc_output_context2", context: self.displayName)
        context = ctx!
        formatName = String(cString: ctx!.pointee.oformat.pointee.name)
        interrupter.install(on: context)
    }

    deinit {
        if !finished { abort() }
        discard()  // finished but never committed: the run did not complete
        avformat_free_context(context)
    }

    /// Whether encoders must put their headers in extradata (AVFMT_GLOBALHEADER).
    public var needsGlobalHeader: Bool { (context.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 }

    /// Adds a stream fed by `encoder`; returns its index.
    public func addStream(encoder: Encoder) throws -> Int {
        guard let s = avformat_new_stream(context, nil) else { throw MediaError(call: "avformat_new_stream", code: lc_averror_enomem()) }
        try encoder.copyParameters(to: s)
        return Int(s.pointee.index)
    }

    /// Adds a stream carrying packets copied unchanged from an input stream.
    public func addStream(copying input: UnsafeMutablePointer<AVStream>) throws -> Int {
        guard let s = avformat_new_stream(context, nil) else { throw MediaError(call: "avformat_new_stream", code: lc_averror_enomem()) }
        try check(avcodec_parameters_copy(s.pointee.codecpar, input.pointee.codecpar), "avcodec_parameters_copy")
        s.pointee.codecpar.pointee.codec_tag = 0
        s.pointee.time_base = input.pointee.time_base
        // SCTE-35 keeps its input PID where the output has it free (`writeHeader` checks).
        if s.pointee.codecpar.pointee.codec_id == AV_CODEC_ID_SCTE_35 { s.pointee.id = input.pointee.id }
        return Int(s.pointee.index)
    }

    public func setMetadata(_ key: String, _ value: String) { av_dict_set(&context.pointee.metadata, key, value, 0) }

    public func streamTimeBase(_ index: Int) -> Rational { Rational(context.pointee.streams[index]!.pointee.time_base) }

    /// Seconds an SRT output waits at close for its unsent data (unless the URL sets `linger`).
    public static let srtLingerSeconds = 2

    /// Opens the I/O and writes the header. `options` go to the muxer and protocol
    /// (movflags, flush_packets, use_metadata_tags…); an option nobody recognised is an error.
    public func writeHeader(options: [String: String] = [:]) throws {
        if formatName == "mpegts" && context.pointee.max_delay <= 0 {
            // As the ffmpeg CLI does (-muxdelay 0.7): every stream's timestamps move 0.7 s on,
            // so an AAC encoder's priming (its first packet 21 ms before 0) does not come out
            // as a negative timestamp, which MPEG-TS wraps to 26.5 hours (a reader then saw
            // the audio a day later, and each TS hop shifted audio by the priming).
            context.pointee.max_delay = 700_000
        }
        if (context.pointee.oformat.pointee.flags & AVFMT_NOFILE) == 0 {
            let url = String(cString: context.pointee.url)
            interrupter.arm()
            // SRT in live mode closes with SRTO_LINGER 0: what libsrt has not sent yet (up to
            // its latency, ~1 s) is thrown away when a run ends. A short linger lets the tail
            // reach the receiver (bounded: a peer that is gone costs at most that much at close).
            var io = Dictionary_AV(url.hasPrefix("srt://") && !url.contains("linger=") ? ["linger": String(Self.srtLingerSeconds)] : [:])
            let r = avio_open2(&context.pointee.pb, url, AVIO_FLAG_WRITE, &context.pointee.interrupt_callback, &io.pointer)
            io.free()
            interrupter.disarm()
            try check(r, "avio_open", context: displayName)
            ioOpened = true
            try installSCTE35Filter(options: options)
        }
        if formatName == "mpegts", ["1", "true", "on"].contains(options["mpegts_m2ts_mode"]?.lowercased() ?? "") {
            Self.assignM2TSDataPIDs(context)
        }
        var dict = Dictionary_AV(options)
        interrupter.arm()
        let r = avformat_write_header(context, &dict.pointer)
        interrupter.disarm()
        let unused = dict.keys()
        dict.free()
        try check(r, "avformat_write_header", context: displayName)
        headerWritten = true
        if !unused.isEmpty {
            throw MediaError(call: "avformat_write_header", code: lc_averror_einval(),
                             message: "muxer \(formatName) does not know the option(s) \(unused.joined(separator: ", "))")
        }
    }

    /// M2TS mode: FFmpeg 5.1's writer numbers only video (0x1011…), audio (0x1100…) and
    /// subtitle (0x1200…/0x1800…) streams itself and fails the header with "Cannot
    /// automatically assign PID" for any other (labelcast's timed-ID3 stream, a copied data
    /// stream; the ffmpeg CLI fails alike). Each such stream without a PID of its own gets the
    /// next free one from 0x1400 (after the SCTE-35 PIDs `installSCTE35Filter` chose).
    static func assignM2TSDataPIDs(_ context: UnsafeMutablePointer<AVFormatContext>) {
        let streams = (0..<Int(context.pointee.nb_streams)).map { context.pointee.streams[$0]! }
        var taken = Set(streams.map { Int($0.pointee.id) }.filter { $0 >= 16 })
        var next = 0x1400
        for st in streams where st.pointee.id < 16 {
            let type = st.pointee.codecpar.pointee.codec_type
            guard type != AVMEDIA_TYPE_VIDEO && type != AVMEDIA_TYPE_AUDIO && type != AVMEDIA_TYPE_SUBTITLE else { continue }
            while taken.contains(next) { next += 1 }
            st.pointee.id = Int32(next)
            taken.insert(next)
        }
    }

    /// Writes one packet (timestamps in `timeBase`, rescaled here to the stream's), interleaved
    /// by DTS across streams. Takes the packet's payload.
    public func write(_ packet: Packet, stream index: Int, timeBase: Rational) throws {
        packet.streamIndex = index
        packet.rescale(from: timeBase, to: streamTimeBase(index))
        interrupter.arm()
        let r = av_interleaved_write_frame(context, packet.pointer)
        interrupter.disarm()
        try check(r, "av_interleaved_write_frame", context: displayName)
    }

    /// Writes every packet the interleaver holds (FFmpeg's queue that orders streams by DTS),
    /// so what is set next (an FLV metadata update) comes after all of them in the output.
    public func flushInterleaving() throws {
        interrupter.arm()
        let r = av_interleaved_write_frame(context, nil)
        interrupter.disarm()
        try check(r, "av_interleaved_write_frame", context: displayName)
    }

    /// A finished file still under its temporary name, waiting for `commit()`.
    private var awaitingCommit = false

    /// Writes the trailer, closes the output and, for a file, renames it to its final name —
    /// unless `keepTemporary`: then the complete file stays under its temporary name until
    /// `commit()` (or `discard()`), so whatever else a run writes (sidecar, report, signature)
    /// comes first and a failure there leaves nothing that looks complete.
    public func finish(keepTemporary: Bool = false) throws {
        guard !finished else { return }
        defer { finished = true }
        do {
            if headerWritten {
                interrupter.arm()
                let r = av_write_trailer(context)
                interrupter.disarm()
                try check(r, "av_write_trailer", context: displayName)
            }
            if let pb = context.pointee.pb, pb.pointee.error < 0 {
                throw MediaError(call: "avio_write", code: pb.pointee.error, context: displayName)
            }
            let filterError = detachFilter()
            if filterError < 0 { throw MediaError(call: "avio_write", code: filterError, context: displayName) }
            if let pb = context.pointee.pb, pb.pointee.error < 0 {
                throw MediaError(call: "avio_write", code: pb.pointee.error, context: displayName)
            }
            if let failure = segmented?.failure { throw failure }
            if ioOpened {
                let r = avio_closep(&context.pointee.pb)
                ioOpened = false
                try check(r, "avio_close", context: displayName)
            }
            if let temporaryPath, finalPath != nil {
                try beforeRename?(temporaryPath)
            }
            if keepTemporary {
                awaitingCommit = temporaryPath != nil
            } else {
                try renameIntoPlace()
            }
        } catch {
            removeTemporary()
            throw error
        }
    }

    /// Puts a file finished with `keepTemporary` under its final name (the last step of a run).
    public func commit() throws {
        guard awaitingCommit else { return }
        awaitingCommit = false
        do { try renameIntoPlace() } catch {
            removeTemporary()
            throw error
        }
    }

    /// Removes a file finished with `keepTemporary` instead of committing it.
    public func discard() {
        guard awaitingCommit else { return }
        awaitingCommit = false
        removeTemporary()
    }

    private func renameIntoPlace() throws {
        if let temporaryPath, let finalPath {
            if rename(temporaryPath, finalPath) != 0 {
                throw MediaError(call: "rename", code: lc_averror_eio(),
                                 message: String(cString: strerror(errno)), context: displayName)
            }
        }
    }

    /// Gives up on the output: closes it and removes the temporary file, so nothing partial
    /// is left looking complete.
    public func abort() {
        guard !finished else { return }
        finished = true
        if ioOpened { detachFilter(); avio_closep(&context.pointee.pb); ioOpened = false }
        removeTemporary()
    }

    /// Takes the SCTE-35 filter out of the write path (flushing what it holds), so the
    /// muxer's own I/O is what gets closed; the first write error it saw, or 0.
    @discardableResult
    private func detachFilter() -> Int32 {
        guard let io = filteredIO else { return 0 }
        filteredIO = nil
        let r = io.detach()
        detachedSCTE35Statistics = io.filter.statistics
        context.pointee.pb = io.inner
        return r
    }

    private func removeTemporary() {
        if ioOpened { detachFilter(); avio_closep(&context.pointee.pb); ioOpened = false }
        if let temporaryPath { unlink(temporaryPath) }
        segmented?.removeAll()
    }
}
