import CFFmpeg
import Foundation
import MediaIO

/// A demuxed packet with the moment it was read (the start of its frames' traces).
struct ReadPacket: @unchecked Sendable {
    let packet: Packet
    let readAt: UInt64
    /// `--copy-unlabeled`: the packet holds an IDR picture (set by the decode stage, once).
    var idr = false
}

/// What the demuxer hands a lane: a packet, or (after a live input reconnected) the new
/// source's decoder and how to map its clock onto the old one.
enum DemuxItem: @unchecked Sendable {
    case packet(ReadPacket)
    /// `shift`: seconds to add to the new stream's timestamps so media time carries on from
    /// where the lost connection stopped.
    case newSource(decoder: Decoder, timeBase: Rational, shift: Double)
}

/// Decodes one input stream into `LaneFrame`s, asks the Timeline about each, and hands them on.
/// Corrupt packets are counted and skipped; the stream goes on. Runs on its own serial queue.
final class DecodeStage: @unchecked Sendable {
    let lane: Lane
    let stage: Stage<StageItem<DemuxItem>>
    private var decoder: Decoder
    /// The current source's packet time base, and the shift (seconds) onto the first one's clock.
    private var sourceTimeBase: Rational
    private var shift: Double = 0
    private let context: PipelineContext
    private let timeBase: Rational
    /// Nominal frame duration in the stream's time base, for frames without a timestamp.
    private let nominalDuration: Int64
    private let downstream: (StageItem<LaneFrame>) -> Void
    private var readTimes: [Int64: UInt64] = [:]
    private var lastReadAt: UInt64 = 0
    private var lastPts: Int64 = MediaTime.noPTS
    private var lastDuration: Int64 = 0
    private var loggedErrors = 0
    /// `--copy-unlabeled` (H.264 and HEVC files): the GOP being read, from its IDR. At the next IDR the
    /// GOP is decided as a whole: copied when none of its pictures is synthetic, else decoded
    /// (and then labeled and re-encoded). Copied GOPs are never decoded.
    var copyFormat: VideoCopyFormat?
    private var gop: [ReadPacket] = []
    /// The GOP under way grew past `gopLimit` packets: decoded as it comes (memory stays bounded).
    private var gopDecoding = false
    /// Packets handed to the decoder since it was last flushed.
    private var decoderFed = false
    /// DTS of the packets decoded, in decode order: the k-th picture out of the decoder is
    /// encoded with the k-th (`LaneFrame.codedDTS`), so a re-encoded stretch keeps the input's
    /// DTS sequence and joins the copied ones in order.
    private var decodedDTS: [Int64] = []
    static let gopLimit = 1800
    private var notedOpenGOP = false
    /// Per-picture copying (live inputs, `--realtime`, `--listen`: no GOP of delay). Every
    /// packet is decoded, so the decoder is ready at a switch; a picture that is not synthetic
    /// goes out as its packet while copying; the first synthetic picture starts a re-encoded
    /// stretch (the encoder opens on it with an IDR: the switch takes effect at the answered
    /// instant), which lasts to the first input IDR after the synthetic pictures end. Needs a
    /// stream without picture reordering (each packet's picture comes straight back).
    var copyPerPicture = false
    private var copying = true
    /// The packet just sent to the decoder (per-picture copying).
    private var sentPacket: ReadPacket?
    /// Reordering seen, or a reconnect to parameter sets the output cannot take: every
    /// picture from here on is re-encoded.
    private var copyStopped = false
    /// Per-picture copying with a Timeline known ahead (`CopyDecode.ahead`): while copying, the
    /// decoder sleeps from an IDR on and wakes at the IDR before the next synthetic start (the
    /// longest GOP seen ahead of it), so only the GOPs next to synthetic stretches are decoded.
    /// A start it did not see coming (a switch through the control API) wakes it at once: the
    /// packets since the GOP's IDR are decoded first, in a burst, their pictures not handed on.
    var decodeAhead = false
    private var asleep = false
    /// Packets since the IDR the decoder fell asleep at or the last one since (to catch up).
    private var skipped: [ReadPacket] = []
    private var skippedOverflow = false
    private var lastIDRTime: Double?
    private var longestGOP: Double?
    /// Decoding skipped packets to catch up: their pictures are not handed on.
    private var catchingUp = false
    /// Audio (copying unlabeled audio): every packet is decoded as usual and also offered
    /// downstream for copying (`AudioCopyFormat`); the input's AudioSpecificConfig, which a new
    /// connection must keep for copying to go on.
    var audioCopyConfig: [UInt8]?
    /// The input's packets carry ADTS headers, each checked against this and taken off.
    var audioCopyADTS: AACConfig?
    /// The trace of the frame the packet just decoded gave (an offered packet takes it over).
    private var emittedTrace: FrameTrace?

