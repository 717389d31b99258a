import CFFmpeg
import Foundation
import MediaIO
import Synchronization

/// How far the audio lane lets its sample count and the input's timestamps part before it
/// follows the timestamps again: audio is timed by counting samples (so chunks tile exactly),
/// and a gap or an overlap in the input (a reconnect, a restarted publisher, lost packets, a
/// withheld frame) would otherwise shift all later audio against the video for good.
enum AudioClock {
    /// Larger than timestamp rounding (FLV: 1 ms), smaller than an AAC frame (21 ms).
    static let tolerance = 0.010
    /// An offset beyond the tolerance is followed only once it has held for this many frames
    /// in a row with the same sign (~64 ms of AAC), and then by its smallest value: a source
    /// whose audio timestamps jitter (wall-clock stamped encoders) must not get silence put in
    /// and cut out again, a click each time. A gap is an offset that stays.
    /// (A large one too: one damaged timestamp must not cost a second of silence and a cut.)
    static let confirmFrames = 3
    /// Gaps up to this long are filled with silence; a longer one (a timestamp jump in a file)
    /// becomes a jump in the output's audio timestamps instead of minutes of generated silence.
    static let maxFill = 10.0
}

/// Encodes a lane's frames and hands packets to the muxer, matching each packet back to its
/// frame's trace by pts. Video keeps the input's timestamps (shifted so media time 0 is 0);
/// audio is re-cut into the encoder's frame size through a FIFO, timed by a running sample
/// count that follows the frames' media time across gaps and overlaps (`AudioClock`). Own
/// serial queue.
final class EncodeStage: @unchecked Sendable {
    let lane: Lane
    let stage: Stage<StageItem<LaneFrame>>
    /// The encoder under way; nil between re-encoded stretches (`--copy-unlabeled`: the spent
    /// one is freed at the end of its stretch, not kept through the copied one after it).
    private var currentEncoder: Encoder?
    private var encoder: Encoder { currentEncoder! }
    private let context: PipelineContext
    /// `--copy-unlabeled`: the packet form of the output, and a fresh encoder for each
    /// re-encoded stretch (the one before is flushed when copied packets follow it; neither x264
    /// nor x265 can go on after a flush). Its first picture is an IDR; every picture that was an
    /// IDR in the input is one again, so the GOPs keep their edges.
    var copyFormat: VideoCopyFormat?
    var makeEncoder: (() throws -> Encoder)?
    /// Frames sent to the current encoder since it opened; a flushed one is spent.
    private var encoderFed = false
    private var encoderSpent = false
    /// DTS to give the encoder's packets, in order (pictures come back in order: no B-frames).
    private var codedDTS: [Int64] = []
    private var lastDTS = Int64.min
    private let mux: MuxStage
    private let outputIndex: Int
    /// Video: the input stream's time base (also the encoder's) and media time 0 in it.
    private let inputTimeBase: Rational
    private let originInInput: Int64
    private var scaler: Scaler?
    private var lastPts = Int64.min
    private var traces: [Int64: FrameTrace] = [:]
    // Audio
    private var fifo: AudioFIFO?
    private var nextSamplePts: Int64?
    /// Media time of the first sample queued, and the seconds jumped over (gaps too long to fill).
    private var clockOrigin = 0.0
    private var clockJumped = 0.0
    /// Output audio pts jumped over (gaps too long to fill), in samples.
    private var ptsJump: Int64 = 0
    private var clockWarnings = 0
    /// (first sample index, trace) of frames in the FIFO, so each encoder frame keeps a trace.
    private var pendingTraces: [(Int64, FrameTrace)] = []
    private var samplesQueued: Int64 = 0
    private var formatConverter: Resampler?
    /// Fail-closed: checked for every frame before the encoder sees it.
    private let gate: LabelGate
    private var gateDrops = 0
    /// Set from the mux queue when a reopened live output is taken up: the next picture
    /// encoded is an IDR, so the new connection starts on a picture that decodes.
    private let keyframeWanted = Atomic<Bool>(false)
    func requestKeyframe() { keyframeWanted.store(true, ordering: .relaxed) }
    // Copying unlabeled audio (`AudioCopyFormat`): packets offered by the decode stage, oldest
    // first, waiting for the samples after them; the decoded samples by media time; the
    // re-encoded stretch under way (a fresh encoder each, from `makeEncoder`).
    var audioCopy: AudioCopyFormat?
    private var offers: [AudioCandidate] = []
    private var store: AudioSampleStore?
    private var stretch: AudioStretch?
    /// The decode stage stopped offering: once the offers before are decided, every sample
    /// after them goes the usual way (`queueAudio`).
    private var offersStopped = false
    private var decidedEnd: Double?
    /// Media time just past the last audio packet written while copying: after a hand-over the
    /// lane's own encoder's packets before it (its priming) are dropped, so DTS keeps rising.
    private var writtenAudioEnd = -Double.infinity

