import CFFmpeg
import MediaIO

/// Counts what the input lost before labelcast saw it, from the packets the demuxer hands out.
///
/// Why: frames lost on the way in (a lossy UDP/SRT link, a server that skipped a slow reader
/// ahead) never reach a lane, so they appear in no drop count: an auditor comparing the
/// output with the source saw frames missing with nothing to say where they went. A gap in
/// a stream's decode timestamps, measured against its frame rate (audio: its packet
/// duration), says how many frames are missing; a packet the demuxer flagged as damaged
/// (MPEG-TS continuity errors) says the link lost data inside it.
///
/// Per connection: a reconnect or a timestamp jump starts a new one (`reset()`), so the gap
/// they leave is not counted as loss. Demux queue only.
struct UpstreamLoss {
    /// Gaps longer than this are a pause or a restart of the source, not loss (seconds).
    static let longestGap = 5.0

    private struct StreamState {
        /// Where the next packet should start (seconds), from the last one's end.
        var expected: Double
    }
    private var streams: [Int: StreamState] = [:]

    /// What one packet says.
    struct Finding: Equatable {
        var lost = 0
        var corrupt = 0
        var isEmpty: Bool { lost == 0 && corrupt == 0 }
    }

    /// Looks at the next packet of stream `index`. `frameSeconds` is the stream's nominal
    /// frame duration (video: 1 / frame rate), used where a packet carries no duration.
    mutating func observe(index: Int, time: Double?, durationSeconds: Double, frameSeconds: Double?,
                          corrupt: Bool) -> Finding {
        var finding = Finding(corrupt: corrupt ? 1 : 0)
        guard let time else { return finding }
        let step = durationSeconds > 0 ? durationSeconds : (frameSeconds ?? 0)
        if let state = streams[index], step > 0 {
            let gap = time - state.expected
            // Half a frame of slack: millisecond timestamps (RTMP) round 33.3 ms to 33 or 34.
            if gap >= step * 0.5 && gap <= Self.longestGap {
                finding.lost = Int((gap / step).rounded())
            }
        }
        let end = time + step
        streams[index] = StreamState(expected: max(end, streams[index]?.expected ?? end))
        return finding
    }

    mutating func reset() { streams = [:] }
}

extension PipelineRunner {
    /// Feeds one routed packet to `loss` and books what it finds on the lane.
    func countUpstreamLoss(_ loss: inout UpstreamLoss, packet: Packet, demuxer: Demuxer, lane: Lane, context: PipelineContext) {
        let info = demuxer.streams[packet.streamIndex]
        let tb = info.timeBase
        let stamp = packet.dts != MediaTime.noPTS ? packet.dts : packet.pts
        var frame: Double? = nil
        if info.kind == .video, info.frameRate.isValid, info.frameRate.double > 0, info.frameRate.double <= 240 {
            frame = 1 / info.frameRate.double
        } else if info.kind == .audio, let st = demuxer.context.pointee.streams[packet.streamIndex],
                  st.pointee.codecpar.pointee.frame_size > 0, info.sampleRate > 0 {
            frame = Double(st.pointee.codecpar.pointee.frame_size) / Double(info.sampleRate)
        }
        let finding = loss.observe(index: packet.streamIndex, time: MediaTime.seconds(stamp, tb),
                                   durationSeconds: Double(max(0, packet.duration)) * tb.double,
                                   frameSeconds: frame, corrupt: packet.isCorrupt)
        guard !finding.isEmpty else { return }
        context.accounting.update(lane) {
            $0.lostUpstream += finding.lost
            $0.corruptUpstream += finding.corrupt
        }
    }
}
