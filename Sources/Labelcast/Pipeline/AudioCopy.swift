import CFFmpeg
import Foundation
import MediaIO

/// What an AAC AudioSpecificConfig says about a stream, as far as copying needs it: the object
/// type, sample rate and channel configuration (ISO/IEC 14496-3 1.6.2.1), whether it is 960-sample
/// framed, and whether it signals SBR or PS (HE-AAC: a copy's neighbours re-encoded as AAC-LC
/// would not decode with the same set-up).
struct AACConfig: Equatable, Sendable {
    let objectType: Int
    let sampleRate: Int
    let channelConfig: Int
    let frameLength960: Bool
    let signalsSBR: Bool

    static let rates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]

    init?(_ asc: [UInt8]) {
        var reader = BitReader(asc)
        guard var type = reader.read(5) else { return nil }
        if type == 31 { guard let ext = reader.read(6) else { return nil }; type = 32 + ext }
        guard let index = reader.read(4) else { return nil }
        if index == 15 {
            guard let explicit = reader.read(24) else { return nil }
            sampleRate = explicit
        } else {
            guard index < Self.rates.count else { return nil }
            sampleRate = Self.rates[index]
        }
        guard let channels = reader.read(4) else { return nil }
        objectType = type
        channelConfig = channels
        var sbr = type == 5 || type == 29
        var frame960 = false
        if type == 2 {
            // GASpecificConfig: frameLengthFlag, dependsOnCoreCoder, extensionFlag.
            frame960 = reader.read(1) == 1
            // Backward-compatible explicit signalling (syncExtensionType 0x2B7): sbrPresentFlag.
            if reader.read(2) != nil, reader.remaining >= 16 {
                if reader.read(11) == 0x2B7, let ext = reader.read(5), ext == 5, reader.read(1) == 1 { sbr = true }
            }
        }
        frameLength960 = frame960
        signalsSBR = sbr
    }

    /// Plain AAC-LC in 1024-sample frames.
    var isPlainLC: Bool { objectType == 2 && !frameLength960 && !signalsSBR && channelConfig > 0 }

    private struct BitReader {
        let bytes: [UInt8]
        var bit = 0
        init(_ b: [UInt8]) { bytes = b }
        var remaining: Int { bytes.count * 8 - bit }
        mutating func read(_ n: Int) -> Int? {
            guard remaining >= n else { return nil }
            var v = 0
            for _ in 0..<n {
                v = (v << 1) | Int((bytes[bit / 8] >> (7 - UInt8(bit % 8))) & 1)
                bit += 1
            }
            return v
        }
    }
}

/// Copying an AAC track outside the synthetic stretches (copying unlabeled audio: the default
/// with the video's copy). Every packet is still decoded (cheap: the decoder must be ready at a
/// switch, and a re-encoded stretch needs the samples just before it); what is saved is the
/// encoder, which is most of the audio lane's cost.
///
/// AAC frames overlap: packet k decodes to samples [k, k+1) (in frames of 1024) from the MDCT
/// windows of packets k−1 and k, each window spanning two frames. So:
/// - a packet is re-encoded when its own frame or a neighbour's touches synthetic time
///   (`margin`): the watermark is then carried whole by re-encoded windows on both sides of
///   every marked sample, and every copied packet overlaps only unmarked ones;
/// - each re-encoded stretch gets a fresh encoder fed from 24 frames (0.5 s at 48 kHz) before
///   its first packet (`preRoll`; the packets of that lead-in are dropped): the first kept
///   packet's window comes from the same signal as the copied window it overlaps, so the
///   aliasing cancels at the join (no click, no dip), and the encoder's rate control has
///   settled. Measured on a tonal clip (AudioCopyTests' signal), SNR of the entry join's frame
///   against the input: no lead-in 12.9 dB, 2 frames 28.4 dB, 24 frames 39.2 dB (ffmpeg's
///   re-encode of the whole track: 37.6 dB there);
/// - after its last packet the stretch is fed two frames more (`postRoll`) and flushed (without:
///   the exit join's frame at 1.8 dB, a dip; with: 37.9 dB), and
///   only the packets standing for the stretch's own input packets are kept, with those
///   packets' timestamps: the output's audio timestamps are the input's throughout.
/// Only where the encoder's AudioSpecificConfig matches the input's (AAC-LC, same rate and
/// channel configuration, 1024-sample frames) and the input's packets are raw (not ADTS).
struct AudioCopyFormat: Sendable {
    /// The input's AudioSpecificConfig: the output stream's, as copied packets need it.
    let inputConfig: [UInt8]
    /// The input's packets carry ADTS headers (MPEG-TS, SRT, UDP): taken off each offered
    /// packet (it goes out raw, as the output stream declares; an MPEG-TS output frames it
    /// again). The config is then the encoder's, checked against every header.
    let adts: Bool
    let frameSize = 1024
    static let margin = 1
    static let preRoll = 24
    static let postRoll = 2