    init(lane: Lane, encoder: Encoder, outputIndex: Int, inputTimeBase: Rational, context: PipelineContext,
         mux: MuxStage, capacity: Int, requiredLayers: LabelLayers,
         overlayRequiredAt: (@Sendable (Double) -> Bool)? = nil) throws {
        self.lane = lane
        self.gate = LabelGate(lane: lane, required: requiredLayers, timeline: context.timeline, overlayRequiredAt: overlayRequiredAt)
        self.currentEncoder = encoder
        self.outputIndex = outputIndex
        self.inputTimeBase = inputTimeBase
        self.context = context
        self.mux = mux
        self.originInInput = MediaTime.timestamp(seconds: context.originSeconds, inputTimeBase)
        if lane.kind == .audio {
            fifo = try AudioFIFO(format: encoder.sampleFormat, channels: encoder.channels, sampleRate: encoder.sampleRate)
        }
        stage = Stage(name: "\(lane.rawValue).encode", capacity: capacity)
        stage.handler = { [unowned self] item in self.handle(item) }
    }

    private func handle(_ item: StageItem<LaneFrame>) {
        do {
            switch item {
            case .data(let lf):
                let missing = gate.missing(lf)
                guard missing.isEmpty else { return withhold(lf, missing: missing) }
                if lane.kind == .video { try encodeVideo(lf) } else if audioCopy != nil { try storeAudio(lf) } else { try queueAudio(lf) }
            case .copied(let run) where run.offered:
                offers.append(AudioCandidate(packet: run.packets[0], mediaTime: run.start, trace: run.traces[0]))
                try decideOffers(ended: false)
            case .copied(let run) where run.stopsCopy:
                offersStopped = true
                try decideOffers(ended: false)
            case .copied(let run):
                try writeCopied(run)
            case .end:
                if audioCopy != nil { try decideOffers(ended: true) }
                if lane.kind == .audio { try flushAudio() }
                if currentEncoder != nil {
                    _ = try encoder.send(nil)
                    try drain()
                }
                mux.stage.submit(.end(lane))
            }
        } catch {
            context.fail(error, stage: stage.name)
            if case .end = item { mux.stage.submit(.end(lane)) }
        }
    }

    /// A synthetic frame without all its labels: never encoded. Counted as a drop (not out),
    /// logged the first few times and then every 100th.
    private func withhold(_ lf: LaneFrame, missing: LabelLayers) {
        let wasLabeled = !lf.layers.isEmpty
        context.accounting.update(lane) { c in
            c.framesOut -= 1
            if wasLabeled { c.framesLabeled -= 1 }
            c.dropped[LabelGate.reason, default: 0] += 1
        }
        gateDrops += 1
        if gateDrops <= 5 || gateDrops % 100 == 0 {
            context.logger.error("\(lane.rawValue): synthetic frame at \(String(format: "%.3f", lf.mediaTime)) s reached the encoder without \(missing): withheld (\(gateDrops) so far)")
        }
    }

