import CFFmpeg
import Foundation

extension Muxer {
    /// Whether this output carries SCTE-35: an MPEG-TS output (`SCTE35TSFilter` turns FFmpeg
    /// 5.1's private-data PES back into SCTE 35 sections on a 0x86 PID), or an HLS output whose
    /// TS segments pass through `scte35SegmentFilter()` on their way to the disk.
    public var carriesSCTE35: Bool { formatName == "mpegts" || segmentsCarrySCTE35 }

    /// What the SCTE-35 filter did (nil when the output has no SCTE-35 stream), also after `finish()`.
    public var scte35Statistics: SCTE35TSFilter.Statistics? { filteredIO?.filter.statistics ?? detachedSCTE35Statistics }

    /// For an HLS output with TS segments caught by `SegmentedOutput`: gives each SCTE-35 stream
    /// its PID (the HLS writer's nested MPEG-TS writer keeps stream ids) and returns the filter
    /// each segment goes through, in order (nil when there is no SCTE-35 stream). Before the header.
    public func scte35SegmentFilter() -> SCTE35TSFilter? {
        guard formatName == "hls" else { return nil }
        let streams = (0..<Int(context.pointee.nb_streams)).map { context.pointee.streams[$0]! }
        let scte = streams.indices.filter { streams[$0].pointee.codecpar.pointee.codec_id == AV_CODEC_ID_SCTE_35 }
        guard !scte.isEmpty else { return nil }
        let pids = Self.scte35PIDs(ids: streams.map { Int($0.pointee.id) }, scte35: Set(scte), startPID: 0x100,
                                   pmtStartPID: 0x1000, programs: 1, m2ts: false)
        for (index, pid) in pids { streams[index].pointee.id = Int32(pid) }
        return SCTE35TSFilter(pids: Set(pids.values))
    }

    /// For an MPEG-TS output with SCTE-35 streams: gives each its PID and puts the filter in
    /// front of the opened I/O (before the header, so the first PMT is rewritten too).
    func installSCTE35Filter(options: [String: String]) throws {
        guard carriesSCTE35, let pb = context.pointee.pb else { return }
        let streams = (0..<Int(context.pointee.nb_streams)).map { context.pointee.streams[$0]! }
        let scte = streams.indices.filter { streams[$0].pointee.codecpar.pointee.codec_id == AV_CODEC_ID_SCTE_35 }
        guard !scte.isEmpty else { return }
        let m2ts = ["1", "true", "on"].contains(options["mpegts_m2ts_mode"]?.lowercased() ?? "")
        let pids = Self.scte35PIDs(ids: streams.map { Int($0.pointee.id) }, scte35: Set(scte),
                                   startPID: Self.integerOption(options["mpegts_start_pid"]) ?? 0x100,
                                   pmtStartPID: Self.integerOption(options["mpegts_pmt_start_pid"]) ?? 0x1000,
                                   programs: max(1, Int(context.pointee.nb_programs)), m2ts: m2ts)
        for (index, pid) in pids { streams[index].pointee.id = Int32(pid) }
        let io = try FilteredOutputIO(inner: pb, filter: SCTE35TSFilter(pids: Set(pids.values), m2ts: m2ts))
        context.pointee.pb = io.outer
        filteredIO = io
    }

    /// An integer muxer option as FFmpeg reads it (decimal or 0x hexadecimal).
    static func integerOption(_ value: String?) -> Int? {
        guard let v = value?.trimmingCharacters(in: .whitespaces).lowercased() else { return nil }
        return v.hasPrefix("0x") ? Int(v.dropFirst(2), radix: 16) : Int(v)
    }

    /// The PID of each SCTE-35 stream (output stream index → PID): its input PID (`ids`, what
    /// the MPEG-TS demuxer read) where that is free, otherwise the first free PID after the
    /// muxer's own. FFmpeg 5.1's writer gives a stream whose id is below 16 the PID `startPID +
    /// index` (M2TS mode: its own numbering, from 0x1011 up), takes a larger id as the PID, and
    /// gives program n the PMT PID `pmtStartPID + n`; two streams on one PID fail the header.
    static func scte35PIDs(ids: [Int], scte35: Set<Int>, startPID: Int, pmtStartPID: Int, programs: Int, m2ts: Bool) -> [Int: Int] {
        var taken = Set(pmtStartPID..<(pmtStartPID + programs))
        for (i, id) in ids.enumerated() where !scte35.contains(i) {
            if id >= 16 { taken.insert(id) } else if !m2ts { taken.insert(startPID + i) }
        }
        if m2ts { taken.formUnion(0x1011..<(0x1011 + 0x200)) }  // video 0x1011…, audio 0x1100…, subtitles 0x1200…
        var out: [Int: Int] = [:]
        var next = m2ts ? 0x1400 : startPID + ids.count
        for i in scte35.sorted() {
            // 0x00–0x1F are the tables' PIDs (PAT, CAT, DVB SI); 0x1FFF is the null packet's.
            var pid = ids[i]
            if !(0x20..<0x1FFF).contains(pid) || taken.contains(pid) {
                while taken.contains(next) { next += 1 }
                pid = next
            }
            taken.insert(pid)
            out[i] = pid
        }
        return out
    }
}