    init(lane: Lane, decoder: Decoder, timeBase: Rational, nominalDuration: Int64, context: PipelineContext,
         capacity: Int, downstream: @escaping (StageItem<LaneFrame>) -> Void) {
        self.lane = lane
        self.decoder = decoder
        self.context = context
        self.timeBase = timeBase
        self.sourceTimeBase = timeBase
        self.nominalDuration = max(1, nominalDuration)
        self.downstream = downstream
        stage = Stage(name: "\(lane.rawValue).decode", capacity: capacity)
        stage.handler = { [unowned self] item in self.handle(item) }
    }

    private func handle(_ item: StageItem<DemuxItem>) {
        switch item {
        case .data(.newSource(let newDecoder, let tb, let newShift)):
            // Flush what the old connection left in the decoder, then carry on with the new one.
            _ = try? decoder.send(nil)
            drain()
            decoder = newDecoder
            sourceTimeBase = tb
            shift = newShift
            readTimes.removeAll()
            asleep = false
            skipped.removeAll()
            skippedOverflow = false
            lastIDRTime = nil
            if let format = copyFormat, !copyStopped {
                if !format.newSource(extradata: CodecExtradata.get(newDecoder.context)) {
                    stopCopying("the new connection's parameter sets differ from those in the output's header")
                }
            }
            if let asc = audioCopyConfig, CodecExtradata.get(newDecoder.context) != asc {
                stopAudioCopy("the new connection's AAC set-up differs from the one in the output's header")
            }
        case .data(.packet(let rp)) where audioCopyConfig != nil:
            context.accounting.update(lane) { $0.packetsIn += 1 }
            offerAudio(rp)
        case .data(.packet(var rp)):
            context.accounting.update(lane) { $0.packetsIn += 1 }
            guard let format = copyFormat else { return decode(rp) }
            rp.idr = format.isIDR(rp.packet)
            let idr = rp.idr
            if copyPerPicture {
                if decodeAhead, sleeps(rp) { return }
                sentPacket = rp
                decode(rp)
                sentPacket = nil
                return
            }
            if idr {
                finishGOP()
                gopDecoding = false
            } else if rp.packet.isKeyframe && !notedOpenGOP {
                notedOpenGOP = true
                let at = String(format: "%.3f", mediaTime(rp.packet.pts))
                context.logger.notice("\(lane.rawValue): the input has keyframes that are not IDR pictures (open GOPs; the first at \(at) s): --copy-unlabeled copies from IDR to IDR only, so the GOP around a segment is longer")
            }
            if gopDecoding { return decode(rp) }
            gop.append(rp)
            if gop.count > Self.gopLimit {
                // No IDR for this long: decode the rest of this GOP as it comes.
                context.logger.notice("\(lane.rawValue): no IDR picture in \(Self.gopLimit) packets; re-encoding this GOP (--copy-unlabeled copies whole GOPs only)")
                let held = gop
                gop = []
                gopDecoding = true
                for p in held { decode(p) }
            }
        case .copied(let run):
            downstream(.copied(run))
        case .end:
            finishGOP()
            _ = try? decoder.send(nil)
            drain()
            downstream(.end)
        }
    }

    private func decode(_ rp: ReadPacket) {
        lastReadAt = rp.readAt
        if rp.packet.pts != MediaTime.noPTS {
            readTimes[rp.packet.pts] = rp.readAt
            if readTimes.count > 512 { readTimes.removeAll(keepingCapacity: true) }
        }
        if copyFormat != nil, !copyPerPicture {
            decoderFed = true
            decodedDTS.append(rp.packet.dts != MediaTime.noPTS ? rp.packet.dts : rp.packet.pts)
        }
        do {
            while try decoder.send(rp.packet) == .full { drain() }
        } catch {
            decodeError(error)
        }
        drain()
    }