    /// Copied input packets (`--copy-unlabeled`): after the re-encoded stretch before them is
    /// flushed out, each goes to the muxer in the output's form, its timestamps moved as the
    /// encoded frames' are. The gate's rule holds here too: a GOP that has become synthetic
    /// since it was decided (a live switch) is withheld, never copied out bare.
    private func writeCopied(_ run: CopiedRun) throws {
        if encoderFed {
            _ = try encoder.send(nil)
            try drain()
            encoderFed = false
            encoderSpent = true
            currentEncoder = nil
            Self.trimHeap()
        }
        guard gate.mayCopy(run.traces.map(\.mediaTime)) else {
            let n = run.packets.count
            context.accounting.update(lane) { c in
                c.framesOut -= n
                c.framesCopied -= n
                c.dropped[LabelGate.reason, default: 0] += n
            }
            gateDrops += n
            context.logger.error("\(lane.rawValue): input pictures at \(String(format: "%.3f", run.start)) s are synthetic but came to be copied: withheld (\(gateDrops) so far)")
            return
        }
        guard let format = copyFormat else { return }
        for (i, (packet, trace)) in zip(run.packets, run.traces).enumerated() {
            let p = format.copied(packet, idr: run.idr[i])
            if p.pts != MediaTime.noPTS { p.pts -= originInInput; lastPts = max(lastPts, p.pts) }
            if p.dts != MediaTime.noPTS { p.dts -= originInInput; lastDTS = max(lastDTS, p.dts) }
            var t = trace
            t.stamp(.encoded)
            mux.stage.submit(.packet(EncodedPacket(packet: p, streamIndex: outputIndex, timeBase: inputTimeBase, lane: lane, trace: t)))
        }
    }

    // MARK: copying unlabeled audio

    private struct AudioStretch {
        let encoder: Encoder
        /// Media time of the first sample fed (the lead-in's start): encoder pts 0.
        let base: Double
        var fed: Int64 = 0
        /// The offers this stretch stands for whose packets have not come out of the encoder
        /// yet (their timestamps go on its packets), oldest first: a few frames, however long
        /// the stretch.
        var replaced: [(offer: AudioCandidate, at: Double)] = []
        /// Media time of the last offer taken in (where the post-roll starts from).
        var lastAt: Double?
    }

    private var frameSeconds: Double { Double(audioCopy?.frameSize ?? 1024) / Double(encoder.sampleRate) }

    private func storeAudio(_ lf: LaneFrame) throws {
        if store == nil { store = AudioSampleStore(channels: encoder.channels, rate: encoder.sampleRate) }
        store!.append(lf.frame, at: lf.mediaTime, labeled: !lf.layers.isEmpty)
        try decideOffers(ended: false)
    }

    /// Decides each offered packet, oldest first, once the Timeline around it is final (the
    /// demuxer has passed its next frame: a live switch takes effect after what was demuxed),
    /// asked of the Timeline then: re-encoded when it or a neighbour touches synthetic time,
    /// else copied. A copy goes out at once — no waiting for its samples — unless it ends a
    /// stretch, which first needs the samples of its post-roll; a re-encoded packet waits for
    /// its own samples.
    private func decideOffers(ended: Bool) throws {
        guard let format = audioCopy else { return }
        let d = frameSeconds
        let m = Double(AudioCopyFormat.margin) * d
        let head = ended ? Double.infinity : context.demuxedUntil
        let samplesEnd = ended ? Double.infinity : (store?.end ?? -Double.infinity)
        while let offer = offers.first {
            let at = store?.snap(offer.mediaTime, frameSize: format.frameSize) ?? offer.mediaTime
            guard head >= at + d + m else { break }
            if context.timeline.isSynthetic(from: at - m, to: at + d + m) {
                guard samplesEnd >= at + d else { break }
                offers.removeFirst()
                if stretch == nil { try openStretch(at: at) }
                stretch!.replaced.append((offer, at))
                stretch!.lastAt = at
                try feedStretch(until: at + d)
            } else {
                if let last = stretch?.lastAt {
                    guard samplesEnd >= last + Double(1 + AudioCopyFormat.postRoll) * d else { break }
                    try closeStretch()
                }
                offers.removeFirst()
                writeCopiedAudio(offer, at: at)
            }
            decidedEnd = at + d
            store?.prune(before: at - Double(AudioCopyFormat.preRoll + 1) * d)
        }
        if ended { try closeStretch() }
        if offersStopped, offers.isEmpty { try handOverToEncoder(ended: ended) }
    }

