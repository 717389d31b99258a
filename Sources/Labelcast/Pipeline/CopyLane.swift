import Foundation
import MediaIO

/// A lane that carries an input stream's packets to the output unchanged (subtitles, captions,
/// SCTE-35 and other data, cover art): only their timestamps move, onto the output's clock
/// (media time 0 at the run's origin, and after a reconnect onto the first connection's clock)
/// exactly as the processed lanes' frames do, so a cue stays on the picture it belongs to.
/// Runs on the demux queue; the packets go straight to the mux stage, which interleaves them.
final class CopyLane: @unchecked Sendable {
    let lane: Lane
    let outputIndex: Int
    let codecName: String
    private let mux: MuxStage
    /// Text subtitles converted to the output's text codec on the way (nil: copied as they are).
    private let converter: SubtitleTranscoder?
    private let context: PipelineContext
    /// Time base of the current connection's stream.
    private var timeBase: Rational
    /// Seconds added to the current connection's timestamps (reconnect shift minus origin).
    private var offset: Double

    init(lane: Lane, outputIndex: Int, codecName: String, timeBase: Rational, mux: MuxStage, context: PipelineContext,
         converter: SubtitleTranscoder? = nil) {
        self.converter = converter
        self.lane = lane
        self.outputIndex = outputIndex
        self.codecName = codecName
        self.timeBase = timeBase
        self.mux = mux
        self.context = context
        self.offset = -context.originSeconds
    }

    /// A new connection of a live input: its stream's time base and clock shift.
    func newSource(timeBase: Rational, shift: Double) {
        self.timeBase = timeBase
        offset = shift - context.originSeconds
    }

    /// Whether the lane carries SCTE-35 splice information.
    var carriesSpliceInfo: Bool { codecName == "scte_35" }

    /// SCTE-35: appends the section's place on the input clock — its timestamp as demuxed,
    /// before any re-basing — for the MPEG-TS writer's filter to move its pts_adjustment onto
    /// the output clock (`SCTE35TSFilter`). A section the demuxer could not time (it came
    /// before the input's first PCR) is timed at `newestMediaTime` (media time 0 before any
    /// picture or sound was read), on this connection's clock: the filter then measures the
    /// same shift the pictures get. Called on the demux queue before `submit`.
    func noteInputClock(_ packet: Packet, newestMediaTime: Double?) {
        guard carriesSpliceInfo else { return }
        if packet.pts == MediaTime.noPTS {
            let t = MediaTime.timestamp(seconds: (newestMediaTime ?? 0) - offset, timeBase)
            packet.pts = t
            packet.dts = t
        }
        SCTE35TSFilter.noteInputPTS(on: packet, timeBase: timeBase)
    }

    func submit(_ input: Packet) {
        context.accounting.update(lane) { $0.packetsIn += 1 }
        var packet = input
        if let converter {
            do {
                guard let converted = try converter.convert(input) else { return }
                packet = converted
            } catch {
                context.accounting.update(lane) { $0.packetsDropped["convert-failed", default: 0] += 1 }
                context.logger.warning("\(lane.rawValue): a subtitle event could not be converted to \(converter.outputCodecName) (\(error)): left out")
                return
            }
        }
        send(packet)
    }

    /// The packet on the output's clock, to the mux stage.
    private func send(_ packet: Packet) {
        let ticks = MediaTime.timestamp(seconds: offset, timeBase)
        if packet.pts != MediaTime.noPTS { packet.pts += ticks }
        if packet.dts != MediaTime.noPTS { packet.dts += ticks }
        mux.stage.submit(.packet(EncodedPacket(packet: packet, streamIndex: outputIndex, timeBase: timeBase, lane: lane, trace: nil)))
    }

    func end() {
        // A converter's decoder may still hold the last event (a CEA-608 caption on screen).
        do {
            if let last = try converter?.flush() { send(last) }
        } catch {
            context.logger.warning("\(lane.rawValue): the last subtitle event could not be converted (\(error)): left out")
        }
        mux.stage.submit(.end(lane))
    }
}