    /// `decodeAhead`: whether this packet goes out copied without being decoded (true), or is
    /// decoded as usual (false, after waking the decoder if it slept).
    private func sleeps(_ rp: ReadPacket) -> Bool {
        let p = rp.packet
        guard copying, !copyStopped, p.pts != MediaTime.noPTS else {
            if asleep && skippedOverflow && !rp.idr {
                // Nothing to catch up from (no IDR in the packets kept) and no time to copy it
                // on: a picture whose references the decoder never saw is neither decoded nor
                // copied, but dropped and counted, until the next IDR.
                context.accounting.update(lane) { $0.framesIn += 1; $0.dropped["no-reference", default: 0] += 1 }
                return true
            }
            if asleep { wake(rp) }
            return false
        }
        let t = mediaTime(p.pts)
        if rp.idr {
            if let last = lastIDRTime, t > last { longestGOP = max(longestGOP ?? 0, t - last) }
            lastIDRTime = t
        }
        let needed = decoderNeeded(at: t, idr: rp.idr)
        if asleep {
            if needed || (skippedOverflow && rp.idr) {
                if skippedOverflow && !rp.idr {
                    // Nothing to catch up from until the next IDR: out as the input's own, so
                    // the gate before the encoder withholds what is synthetic (never bare).
                    copyOut(rp, at: t)
                    return true
                }
                wake(rp)
                return false
            }
            if rp.idr { skipped.removeAll(keepingCapacity: true) }
            if skipped.count < Self.gopLimit { skipped.append(kept(rp)) } else { skippedOverflow = true }
            copyOut(rp, at: t)
            return true
        }
        guard !needed, rp.idr else { return false }
        asleep = true
        skipped = [kept(rp)]
        copyOut(rp, at: t)
        return true
    }

    /// Whether the decoder must be awake for the picture at `t`: it is synthetic, or the next
    /// synthetic start could come before the next IDR. At an IDR that is when the start is
    /// within the longest GOP seen (plus two pictures); between IDRs, when the start comes
    /// before the IDR due next (or, once that is overdue, within two pictures) — which happens
    /// only when the Timeline changed since the last IDR or a GOP runs longer than any before.
    /// Until two IDRs have been seen the GOP is unknown: awake.
    private func decoderNeeded(at t: Double, idr: Bool) -> Bool {
        guard let gop = longestGOP, let lastIDR = lastIDRTime else { return true }
        if context.timeline.isSynthetic(at: t) { return true }
        guard let next = context.timeline.nextBoundary(after: t) else { return false }
        let margin = 2 * Double(nominalDuration) * timeBase.double
        if idr { return next - t <= gop + margin }
        return next < max(lastIDR + gop, t) + margin
    }

    /// Wakes the decoder before `rp`: unless `rp` is an IDR, the packets it slept through
    /// since the last IDR are decoded first (their pictures went out as copied packets).
    private func wake(_ rp: ReadPacket) {
        asleep = false
        let held = skipped
        skipped.removeAll()
        let overflowed = skippedOverflow
        if overflowed {
            skippedOverflow = false
            decodeAhead = false
            context.logger.notice("\(lane.rawValue): no IDR picture in \(Self.gopLimit) packets: the decoder stays awake from here on")
        }
        guard !rp.idr, !overflowed else { return }
        catchingUp = true
        for p in held { decode(p) }
        catchingUp = false
    }

    /// A reference of its own to the packet's data: the muxer takes the copied packet over
    /// (and empties it), and an empty packet sent to a decoder would start draining it.
    private func kept(_ rp: ReadPacket) -> ReadPacket {
        ReadPacket(packet: rp.packet.clone(), readAt: rp.readAt, idr: rp.idr)
    }

    /// A packet out as the input's own, not decoded (the decoder sleeps).
    private func copyOut(_ rp: ReadPacket, at t: Double) {
        let d = rp.packet.duration > 0 ? Double(rp.packet.duration) * sourceTimeBase.double : Double(nominalDuration) * timeBase.double
        let end = t + d
        lastReadAt = rp.readAt
        downstream(.copied(copiedRun([rp], start: t, end: end)))
    }