    private func openStretch(at t: Double) throws {
        guard let makeEncoder else { throw LabelcastError("audio: no encoder for a re-encoded stretch") }
        stretch = AudioStretch(encoder: try makeEncoder(), base: t - Double(AudioCopyFormat.preRoll) * frameSeconds)
    }

    /// Feeds the stretch's encoder with the kept samples up to media time `t`, in whole frames.
    private func feedStretch(until t: Double) throws {
        guard let s = stretch, let store else { return }
        let size = audioCopy?.frameSize ?? 1024
        let rate = Double(encoder.sampleRate)
        while let fed = stretch?.fed, s.base + Double(fed) / rate < t - 0.5 / rate {
            let frame = try store.read(from: s.base + Double(fed) / rate, count: size, sampleRate: encoder.sampleRate)
            frame.pts = fed
            stretch?.fed = fed + Int64(size)
            while try s.encoder.send(frame) == .full { try drainStretch() }
            try drainStretch()
        }
    }

    /// The stretch's packets that stand for one of its offers go out with that packet's
    /// timestamps; the lead-in's, the post-roll's and the priming packet are dropped.
    private func drainStretch() throws {
        guard let s = stretch else { return }
        let rate = Double(encoder.sampleRate)
        let half = frameSeconds / 2
        while case .output(let packet) = try s.encoder.receive() {
            let t = s.base + Double(packet.pts) / rate
            // Packets come out in order: offers before this one's time will not be matched.
            while let first = stretch?.replaced.first, first.at < t - half { stretch?.replaced.removeFirst() }
            guard let (offer, at) = stretch?.replaced.first, abs(at - t) < half else { continue }
            stretch?.replaced.removeFirst()
            let source = offer.packet
            packet.pts = source.pts == MediaTime.noPTS ? source.pts : source.pts - originInInput
            packet.dts = source.dts == MediaTime.noPTS ? packet.pts : source.dts - originInInput
            packet.duration = source.duration
            var trace = offer.trace
            trace.copied = false
            trace.mediaTime = at
            trace.synthetic = context.timeline.isSynthetic(from: at, to: at + frameSeconds)
            trace.labeled = store?.wasLabeled(from: at, to: at + frameSeconds) ?? false
            trace.stamp(.encoded)
            let n = audioCopy?.frameSize ?? 1024
            context.accounting.update(lane) { $0.samplesOut += n }
            writtenAudioEnd = max(writtenAudioEnd, at + frameSeconds)
            mux.stage.submit(.packet(EncodedPacket(packet: packet, streamIndex: outputIndex, timeBase: inputTimeBase, lane: lane, trace: trace)))
        }
    }

    /// Ends the stretch under way: the post-roll fed, the encoder flushed.
    private func closeStretch() throws {
        guard let s = stretch, let last = s.lastAt else { stretch = nil; return }
        try feedStretch(until: last + Double(1 + AudioCopyFormat.postRoll) * frameSeconds)
        _ = try s.encoder.send(nil)
        try drainStretch()
        stretch = nil
        Self.trimHeap()
    }

    /// An input packet out as it came, its timestamps moved as the encoded ones' are. The gate's
    /// rule holds here too: a packet whose samples are synthetic is withheld, never copied bare.
    private func writeCopiedAudio(_ offer: AudioCandidate, at t: Double) {
        let n = audioCopy?.frameSize ?? 1024
        guard gate.mayCopy(from: t, to: t + frameSeconds) else {
            context.accounting.update(lane) { $0.framesOut -= 1; $0.dropped[LabelGate.reason, default: 0] += 1 }
            gateDrops += 1
            context.logger.error("\(lane.rawValue): input audio at \(String(format: "%.3f", t)) s is synthetic but came to be copied: withheld (\(gateDrops) so far)")
            return
        }
        let p = offer.packet
        if p.pts != MediaTime.noPTS { p.pts -= originInInput }
        if p.dts != MediaTime.noPTS { p.dts -= originInInput }
        var trace = offer.trace
        trace.mediaTime = t
        trace.stamp(.encoded)
        context.accounting.update(lane) { $0.framesCopied += 1; $0.samplesOut += n }
        writtenAudioEnd = max(writtenAudioEnd, t + frameSeconds)
        mux.stage.submit(.packet(EncodedPacket(packet: p, streamIndex: outputIndex, timeBase: inputTimeBase, lane: lane, trace: trace)))
    }

