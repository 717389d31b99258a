import CFFmpeg
import Foundation
import MediaIO

/// Waits, after a live input has opened, until every stream the input declares has shown up
/// with the parameters a lane needs, up to a bound (`--probe-timeout`).
///
/// Why: FFmpeg's probe ends as soon as the streams it has seen are complete. A media server
/// that holds video back until the next keyframe (nginx-rtmp `wait_key on`) sends audio first,
/// and FFmpeg's RTMP client writes the FLV header (its has-audio/has-video flags) at that first
/// audio packet, before onMetaData: the FLV demuxer then never expects video, and a publisher
/// with a 2-8 s GOP came up audio-only, silently, most of the time. What the input declares is
/// read here instead: onMetaData's `videocodecid`/`audiocodecid` (the demuxer exposes them with
/// `flv_full_metadata`), and the streams an MPEG-TS PMT announced (present, but without a
/// picture size until a keyframe was decoded).
///
/// The packets read while waiting are handed back to the demuxer (`Demuxer.unread`), so the
/// pipeline sees every one of them; a stream that arrives late gets its parameters from a
/// throwaway decoder fed the same packets, as `avformat_find_stream_info` would have done.
struct LiveProbe {
    /// How long to wait for a declared stream (seconds of wall time after the open).
    let timeout: Double
    /// How long an FLV input with no codec ids in onMetaData (none received yet) is given for
    /// its metadata to arrive before only the streams seen count as declared.
    var metadataGrace = 2.0
    /// Packets held back at most while waiting (a bound on memory, ~10 s of a 30 Mb/s stream).
    var maxBufferedBytes = 40_000_000

    /// What the wait found.
    struct Outcome: Sendable {
        /// Kinds the input declares (video, audio).
        var declared: Set<StreamInfo.Kind>
        /// Declared kinds that did not show up (or stayed without parameters) in time.
        var missing: Set<StreamInfo.Kind>
        /// Wall seconds spent waiting after the open (0 when nothing was missing).
        var waited: Double
        /// Packets read ahead and handed back.
        var readAhead: Int
        /// Where the declaration came from, for the log ("onMetaData", "streams").
        var source: String
    }

    /// The kinds `demuxer` declares: its streams' kinds, plus onMetaData's codec ids. The
    /// second element says whether onMetaData named any codec id (FLV) at all.
    static func declared(_ demuxer: Demuxer) -> (kinds: Set<StreamInfo.Kind>, fromMetadata: Bool) {
        var kinds = Set(demuxer.streams.map(\.kind).filter { $0 == .video || $0 == .audio })
        var fromMetadata = false
        let tags = demuxer.metadata
        for (key, kind) in [("videocodecid", StreamInfo.Kind.video), ("audiocodecid", .audio)] {
            guard let value = tags[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { continue }
            fromMetadata = true
            // A number (7 = H.264, 10 = AAC) or a FourCC string; 0 / "none" mean absent.
            if value != "0" && value.lowercased() != "none" { kinds.insert(kind) }
        }
        return (kinds, fromMetadata)
    }

    /// Whether a stream has what its lane needs: a picture size and pixel format, or a sample
    /// rate and channel count.
    static func isUsable(_ stream: UnsafeMutablePointer<AVStream>) -> Bool {
        let par = stream.pointee.codecpar.pointee
        switch par.codec_type {
        case AVMEDIA_TYPE_VIDEO:
            return par.width > 0 && par.height > 0 && par.format >= 0
                && (stream.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) == 0
        case AVMEDIA_TYPE_AUDIO:
            return par.sample_rate > 0 && par.ch_layout.nb_channels > 0
        default:
            return false
        }
    }

    /// The declared kinds with no usable stream yet.
    static func missing(_ demuxer: Demuxer, declared: Set<StreamInfo.Kind>) -> Set<StreamInfo.Kind> {
        var have = Set<StreamInfo.Kind>()
        let ctx = demuxer.context.pointee
        for i in 0..<Int(ctx.nb_streams) {
            guard let st = ctx.streams[i], isUsable(st) else { continue }
            have.insert(st.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO ? .video : .audio)
        }
        return declared.subtracting(have)
    }

    /// Reads on until every declared stream is usable, the timeout passes, the input ends, or
    /// `cancelled()` says stop. Read errors are thrown (the open failed after all).
    func complete(_ demuxer: Demuxer, cancelled: () -> Bool) throws -> Outcome {
        let started = Date()
        var (declared, fromMetadata) = Self.declared(demuxer)
        var missing = Self.missing(demuxer, declared: declared)
        let isFLV = demuxer.formatName.split(separator: ",").contains("flv")
        func awaitingMetadata() -> Bool { isFLV && !fromMetadata && Date().timeIntervalSince(started) < min(metadataGrace, timeout) }
        guard !missing.isEmpty || awaitingMetadata() else {
            return Outcome(declared: declared, missing: [], waited: 0, readAhead: 0, source: fromMetadata ? "onMetaData" : "streams")
        }
        var held: [Packet] = []
        var heldBytes = 0
        var learners: [Int: Decoder] = [:]
        var unlearnable = Set<Int>()
        defer {
            demuxer.unread(held)
            demuxer.refreshStreams()
        }
        while (!missing.isEmpty || awaitingMetadata()) && Date().timeIntervalSince(started) < timeout && !cancelled()
                && heldBytes < maxBufferedBytes {
            guard case .packet(let packet) = try demuxer.read() else { break }
            held.append(packet)
            heldBytes += packet.size
            let index = packet.streamIndex
            if let st = demuxer.context.pointee.streams[index], !Self.isUsable(st), !unlearnable.contains(index) {
                let type = st.pointee.codecpar.pointee.codec_type
                if type == AVMEDIA_TYPE_VIDEO || type == AVMEDIA_TYPE_AUDIO {
                    // Opened at the stream's first packet: FLV sets the codec's extradata
                    // (SPS/PPS, AudioSpecificConfig) from the sequence header just before it.
                    if learners[index] == nil {
                        do { learners[index] = try Decoder(stream: st, threads: 1) } catch { unlearnable.insert(index) }
                    }
                    if let decoder = learners[index], Self.learn(from: packet, decoder: decoder, stream: st) {
                        learners[index] = nil
                    }
                }
            }
            (declared, fromMetadata) = Self.declared(demuxer)
            missing = Self.missing(demuxer, declared: declared)
        }
        return Outcome(declared: declared, missing: missing, waited: Date().timeIntervalSince(started),
                       readAhead: held.count, source: fromMetadata ? "onMetaData" : "streams")
    }

    /// Decodes `packet` with the stream's throwaway decoder; once a frame comes out, the
    /// decoder's parameters (size, pixel format, sample rate, channels) go into the stream's
    /// codecpar. Returns true when the stream is usable.
    private static func learn(from packet: Packet, decoder: Decoder, stream: UnsafeMutablePointer<AVStream>) -> Bool {
        do {
            _ = try decoder.send(packet)
            while case .output = try decoder.receive() {
                let type = stream.pointee.codecpar.pointee.codec_type
                guard avcodec_parameters_from_context(stream.pointee.codecpar, decoder.context) >= 0 else { return false }
                stream.pointee.codecpar.pointee.codec_type = type
                return isUsable(stream)
            }
        } catch {
            // A packet before the first keyframe (joined mid-GOP) does not decode: wait for more.
        }
        return false
    }
}