    /// Media time of a packet timestamp on this lane's clock.
    private func mediaTime(_ ts: Int64) -> Double {
        (Double(ts) * sourceTimeBase.double + shift) - context.originSeconds
    }

    /// Whether this source's timestamps need moving onto the first connection's clock.
    private var reclocked: Bool { shift != 0 || sourceTimeBase != timeBase }

    /// A timestamp of the current source on the first connection's clock (in `timeBase`), so
    /// media time runs on across a reconnect. Unchanged before any reconnect.
    private func onFirstClock(_ ts: Int64) -> Int64 {
        guard reclocked, ts != MediaTime.noPTS else { return ts }
        return Int64(((Double(ts) * sourceTimeBase.double + shift) / timeBase.double).rounded())
    }

    /// `--copy-unlabeled`: decides the GOP read so far. Synthetic anywhere (by the Timeline,
    /// first picture to the end of the last) → decoded for labeling and re-encoding; else its
    /// packets go down the lane as a `CopiedRun` (after the decoder has given back every
    /// picture of the stretch before, so the order holds).
    private func finishGOP() {
        guard !gop.isEmpty else { return }
        let held = gop
        gop = []
        let stamped = held.filter { $0.packet.pts != MediaTime.noPTS }
        let first = stamped.map(\.packet.pts).min() ?? 0
        let last = stamped.map { $0.packet.pts + max($0.packet.duration, nominalDuration) }.max() ?? first
        let start = mediaTime(first), end = mediaTime(last)
        if stamped.count != held.count || context.timeline.isSynthetic(from: start, to: end) {
            for p in held { decode(p) }
            return
        }
        if decoderFed {
            // The re-encoded stretch before ends here: every picture it holds goes first.
            _ = try? decoder.send(nil)
            drain()
            decoder.reset()
            decoderFed = false
            decodedDTS.removeAll()
        }
        downstream(.copied(copiedRun(held, start: start, end: end)))
    }

    /// Input packets as a `CopiedRun`: timestamps onto the first connection's clock, a trace each.
    /// `decoded`: the trace its picture already has (per-picture copying decodes every packet:
    /// the picture keeps its sequence number, so the frame log has no holes).
    private func copiedRun(_ held: [ReadPacket], start: Double, end: Double, decoded: FrameTrace? = nil) -> CopiedRun {
        var traces: [FrameTrace] = []
        var packets: [Packet] = []
        for rp in held {
            let p = rp.packet
            let at = mediaTime(p.pts)
            p.pts = onFirstClock(p.pts)
            p.dts = onFirstClock(p.dts)
            var trace = decoded.map { d in var t = d; t.mediaTime = at; t.synthetic = false; return t }
                ?? FrameTrace(sequence: context.nextSequence(), lane: lane, mediaTime: at, synthetic: false, read: rp.readAt)
            trace.copied = true
            trace.stamp(.decoded)
            traces.append(trace)
            packets.append(p)
        }
        return CopiedRun(packets: packets, idr: held.map(\.idr), traces: traces, start: start, end: end)
    }

    /// Copying unlabeled audio: the packet is decoded, then offered as the input's own (its own
    /// reference: the muxer takes a copied packet over), with the trace of the frame it gave.
    private func offerAudio(_ rp: ReadPacket) {
        let p = rp.packet
        guard p.pts != MediaTime.noPTS else {
            stopAudioCopy("an audio packet without a timestamp")
            return decode(rp)
        }
        let copy = p.clone()
        emittedTrace = nil
        decode(rp)
        if let config = audioCopyADTS {
            guard let payload = AudioCopyFormat.adtsPayload(copy.data, matching: config) else {
                return stopAudioCopy("an ADTS header that differs from the stream's AAC-LC set-up, or one with a CRC or several frames")
            }
            copy.replacePayload(Array(payload))
        }
        let at = mediaTime(copy.pts)
        copy.pts = onFirstClock(copy.pts)
        copy.dts = onFirstClock(copy.dts)
        var trace = emittedTrace ?? FrameTrace(sequence: context.nextSequence(), lane: lane, mediaTime: at, synthetic: false, read: rp.readAt)
        emittedTrace = nil
        trace.mediaTime = at
        trace.copied = true
        if trace[.decoded] == 0 { trace.stamp(.decoded) }
        var run = CopiedRun(packets: [copy], idr: [false], traces: [trace], start: at, end: at)
        run.offered = true
        downstream(.copied(run))
    }