    /// Offers stopped and all decided: the samples kept after the last decided packet, and
    /// every frame from here on, go to the lane's own encoder as without copying.
    private func handOverToEncoder(ended: Bool) throws {
        try closeStretch()
        audioCopy = nil
        guard let store, let end = store.end else { return }
        let from = decidedEnd ?? store.start ?? end
        let n = Int(((end - from) * Double(encoder.sampleRate)).rounded())
        self.store = nil
        guard n > 0 else { return }
        let frame = try store.read(from: from, count: n, sampleRate: encoder.sampleRate)
        var trace = FrameTrace(sequence: context.nextSequence(), lane: lane, mediaTime: from)
        trace.stamp(.decoded)
        trace.stamp(.processed)
        trace.labeled = store.wasLabeled(from: from, to: end)
        try queueAudio(LaneFrame(frame: frame, mediaTime: from, synthetic: context.timeline.isSynthetic(at: from), trace: trace))
    }

    /// After a stretch's encoder is freed: its memory back to the system (`lc_malloc_trim`), off
    /// the lane's queue (a trim walks every arena: milliseconds).
    static func trimHeap() {
        DispatchQueue.global(qos: .utility).async { _ = lc_malloc_trim() }
    }

    private func encodeVideo(_ lf: LaneFrame) throws {
        if encoderSpent, let makeEncoder {
            currentEncoder = try makeEncoder()
            encoderSpent = false
            codedDTS.removeAll()
        }
        var frame = lf.frame
        if frame.width != Int(encoder.context.pointee.width) || frame.height != Int(encoder.context.pointee.height)
            || frame.pixelFormat != encoder.pixelFormat {
            // A resolution or format change mid-stream: the output keeps its size and format.
            if scaler == nil || !scaler!.matches(frame) {
                scaler = try Scaler(from: frame.width, frame.height, frame.pixelFormat,
                                    to: Int(encoder.context.pointee.width), Int(encoder.context.pointee.height), encoder.pixelFormat)
            }
            frame = try scaler!.convert(frame)
        }
        var pts = frame.pts - originInInput
        if pts <= lastPts { pts = lastPts + 1 } // encoders need strictly increasing pts
        lastPts = pts
        frame.pts = pts
        frame.pointer.pointee.pict_type = AV_PICTURE_TYPE_NONE
        if keyframeWanted.exchange(false, ordering: .relaxed) { frame.pointer.pointee.pict_type = AV_PICTURE_TYPE_I }
        if copyFormat != nil {
            // The input's IDRs stay IDRs (forced-idr), and the input's DTS sequence is kept.
            if frame.pointer.pointee.key_frame != 0 { frame.pointer.pointee.pict_type = AV_PICTURE_TYPE_I }
            codedDTS.append(min(pts, lf.codedDTS.map { $0 - originInInput } ?? pts))
            encoderFed = true
        }
        traces[pts] = lf.trace
        try send(frame)
    }

    private func queueAudio(_ lf: LaneFrame) throws {
        guard let fifo else { return }
        var skip = 0
        if nextSamplePts == nil {
            let rate = Rational(1, Int32(encoder.sampleRate))
            nextSamplePts = MediaTime.timestamp(seconds: max(0, lf.mediaTime), rate)
            clockOrigin = lf.mediaTime
        } else {
            skip = try followTimestamps(lf)
            if skip >= lf.frame.sampleCount { return }
        }
        pendingTraces.append((samplesQueued, lf.trace))
        samplesQueued += Int64(lf.frame.sampleCount - skip)
        var samples = lf.frame
        if samples.sampleFormat != encoder.sampleFormat {
            // The lane works in planar float; PCM and FLAC encoders take integers.
            if formatConverter == nil || !formatConverter!.matches(samples) {
                formatConverter = try withUnsafePointer(to: &samples.pointer.pointee.ch_layout) {
                    try Resampler(inputFormat: samples.sampleFormat, inputRate: samples.sampleRate, inputLayout: $0,
                                  outputFormat: encoder.sampleFormat, outputRate: encoder.sampleRate, outputChannels: encoder.channels)
                }
            }
            // Same rate: the converter holds nothing back, so `skip` still counts its samples.
            guard let converted = try formatConverter!.convert(samples) else { return }
            samples = converted
        }
        try fifo.write(samples, skipping: skip)
        let size = encoder.frameSize > 0 ? encoder.frameSize : 1024
        while fifo.count >= size { try encodeAudioChunk(size) }
    }

