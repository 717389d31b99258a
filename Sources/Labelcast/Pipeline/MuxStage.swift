import Foundation
import MediaIO

/// An encoded packet for the muxer: which output stream, in which time base, and the trace
/// of the frame it carries.
struct EncodedPacket: @unchecked Sendable {
    let packet: Packet
    let streamIndex: Int
    let timeBase: Rational
    let lane: Lane
    var trace: FrameTrace?
}

enum MuxItem: Sendable {
    case packet(EncodedPacket)
    case end(Lane)
}

/// The last stage: interleaves both lanes' packets by DTS into the output and, when every lane
/// has ended, hands over to the runner to write the trailer. Runs on its own serial queue.
final class MuxStage: @unchecked Sendable {
    let stage: Stage<MuxItem>
    let muxer: Muxer
    let context: PipelineContext
    private var openLanes: Set<Lane>
    private let allEnded: @Sendable () -> Void
    /// Latest end time written, per lane (seconds of output time). Mux queue only.
    private(set) var writtenSeconds: [Lane: Double] = [:]
    /// Called on the mux queue with each written frame's complete trace.
    var onWritten: (@Sendable (FrameTrace) -> Void)?

    init(muxer: Muxer, lanes: Set<Lane>, context: PipelineContext, allEnded: @escaping @Sendable () -> Void) {
        self.muxer = muxer
        self.openLanes = lanes
        self.context = context
        self.allEnded = allEnded
        stage = Stage(name: "mux", capacity: 64)
        stage.handler = { [unowned self] item in self.handle(item) }
    }

    private func handle(_ item: MuxItem) {
        switch item {
        case .packet(let p):
            guard !context.failed else { return }
            let end = Double(p.packet.pts + max(p.packet.duration, 0)) * p.timeBase.double
            do {
                try muxer.write(p.packet, stream: p.streamIndex, timeBase: p.timeBase)
                context.accounting.update(p.lane) { $0.packetsOut += 1 }
                writtenSeconds[p.lane] = max(writtenSeconds[p.lane] ?? 0, end)
                if var t = p.trace {
                    t.stamp(.written)
                    onWritten?(t)
                }
            } catch {
                context.fail(error, stage: "mux")
            }
        case .end(let lane):
            openLanes.remove(lane)
            if openLanes.isEmpty { allEnded() }
        }
    }
}