    private func stopAudioCopy(_ why: String) {
        guard audioCopyConfig != nil else { return }
        audioCopyConfig = nil
        context.logger.notice("\(lane.rawValue): copying unlabeled audio stops (\(why)): all audio from here on is re-encoded")
        var run = CopiedRun(packets: [], idr: [], traces: [], start: 0, end: 0)
        run.stopsCopy = true
        downstream(.copied(run))
    }

    private func stopCopying(_ why: String) {
        guard !copyStopped else { return }
        copyStopped = true
        context.logger.notice("\(lane.rawValue): --copy-unlabeled stops (\(why)): every picture from here on is re-encoded")
    }

    private func decodeError(_ error: any Error) {
        context.accounting.update(lane) { $0.decodeErrors += 1 }
        loggedErrors += 1
        if loggedErrors <= 5 { context.logger.warning("\(lane.rawValue): skipping a corrupt packet (\(error))") }
    }

    private func drain() {
        while true {
            let result: CodecReceiveResult<Frame>
            do { result = try decoder.receive() } catch { decodeError(error); continue }
            guard case .output(let frame) = result else { return }
            emit(frame)
        }
    }

    private func emit(_ frame: Frame) {
        let readAt = readTimes.removeValue(forKey: frame.pts) ?? lastReadAt
        if catchingUp { return }   // went out as a copied packet while the decoder slept
        let decodedPts = frame.pts
        frame.pts = onFirstClock(frame.pts)
        // Frames without a timestamp continue the previous one's clock.
        var pts = frame.pts
        let duration: Int64
        if lane.kind == .audio {
            duration = MediaTime.rescale(Int64(frame.sampleCount), from: Rational(1, Int32(max(1, frame.sampleRate))), to: timeBase)
        } else {
            duration = frame.durationInTimeBase > 0 && sourceTimeBase == timeBase ? frame.durationInTimeBase : nominalDuration
        }
        if pts == MediaTime.noPTS {
            pts = lastPts == MediaTime.noPTS ? 0 : lastPts + lastDuration
            frame.pts = pts
        }
        lastPts = pts
        lastDuration = duration
        let mediaTime = Double(pts) * timeBase.double - context.originSeconds
        let synthetic = context.timeline.isSynthetic(at: mediaTime)
        var trace = FrameTrace(sequence: context.nextSequence(), lane: lane, mediaTime: mediaTime, synthetic: synthetic,
                               read: readAt)
        trace.stamp(.decoded)
        if audioCopyConfig != nil { emittedTrace = trace }
        let lf = LaneFrame(frame: frame, mediaTime: mediaTime, synthetic: synthetic, trace: trace)
        if copyPerPicture {
            // The packet just sent gave this picture (no reordering): its DTS is the picture's.
            // A reordered stream (copying stopped) is encoded on its pictures' own times.
            if let sent = sentPacket, sent.packet.pts == decodedPts {
                lf.codedDTS = onFirstClock(sent.packet.dts != MediaTime.noPTS ? sent.packet.dts : sent.packet.pts)
            }
        } else if copyFormat != nil, !decodedDTS.isEmpty {
            lf.codedDTS = onFirstClock(decodedDTS.removeFirst())
        }
        if copyPerPicture, !copyStopped, let sent = sentPacket {
            if decodedPts != sent.packet.pts {
                stopCopying("the input reorders pictures (B-frames); per-picture copying needs a stream without, e.g. x264 -tune zerolatency, x265 bframes=0")
            } else {
                if copying && synthetic {
                    copying = false
                } else if !copying && !synthetic && sent.idr {
                    copying = true
                }
                if copying {
                    sentPacket = nil
                    let end = mediaTime + Double(duration) * timeBase.double
                    return downstream(.copied(copiedRun([sent], start: mediaTime, end: end, decoded: trace)))
                }
            }
        }
        downstream(.data(lf))
    }
}