    /// Compares the frame's media time with where the sample count says it starts. A gap
    /// longer than the tolerance is filled with silence (or, beyond `maxFill`, jumped over in
    /// the output's timestamps); an overlap is cut from the frame's start. Returns the samples
    /// of this frame to leave out.
    private func followTimestamps(_ lf: LaneFrame) throws -> Int {
        guard let fifo else { return 0 }
        let rate = Double(encoder.sampleRate)
        let expected = clockOrigin + clockJumped + Double(samplesQueued + ptsJump) / rate
        let d = lf.mediaTime - expected
        guard abs(d) > AudioClock.tolerance, d.isFinite else { return 0 }
        let at = String(format: "%.3f", lf.mediaTime)
        if d > 0 && d <= AudioClock.maxFill {
            let fill = Int((d * rate).rounded())
            try fifo.writeSilence(fill)
            samplesQueued += Int64(fill)
            context.accounting.update(lane) { $0.samplesFilled += fill }
            note("audio: filled a \(String(format: "%.1f", d * 1000)) ms gap in the input's timestamps with silence at \(at) s")
            return 0
        }
        if d > 0 {
            // Too long to fill: finish the encoder frame under way with silence, then let the
            // output's timestamps jump with the input's.
            let size = encoder.frameSize > 0 ? encoder.frameSize : 1024
            let partial = fifo.count % size
            let pad = partial == 0 ? 0 : size - partial
            try fifo.writeSilence(pad)
            samplesQueued += Int64(pad)
            context.accounting.update(lane) { $0.samplesFilled += pad }
            while fifo.count >= size { try encodeAudioChunk(size) }
            let jump = Int64((d * rate).rounded()) - Int64(pad)
            if jump > 0 { ptsJump += jump }
            note("audio: the input's timestamps jump by \(String(format: "%.3f", d)) s at \(at) s; the output's audio timestamps jump with them")
            return 0
        }
        let overlap = -d
        let trim = Int((overlap * rate).rounded())
        if overlap <= AudioClock.maxFill {
            let cut = min(trim, lf.frame.sampleCount)
            context.accounting.update(lane) { $0.samplesTrimmed += cut }
            note("audio: left out \(String(format: "%.1f", Double(cut) / rate * 1000)) ms where the input's timestamps overlap at \(at) s")
            return cut
        }
        // Timestamps went far back (a file spliced out of order): keep counting samples and
        // follow the new timestamps from here, as one cannot write audio into the past.
        clockJumped -= overlap
        note("audio: the input's timestamps go back by \(String(format: "%.3f", overlap)) s at \(at) s; audio carries on without a cut")
        return 0
    }

    /// A timing correction, logged the first few times and then every 100th.
    private func note(_ message: String) {
        clockWarnings += 1
        if clockWarnings <= 5 || clockWarnings % 100 == 0 { context.logger.notice("\(message)") }
    }

    private func flushAudio() throws {
        guard let fifo else { return }
        while fifo.count > 0 { try encodeAudioChunk(encoder.frameSize > 0 ? encoder.frameSize : 1024) }
    }