    /// nil with the reason when the track cannot be copied.
    static func make(inputCodec: AVCodecID, inputExtradata: [UInt8], encoderCodec: String,
                     encoderExtradata: [UInt8], inputRate: Int, inputChannels: Int, inputProfile: Int32,
                     encoderRate: Int, encoderChannels: Int) -> (AudioCopyFormat?, String?) {
        guard inputCodec == AV_CODEC_ID_AAC else {
            return (nil, "the input's audio is \(avcodec_get_name(inputCodec).map { String(cString: $0) } ?? "unknown") (AAC only)")
        }
        guard encoderCodec == "aac" else { return (nil, "the output's audio encoder is \(encoderCodec)") }
        if inputExtradata.isEmpty {
            // ADTS: each packet's header says what the stream header would; checked per packet.
            guard inputProfile == FF_PROFILE_AAC_LOW, let enc = AACConfig(encoderExtradata), enc.isPlainLC,
                  inputRate == encoderRate, inputChannels == encoderChannels else {
                return (nil, "the input's AAC (ADTS) is not AAC-LC at the encoder's rate and channel count")
            }
            return (AudioCopyFormat(inputConfig: encoderExtradata, adts: true), nil)
        }
        guard let input = AACConfig(inputExtradata) else {
            return (nil, "the input's AudioSpecificConfig cannot be read")
        }
        guard input.isPlainLC else { return (nil, "the input's AAC is not plain AAC-LC in 1024-sample frames (HE-AAC, 960-sample, or no channel configuration)") }
        guard let enc = AACConfig(encoderExtradata), enc.isPlainLC,
              enc.sampleRate == input.sampleRate, enc.channelConfig == input.channelConfig,
              inputRate == encoderRate, inputChannels == encoderChannels else {
            return (nil, "the encoder's AAC set-up differs from the input's (\(input.sampleRate) Hz, channel configuration \(input.channelConfig))")
        }
        return (AudioCopyFormat(inputConfig: inputExtradata, adts: false), nil)
    }

    /// An ADTS frame's raw AAC payload, when its header (ISO/IEC 14496-3 1.A.2) says AAC-LC at
    /// the config's rate index and channel configuration with one raw data block; nil otherwise
    /// (copying then stops: the output's header could not describe it).
    static func adtsPayload(_ bytes: [UInt8], matching config: AACConfig) -> ArraySlice<UInt8>? {
        guard bytes.count >= 7, bytes[0] == 0xFF, bytes[1] & 0xF6 == 0xF0 else { return nil }
        let protectionAbsent = bytes[1] & 1 == 1
        let objectType = Int(bytes[2] >> 6) + 1
        let rateIndex = Int((bytes[2] >> 2) & 0x0F)
        let channels = Int((bytes[2] & 1) << 2 | bytes[3] >> 6)
        let blocks = Int(bytes[6] & 0x03)
        let header = protectionAbsent ? 7 : 9
        let rates = AACConfig.rates
        // The frame length field is not checked against the packet: a packet damaged on the
        // way (UDP loss) goes out as damaged as it came, as a stream copy would; the set-up is.
        guard objectType == 2, rateIndex < rates.count, rates[rateIndex] == config.sampleRate, channels == config.channelConfig,
              blocks == 0, bytes.count > header else { return nil }
        return bytes[header...]
    }
}

/// An input audio packet offered for copying: decided at the encode stage, once the decoded
/// samples of its neighbours have arrived (`AudioCopyFormat`).
struct AudioCandidate: @unchecked Sendable {
    let packet: Packet
    /// Media time of its first sample (on the first connection's clock).
    let mediaTime: Double
    var trace: FrameTrace
}