/// Runs a lane's `FrameProcessor` (the labeling seam) and keeps the lane's accounting:
/// each frame in is either handed on or withheld with a reason. Own serial queue.
final class ProcessStage: @unchecked Sendable {
    let lane: Lane
    let stage: Stage<StageItem<LaneFrame>>
    private let processor: any FrameProcessor
    private let context: PipelineContext
    private let downstream: (StageItem<LaneFrame>) -> Void
    /// Video: the output's picture (size and pixel format the label was laid out for). A frame
    /// that differs (the input changed size mid-stream) is converted *before* it is labeled,
    /// so the label is laid out for the frame the encoder receives and stays >= 5% of the
    /// output's short side whatever the input does.
    private let outputPicture: (width: Int, height: Int, format: AVPixelFormat)?
    private var conformer: Scaler?

    init(lane: Lane, processor: any FrameProcessor, context: PipelineContext, capacity: Int,
         outputPicture: (width: Int, height: Int, format: AVPixelFormat)? = nil,
         downstream: @escaping (StageItem<LaneFrame>) -> Void) {
        self.lane = lane
        self.processor = processor
        self.context = context
        self.outputPicture = outputPicture
        self.downstream = downstream
        stage = Stage(name: "\(lane.rawValue).process", capacity: capacity)
        stage.handler = { [unowned self] item in self.handle(item) }
    }

    private func handle(_ item: StageItem<LaneFrame>) {
        switch item {
        case .data(let input):
            let samples = input.frame.sampleCount
            context.accounting.update(lane) { $0.framesIn += 1; $0.samplesIn += samples }
            let result: ProcessResult
            var frame = input
            do {
                frame = try conform(input)
                result = try processor.process(frame)
            } catch {
                if frame.synthetic {
                    // Fail-closed: a synthetic frame that could not be labeled is never passed on bare.
                    result = .withhold(reason: "label-failed")
                    context.logger.error("\(lane.rawValue): labeling failed at \(String(format: "%.3f", frame.mediaTime)) s, frame withheld: \(error)")
                } else {
                    context.fail(error, stage: stage.name)
                    result = .withhold(reason: "pipeline-error")
                }
            }
            switch result {
            case .emit(let frames):
                // One frame in, one frame accounted out: a processor with look-ahead may hand
                // back a different chunk (or none yet); its samples come out in order.
                // Labeled: a layer was applied (what a processor did, not what it claims).
                let labeled = !frame.layers.isEmpty || frames.contains { !$0.layers.isEmpty }
                context.accounting.update(lane) { $0.framesOut += 1; if labeled { $0.framesLabeled += 1 } }
                for f in frames { pass(f) }
            case .withhold(let reason):
                context.accounting.drop(lane, reason: reason)
            }
        case .copied(var run) where run.offered || run.stopsCopy:
            for i in run.traces.indices { run.traces[i].stamp(.processed) }
            downstream(.copied(run))
        case .copied(var run):
            let n = run.packets.count
            context.accounting.update(lane) { $0.framesIn += n; $0.framesOut += n; $0.framesCopied += n }
            for i in run.traces.indices { run.traces[i].stamp(.processed) }
            downstream(.copied(run))
        case .end:
            do {
                for f in try processor.finish() { pass(f) }
                for reason in (processor as? ProcessorChain)?.withheldAtFinish ?? [] {
                    context.accounting.drop(lane, reason: reason)
                }
            } catch {
                context.fail(error, stage: stage.name)
            }
            downstream(.end)
        }
    }

    /// The frame at the output's picture size and format (usually the frame itself).
    private func conform(_ lf: LaneFrame) throws -> LaneFrame {
        guard let out = outputPicture, lf.frame.width > 0,
              lf.frame.width != out.width || lf.frame.height != out.height || lf.frame.pixelFormat != out.format else { return lf }
        if conformer == nil || !conformer!.matches(lf.frame) {
            context.logger.notice("video: the input is now \(lf.frame.width)x\(lf.frame.height) \(Scaler.name(lf.frame.pixelFormat)); scaled to the output's \(out.width)x\(out.height) before labeling")
            conformer = try Scaler(from: lf.frame.width, lf.frame.height, lf.frame.pixelFormat, to: out.width, out.height, out.format)
        }
        let converted = try conformer!.convert(lf.frame)
        converted.pts = lf.frame.pts
        return lf.carrying(converted)
    }

    private func pass(_ f: LaneFrame) {
        f.trace.stamp(.processed)
        f.trace.labeled = !f.layers.isEmpty
        downstream(.data(f))
    }
}