    private var samplesSent: Int64 = 0
    private func encodeAudioChunk(_ size: Int) throws {
        guard let fifo, let chunk = try fifo.read(size) else { return }
        let pts = (nextSamplePts ?? 0) + samplesSent + ptsJump
        chunk.pts = pts
        // The trace of the frame that supplied this chunk's first sample, with the chunk's own
        // media time, and labeled (synthetic) when any frame supplying its samples was: the
        // frame log then says what each encoded chunk carries.
        while pendingTraces.count > 1 && pendingTraces[1].0 <= samplesSent { pendingTraces.removeFirst() }
        if var t = pendingTraces.first?.1 {
            let end = samplesSent + Int64(chunk.sampleCount)
            for (start, supplier) in pendingTraces where start < end {
                t.labeled = t.labeled || supplier.labeled
            }
            t.mediaTime = Double(pts) / Double(encoder.sampleRate)
            // Synthetic as the gate judges a chunk: when any of its samples is.
            t.synthetic = context.timeline.isSynthetic(from: t.mediaTime, to: t.mediaTime + Double(chunk.sampleCount) / Double(encoder.sampleRate))
            traces[pts] = t
        }
        samplesSent += Int64(chunk.sampleCount)
        let n = chunk.sampleCount
        context.accounting.update(lane) { $0.samplesOut += n }
        try send(chunk)
    }

    private var framesSent = 0
    private var packetsReceived = 0
    private var maxInFlight = 0
    private var lastTrace: FrameTrace?

    private func send(_ frame: Frame) throws {
        while try encoder.send(frame) == .full { try drain() }
        framesSent += 1
        if framesSent - packetsReceived > maxInFlight {
            maxInFlight = framesSent - packetsReceived
            let delay = maxInFlight - 1
            context.accounting.update(lane) { $0.encoderDelayFrames = max($0.encoderDelayFrames, delay) }
        }
        try drain()
    }

    private func drain() throws {
        let padding = Int64(encoder.context.pointee.initial_padding)
        while case .output(let packet) = try encoder.receive() {
            packetsReceived += 1
            // Matched back by pts (B-frames and encoder delay included; AAC shifts by its
            // priming). A packet no frame maps to (an encoder's final flush) carries the trace
            // of the frame before it, so every written frame has a trace.
            var trace = traces.removeValue(forKey: packet.pts) ?? traces.removeValue(forKey: packet.pts + padding) ?? lastTrace
            lastTrace = trace
            trace?.stamp(.encoded)
            if traces.count > 1024 { traces.removeAll(keepingCapacity: true) }
            var out = packet
            if lane.kind == .audio, writtenAudioEnd > -Double.infinity,
               Double(packet.pts) * encoder.timeBase.double < writtenAudioEnd - 0.001 {
                continue   // copied audio already covers it (hand-over from copying)
            }
            if let format = copyFormat {
                out = format.encoded(packet)
                if !codedDTS.isEmpty { out.dts = min(codedDTS.removeFirst(), out.pts) }
                if out.dts <= lastDTS { out.dts = lastDTS + 1 }
                lastDTS = out.dts
            }
            mux.stage.submit(.packet(EncodedPacket(packet: out, streamIndex: outputIndex, timeBase: encoder.timeBase,
                                                   lane: lane, trace: trace)))
        }
    }
}

/// Audio only: converts decoded samples to the encoder's format (planar float at the encoder's
/// rate and channel count), so the watermark works on one format. Own serial queue.
final class ResampleStage: @unchecked Sendable {
    let stage: Stage<StageItem<LaneFrame>>
    private let context: PipelineContext
    private let outputRate: Int
    private let outputChannels: Int
    private var resampler: Resampler?
    private var nextMediaTime: Double?
    /// Where the next input frame starts by the samples so far (media time, s).
    private var inputClock: Double?
    /// Frames in a row whose timestamps were off the sample clock by more than the tolerance
    /// (same sign), and the smallest such offset (`AudioClock.confirmFrames`).
    private var offStreak = 0
    private var offMin = 0.0
    /// The converted frames of that streak, not yet timed: held until the offset is confirmed
    /// (then they go out at their real media time, the offset applied) or refuted (then on the
    /// sample clock, as before: a jitter). Timing them on the sample clock at once put the first
    /// frames after an input gap early by the gap, so the schedule, a live switch and the
    /// watermark judged them at the wrong media time. At most `confirmFrames - 1` frames (~43 ms
    /// of AAC), and only while an offset is pending.
    private var held: [(frame: Frame, trace: FrameTrace)] = []
    private var lastTrace: FrameTrace?
    private let downstream: (StageItem<LaneFrame>) -> Void