/// The audio lane's decoded (and labeled) samples by media time, kept only as long as the
/// packets still to be decided may need them (a re-encoded stretch reads its lead-in from here).
/// Planar float at the encoder's rate. Runs on the encode stage's queue.
struct AudioSampleStore {
    let channels: Int
    let rate: Double
    private(set) var start: Double?
    private var planes: [[Float]]
    /// Media time where the current run of contiguous samples began (packet frames tile from
    /// there; `snap`).
    private var anchor: Double?
    /// Media-time spans whose samples carried a label layer (pruned with the samples).
    private var labeled: [(Double, Double)] = []

    init(channels: Int, rate: Int) {
        self.channels = channels
        self.rate = Double(rate)
        planes = Array(repeating: [], count: channels)
    }

    var count: Int { planes.first?.count ?? 0 }
    /// Media time just past the last sample.
    var end: Double? { start.map { $0 + Double(count) / rate } }

    /// A frame's samples at its media time: after a gap the missing samples are silence; an
    /// overlap overwrites (the newer timing wins, as the encode stage's clock does).
    mutating func append(_ frame: Frame, at t: Double, labeled isLabeled: Bool) {
        let n = frame.sampleCount
        guard n > 0, frame.channelCount == channels, frame.sampleFormat == AV_SAMPLE_FMT_FLTP else { return }
        if start == nil { start = t; anchor = t }
        var at = Int(((t - start!) * rate).rounded())
        if abs(Double(at - count) / rate) > AudioClock.tolerance { anchor = t } else { at = count }
        if at < 0 {
            // Before what is kept (a timestamp gone far back): the store starts again here.
            planes = Array(repeating: [], count: channels)
            start = t; anchor = t; at = 0
        }
        for c in 0..<channels {
            let src = UnsafeBufferPointer(start: UnsafeRawPointer(frame.audioChannel(c)!).assumingMemoryBound(to: Float.self), count: n)
            if at > planes[c].count { planes[c].append(contentsOf: repeatElement(0, count: at - planes[c].count)) }
            let overlap = min(n, planes[c].count - at)
            if overlap > 0 { planes[c].replaceSubrange(at..<(at + overlap), with: src[0..<overlap]) }
            planes[c].append(contentsOf: src[overlap...])
        }
        if isLabeled { labeled.append((t, t + Double(n) / rate)) }
    }

    /// A packet's media time onto the sample grid of the run it falls in: packets tile from the
    /// run's first sample in whole frames; a container's rounded timestamps (FLV: 1 ms) are
    /// snapped to that grid when within 2 ms of it.
    func snap(_ t: Double, frameSize: Int) -> Double {
        guard let a = anchor, t >= a - 1 else { return t }
        let d = Double(frameSize) / rate
        let grid = a + ((t - a) / d).rounded() * d
        return abs(grid - t) < 0.002 ? grid : t
    }

    /// `n` samples from media time `t`, as an FLTP frame (silence where nothing is kept).
    func read(from t: Double, count n: Int, sampleRate: Int) throws -> Frame {
        let frame = try Frame.audio(samples: n, format: AV_SAMPLE_FMT_FLTP, channels: channels, sampleRate: sampleRate)
        let offset = start.map { Int(((t - $0) * rate).rounded()) } ?? Int.min / 2
        for c in 0..<channels {
            let dst = UnsafeMutableRawPointer(frame.audioChannel(c)!).assumingMemoryBound(to: Float.self)
            dst.initialize(repeating: 0, count: n)
            // The part of [offset, offset + n) the store holds, copied as one block; silence around it.
            let lo = max(offset, 0), hi = min(offset + n, planes[c].count)
            guard lo < hi else { continue }
            planes[c].withUnsafeBufferPointer { src in
                (dst + (lo - offset)).update(from: src.baseAddress! + lo, count: hi - lo)
            }
        }
        return frame
    }

    /// Whether any sample in [a, b) carried a label layer.
    func wasLabeled(from a: Double, to b: Double) -> Bool {
        labeled.contains { $0.0 < b && $0.1 > a }
    }

    /// Drops what lies before media time `t`.
    mutating func prune(before t: Double) {
        guard let s = start else { return }
        let drop = min(count, max(0, Int(((t - s) * rate).rounded(.down))))
        guard drop > 4096 else { return }   // in blocks: removeFirst moves the rest
        for c in 0..<channels { planes[c].removeFirst(drop) }
        start = s + Double(drop) / rate
        labeled.removeAll { $0.1 < start! }
    }
}