    init(lane: Lane = .audio, outputRate: Int, outputChannels: Int, context: PipelineContext, capacity: Int,
         downstream: @escaping (StageItem<LaneFrame>) -> Void) {
        self.outputRate = outputRate
        self.outputChannels = outputChannels
        self.context = context
        self.downstream = downstream
        stage = Stage(name: "\(lane.rawValue).resample", capacity: capacity)
        stage.handler = { [unowned self] item in self.handle(item) }
    }

    private func handle(_ item: StageItem<LaneFrame>) {
        do {
            switch item {
            case .data(let lf):
                let f = lf.frame
                if resampler == nil || !resampler!.matches(f) {
                    releaseHeld()
                    if let old = resampler, let tail = try old.convert(nil) { emit(tail, trace: lf.trace) }
                    resampler = try withUnsafePointer(to: &f.pointer.pointee.ch_layout) { layout in
                        try Resampler(inputFormat: f.sampleFormat, inputRate: f.sampleRate, inputLayout: layout,
                                      outputFormat: AV_SAMPLE_FMT_FLTP, outputRate: outputRate, outputChannels: outputChannels)
                    }
                }
                var hold = false
                if nextMediaTime == nil {
                    nextMediaTime = lf.mediaTime
                } else if let expected = inputClock {
                    hold = followTimestamps(offset: lf.mediaTime - expected)
                }
                inputClock = (inputClock ?? lf.mediaTime) + Double(f.sampleCount) / Double(max(1, f.sampleRate))
                if let out = try resampler!.convert(f) {
                    if hold { held.append((out, lf.trace)) } else { emit(out, trace: lf.trace) }
                }
            case .copied(let run):
                downstream(.copied(run))
            case .end:
                releaseHeld()
                if let r = resampler, let tail = try r.convert(nil), let t = lastTrace { emit(tail, trace: t) }
                downstream(.end)
            }
        } catch {
            context.fail(error, stage: stage.name)
            if case .end = item { downstream(.end) }
        }
    }

    /// A gap or overlap in the input that has held (`AudioClock`): media time follows the
    /// timestamps again by that much, and the encode stage fills or cuts samples to match.
    /// The frames of the streak are held meanwhile and released before the frame at hand: on
    /// confirmation with the offset applied, otherwise on the sample clock. Returns whether the
    /// frame at hand is to be held too (the offset is not confirmed yet).
    private func followTimestamps(offset d: Double) -> Bool {
        guard abs(d) > AudioClock.tolerance, d.isFinite else {
            offStreak = 0
            releaseHeld()
            return false
        }
        if offStreak > 0 && (d > 0) == (offMin > 0) {
            offStreak += 1
            if abs(d) < abs(offMin) { offMin = d }
        } else {
            releaseHeld()  // a streak of the other sign did not hold
            offStreak = 1
            offMin = d
        }
        guard offStreak >= AudioClock.confirmFrames else { return true }
        nextMediaTime = (nextMediaTime ?? 0) + offMin
        inputClock = (inputClock ?? 0) + offMin
        offStreak = 0
        releaseHeld()
        return false
    }

    /// Hands on the held frames, in order, timed from `nextMediaTime` as it stands.
    private func releaseHeld() {
        let frames = held
        held = []
        for h in frames { emit(h.frame, trace: h.trace) }
    }

    /// Audio media time runs on the sample count from the first frame, so chunks tile exactly,
    /// until the input's timestamps part from it by more than `AudioClock.tolerance`.
    private func emit(_ frame: Frame, trace: FrameTrace) {
        let t = nextMediaTime ?? 0
        nextMediaTime = t + Double(frame.sampleCount) / Double(outputRate)
        var tr = trace
        tr.mediaTime = t
        let synthetic = context.timeline.isSynthetic(at: t)
        tr.synthetic = synthetic
        lastTrace = tr
        downstream(.data(LaneFrame(frame: frame, mediaTime: t, synthetic: synthetic, trace: tr)))
    }
}
