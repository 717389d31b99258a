/// Carries SCTE-35 through FFmpeg 5.1's MPEG-TS writer as SCTE 35 defines it.
///
/// FFmpeg 5.1's `mpegts` muxer takes an SCTE-35 data stream but writes it as any unknown data:
/// stream type 0x06 (private data) in the PMT, the sections packed into PES packets. Receivers
/// (and FFmpeg's own demuxer) look for stream type 0x86 with the registration descriptor
/// 'CUEI' in the program loop (SCTE 35 §8.1) and read sections, not PES, so the cues would be
/// lost. This filter sits in the muxer's write path (`Muxer` installs it between the muxer and
/// its AVIOContext) and rewrites, packet by packet:
/// - every PMT that lists one of `pids`: that entry's stream type becomes 0x86, its ES loop
///   gains a cue_identifier_descriptor (0x8A, all commands, §8.2), the program loop the
///   registration descriptor 'CUEI'; section_length and CRC_32 recomputed, program number and
///   everything else kept;
/// - every PES packet on `pids` back into the splice_info_section it carries: pointer_field 0,
///   the section split over TS packets, the last one stuffed with 0xFF, the PID's continuity
///   counter counted anew; TS packets a section needs fewer of than its PES did become null
///   packets (PID 0x1FFF), so the stream's byte positions — and a constant-rate mux's PCRs —
///   stay where the muxer put them; a PCR the muxer put on that PID is kept in a packet of its own;
/// - the section's `pts_adjustment`: the PES's PTS is the section's place on the output clock;
///   `CopyLane` appended its place on the input clock (`noteInputPTS`), so the difference is
///   what the output's clock is ahead of the input's, and is added to `pts_adjustment` (CRC_32
///   recomputed): `splice_time() + pts_adjustment` then names the same picture in the output as
///   in the input. A section whose CRC_32 was already wrong is carried unchanged.
///
/// Used from the thread that drives the muxer (the mux queue), through `filter(_:)` and `finish()`.
public final class SCTE35TSFilter {
    public struct Statistics: Sendable, Equatable {
        /// Sections written as sections.
        public var sections = 0
        /// Of those, sections whose pts_adjustment took the output's clock shift.
        public var retimed = 0
        /// Sections carried without a clock shift (no timestamp known yet, or a bad CRC_32 on input).
        public var unadjusted = 0
        /// PMT sections rewritten.
        public var pmts = 0
    }

    /// The bytes `noteInputPTS` appends after a section: "LCPT" and a 40-bit field holding the
    /// 33-bit PTS (all ones: unknown).
    public static let inputClockMark: [UInt8] = Array("LCPT".utf8)
    static let markLength = 9

    public static let tsPacketSize = 188
    /// PIDs rewritten.
    public let pids: Set<Int>
    /// Bytes before each 188-byte packet: 4 in Blu-ray M2TS mode (its arrival timestamp), else 0.
    let prefix: Int
    public private(set) var statistics = Statistics()

    /// PMT PIDs, from the PAT.
    private var pmtPIDs: Set<Int> = []
    /// A partial packet left from the previous call.
    private var partial: [UInt8] = []
    /// Output for each packet since the first one of a section still being collected; emitted
    /// in order once nothing is being collected.
    private var held: [[UInt8]] = []
    private var collecting: [Int: Collection] = [:]
    /// Continuity counter last written, per rewritten PID.
    private var continuity: [Int: UInt8] = [:]
    /// The clock shift of the latest retimed section, for a section that carries no timestamp.
    private var lastShift: Int64?

    /// One PES (on an SCTE-35 PID) or PMT section being read from several TS packets.
    private struct Collection {
        enum Kind { case pes, pmt }
        let kind: Kind
        /// Index in `held` of each TS packet it came in, and the packets as the muxer wrote them.
        var slots: [Int] = []
        var originals: [[UInt8]] = []
        /// PCRs the muxer put on these packets (the PID may be the program's PCR PID).
        var pcrs: [[UInt8]] = []
        var bytes: [UInt8] = []
    }

    /// `pids`: the SCTE-35 streams' PIDs. `m2ts`: the muxer writes 192-byte packets.
    public init(pids: Set<Int>, m2ts: Bool = false) {
        self.pids = pids
        prefix = m2ts ? 4 : 0
    }

    /// Appends the section's place on the input clock (`pts90k`, 90 kHz; nil when the input
    /// gave none) after the section in `payload`, for `filter` to read back.
    public static func noteInputPTS(_ pts90k: Int64?, on payload: [UInt8]) -> [UInt8] {
        var out = payload
        out += inputClockMark
        if let pts90k {
            let v = ((pts90k % SpliceInfoSection.ptsModulus) + SpliceInfoSection.ptsModulus) % SpliceInfoSection.ptsModulus
            out += [UInt8(v >> 32), UInt8((v >> 24) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        } else {
            out += [0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        }
        return out
    }

    /// `noteInputPTS` on a demuxed SCTE-35 packet: its pts (in `timeBase`) is the section's
    /// place on the input clock.
    public static func noteInputPTS(on packet: Packet, timeBase: Rational) {
        let pts = packet.pts == MediaTime.noPTS ? nil : MediaTime.rescale(packet.pts, from: timeBase, to: Rational(1, 90_000))
        packet.replacePayload(noteInputPTS(pts, on: packet.data))
    }

    /// Takes what the muxer wrote; returns what goes to the output (packets held while a
    /// section they belong among is still being collected come out later).
    public func filter(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let size = prefix + Self.tsPacketSize
        var out: [UInt8] = []
        var data = bytes[...]
        if !partial.isEmpty {
            let need = size - partial.count
            partial += data.prefix(need)
            data = data.dropFirst(need)
            guard partial.count == size else { return [] }
            take(partial, into: &out)
            partial = []
        }
        while data.count >= size {
            take(Array(data.prefix(size)), into: &out)
            data = data.dropFirst(size)
        }
        partial = Array(data)
        return out
    }

    /// The end of the output: sections still being collected are written as the muxer wrote
    /// them, with what is held.
    public func finish() -> [UInt8] {
        for (pid, c) in collecting { restore(c, pid: pid) }
        collecting = [:]
        let out = held.joined() + partial
        held = []
        partial = []
        return Array(out)
    }

    // MARK: packets

    private func take(_ packet: [UInt8], into out: inout [UInt8]) {
        let p = prefix
        guard packet[p] == 0x47 else { return emit(packet, into: &out) }  // not in sync: untouched
        let pid = Int(packet[p + 1] & 0x1F) << 8 | Int(packet[p + 2])
        let unitStart = packet[p + 1] & 0x40 != 0
        let afc = (packet[p + 3] >> 4) & 3
        var payloadStart = p + 4
        if afc == 2 || afc == 3 { payloadStart += 1 + Int(packet[p + 4]) }
        let payload: ArraySlice<UInt8> = (afc & 1) != 0 && payloadStart < packet.count ? packet[payloadStart...] : []

        if pid == 0, unitStart { readPAT(payload) }
        if pids.contains(pid) {
            // A packet without payload (a PCR the muxer put here) continues the PID's count unchanged.
            if afc == 2 { return emit(renumbered(packet, pid: pid, advance: false), into: &out) }
            if unitStart { startCollection(.pes, pid: pid, into: &out) }
            guard collecting[pid] != nil else { return emit(renumbered(packet, pid: pid, advance: true), into: &out) }
            collect(packet, pid: pid, payload: payload, into: &out)
        } else if pmtPIDs.contains(pid) {
            if unitStart {
                startCollection(.pmt, pid: pid, into: &out)
                // The section after the pointer_field (FFmpeg's muxer writes 0).
                guard let pointer = payload.first, Int(pointer) + 1 <= payload.count else { return emit(packet, into: &out) }
                collect(packet, pid: pid, payload: payload.dropFirst(1 + Int(pointer)), into: &out)
            } else if collecting[pid] != nil {
                collect(packet, pid: pid, payload: payload, into: &out)
            } else {
                emit(renumbered(packet, pid: pid, advance: afc & 1 != 0), into: &out)
            }
        } else {
            emit(packet, into: &out)
        }
    }

    /// A packet's output: straight out, or in order behind a collection.
    private func emit(_ packet: [UInt8], into out: inout [UInt8]) {
        if collecting.isEmpty { out += packet } else { held.append(packet) }
    }

    private func startCollection(_ kind: Collection.Kind, pid: Int, into out: inout [UInt8]) {
        if let unfinished = collecting.removeValue(forKey: pid) {
            // A new unit began before the last ended: the last goes out as the muxer wrote it.
            restore(unfinished, pid: pid)
            release(into: &out)
        }
        collecting[pid] = Collection(kind: kind)
    }

    private func collect(_ packet: [UInt8], pid: Int, payload: ArraySlice<UInt8>, into out: inout [UInt8]) {
        guard var c = collecting[pid] else { return }
        c.slots.append(held.count)
        held.append([])
        c.originals.append(packet)
        if let pcr = Self.pcr(packet, prefix: prefix) { c.pcrs.append(pcr) }
        c.bytes += payload
        collecting[pid] = c
        switch c.kind {
        case .pes:
            guard let end = Self.pesEnd(c.bytes) else { return }
            if c.bytes.count >= end { finishPES(pid: pid, c, end: end, into: &out) }
        case .pmt:
            guard let n = SpliceInfoSection.length(ofSectionAt: c.bytes) else { return }
            if c.bytes.count >= n { finishPMT(pid: pid, c, section: Array(c.bytes.prefix(n)), into: &out) }
        }
    }

    /// Emits what is held once no collection is open.
    private func release(into out: inout [UInt8]) {
        guard collecting.isEmpty else { return }
        for h in held { out += h }
        held = []
    }

    /// Puts `section` (as TS packets on `pid`) where the collection's packets were: one packet
    /// per slot, null packets in the slots it does not need, the rest in the last slot.
    private func place(section: [UInt8], for c: Collection, pid: Int, into out: inout [UInt8]) {
        collecting[pid] = nil
        // A PCR the muxer carried on this PID: an adaptation-field-only packet of its own, first
        // (it keeps the PID's last count: packets without payload do not advance it).
        var outputs = c.pcrs.map { Self.pcrPacket($0, pid: pid, continuity: continuity[pid] ?? 0, prefix: prefix, like: c.originals[0]) }
        outputs += sectionPackets(section, pid: pid, like: c.originals[0])
        for (k, slot) in c.slots.enumerated() {
            if k == c.slots.count - 1, outputs.count > k {
                held[slot] = Array(outputs[k...].joined())
            } else if k < outputs.count {
                held[slot] = outputs[k]
            } else {
                held[slot] = Self.nullPacket(prefix: prefix, like: c.originals[k])
            }
        }
        release(into: &out)
    }

    /// A collection that is not rewritten goes out as the muxer wrote it (continuity counted on).
    private func restore(_ c: Collection, pid: Int) {
        for (slot, original) in zip(c.slots, c.originals) { held[slot] = renumbered(original, pid: pid, advance: true) }
    }

    // MARK: PES → section

    /// Where the PES packet at the start of `bytes` ends, once its header is there.
    static func pesEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 9 else { return nil }
        guard bytes[0] == 0, bytes[1] == 0, bytes[2] == 1 else { return 0 }  // not a PES: give up at once
        let length = Int(bytes[4]) << 8 | Int(bytes[5])
        if length > 0 { return 6 + length }
        // Unbounded PES: the section's own length, and the input clock mark after it.
        let start = 9 + Int(bytes[8])
        guard let n = SpliceInfoSection.length(ofSectionAt: bytes.dropFirst(start)) else { return nil }
        return start + n + markLength
    }

    private func finishPES(pid: Int, _ c: Collection, end: Int, into out: inout [UInt8]) {
        let pes = Array(c.bytes.prefix(end))
        guard end >= 9, pes[0] == 0, pes[1] == 0, pes[2] == 1 else { return keepOriginals(c, pid: pid, into: &out) }
        let start = 9 + Int(pes[8])
        let outputPTS: Int64? = (pes[7] & 0x80) != 0 && pes.count >= 14 ? Self.timestamp(pes, at: 9) : nil
        guard start < pes.count, var section = SpliceInfoSection(Array(pes[start...])) else { return keepOriginals(c, pid: pid, into: &out) }
        let rest = pes[(start + section.bytes.count)...]
        var inputPTS: Int64? = nil
        if rest.count >= Self.markLength, Array(rest.prefix(4)) == Self.inputClockMark {
            let f = Array(rest.dropFirst(4).prefix(5))
            if f != [0xFF, 0xFF, 0xFF, 0xFF, 0xFF] {
                inputPTS = Int64(f[0] & 1) << 32 | Int64(f[1]) << 24 | Int64(f[2]) << 16 | Int64(f[3]) << 8 | Int64(f[4])
            }
        }
        var shift: Int64? = nil
        if let outputPTS, let inputPTS {
            let m = SpliceInfoSection.ptsModulus
            shift = ((outputPTS - inputPTS) % m + m) % m
            lastShift = shift
        } else {
            shift = lastShift
        }
        if section.crcIsValid, let shift {
            section.shift(by: shift)
            statistics.retimed += 1
        } else {
            statistics.unadjusted += 1
        }
        statistics.sections += 1
        place(section: section.bytes, for: c, pid: pid, into: &out)
    }

    private func keepOriginals(_ c: Collection, pid: Int, into out: inout [UInt8]) {
        collecting[pid] = nil
        restore(c, pid: pid)
        release(into: &out)
    }

    /// A section as TS packets: pointer_field 0, the section, 0xFF stuffing to the end of the last.
    private func sectionPackets(_ section: [UInt8], pid: Int, like first: [UInt8]) -> [[UInt8]] {
        var packets: [[UInt8]] = []
        var data = [0] + section
        var unitStart = true
        while !data.isEmpty {
            let chunk = data.prefix(184)
            data.removeFirst(chunk.count)
            var packet = Array(first.prefix(prefix))
            packet += [0x47, (unitStart ? 0x40 : 0) | UInt8(pid >> 8), UInt8(pid & 0xFF), 0x10 | nextContinuity(pid)]
            packet += chunk
            packet += [UInt8](repeating: 0xFF, count: 184 - chunk.count)
            packets.append(packet)
            unitStart = false
        }
        return packets
    }

    // MARK: PAT, PMT

    private func readPAT(_ payload: ArraySlice<UInt8>) {
        guard let pointer = payload.first else { return }
        let s = Array(payload.dropFirst(1 + Int(pointer)))
        guard s.count >= 12, s[0] == 0x00, let n = SpliceInfoSection.length(ofSectionAt: s), n <= s.count, n >= 12 else { return }
        var found: Set<Int> = []
        var i = 8
        while i + 4 <= n - 4 {
            let program = Int(s[i]) << 8 | Int(s[i + 1])
            let pid = Int(s[i + 2] & 0x1F) << 8 | Int(s[i + 3])
            if program != 0 { found.insert(pid) }  // program 0 names the NIT
            i += 4
        }
        pmtPIDs = found
    }

    private func finishPMT(pid: Int, _ c: Collection, section: [UInt8], into out: inout [UInt8]) {
        guard let rewritten = Self.rewritePMT(section, scte35PIDs: pids) else {
            return keepOriginals(c, pid: pid, into: &out)
        }
        statistics.pmts += 1
        place(section: rewritten, for: c, pid: pid, into: &out)
    }

    /// The PMT section with every entry on `scte35PIDs` declared as SCTE-35 (stream type 0x86,
    /// cue_identifier_descriptor), the registration descriptor 'CUEI' in the program loop, new
    /// length and CRC_32; nil when it lists none of them, is not a PMT, or its CRC_32 is wrong.
    public static func rewritePMT(_ section: [UInt8], scte35PIDs: Set<Int>) -> [UInt8]? {
        guard section.count >= 16, section[0] == 0x02, MPEGCRC32.checksum(section) == 0,
              let n = SpliceInfoSection.length(ofSectionAt: section), n == section.count else { return nil }
        let programInfoLength = Int(section[10] & 0x0F) << 8 | Int(section[11])
        guard 12 + programInfoLength <= n - 4 else { return nil }
        var programInfo = Array(section[12..<(12 + programInfoLength)])
        var entries: [UInt8] = []
        var any = false
        var i = 12 + programInfoLength
        while i + 5 <= n - 4 {
            var type = section[i]
            let pid = Int(section[i + 1] & 0x1F) << 8 | Int(section[i + 2])
            let infoLength = Int(section[i + 3] & 0x0F) << 8 | Int(section[i + 4])
            guard i + 5 + infoLength <= n - 4 else { return nil }
            var info = Array(section[(i + 5)..<(i + 5 + infoLength)])
            if scte35PIDs.contains(pid) {
                any = true
                type = 0x86
                if !descriptors(info).contains(where: { $0.tag == 0x8A }) { info += [0x8A, 1, 0x01] }  // cue_stream_type: all commands
            }
            entries += [type, section[i + 1], section[i + 2], 0xF0 | UInt8(info.count >> 8), UInt8(info.count & 0xFF)] + info
            i += 5 + infoLength
        }
        guard any else { return nil }
        // FFmpeg's demuxer reads the last registration descriptor of the program loop: CUEI goes last.
        if descriptors(programInfo).last(where: { $0.tag == 0x05 })?.body != Array("CUEI".utf8) {
            programInfo += [0x05, 4] + Array("CUEI".utf8)
        }
        var out = Array(section[0..<10])
        out += [0xF0 | UInt8(programInfo.count >> 8), UInt8(programInfo.count & 0xFF)] + programInfo + entries
        let length = out.count - 3 + 4
        guard length <= 1021 else { return nil }  // a PMT section holds at most 1021 bytes after its length field
        out[1] = (section[1] & 0xF0) | UInt8(length >> 8)
        out[2] = UInt8(length & 0xFF)
        let crc = MPEGCRC32.checksum(out)
        out += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        return out
    }

    static func descriptors(_ bytes: [UInt8]) -> [(tag: UInt8, body: [UInt8])] {
        var out: [(UInt8, [UInt8])] = []
        var i = 0
        while i + 2 <= bytes.count, i + 2 + Int(bytes[i + 1]) <= bytes.count {
            out.append((bytes[i], Array(bytes[(i + 2)..<(i + 2 + Int(bytes[i + 1]))])))
            i += 2 + Int(bytes[i + 1])
        }
        return out
    }

    // MARK: TS details

    private func nextContinuity(_ pid: Int) -> UInt8 {
        let next = ((continuity[pid].map { $0 + 1 }) ?? 0) & 0x0F
        continuity[pid] = next
        return next
    }

    /// `packet` with this filter's continuity count for `pid` (advanced when it carries payload).
    private func renumbered(_ packet: [UInt8], pid: Int, advance: Bool) -> [UInt8] {
        var p = packet
        let cc = advance ? nextContinuity(pid) : (continuity[pid] ?? 0)
        p[prefix + 3] = (p[prefix + 3] & 0xF0) | cc
        return p
    }

    /// The 6 PCR bytes of a packet's adaptation field, if it has them.
    static func pcr(_ packet: [UInt8], prefix: Int) -> [UInt8]? {
        let afc = (packet[prefix + 3] >> 4) & 3
        guard afc >= 2, packet[prefix + 4] >= 7, packet[prefix + 5] & 0x10 != 0 else { return nil }
        return Array(packet[(prefix + 6)..<(prefix + 12)])
    }

    static func pcrPacket(_ pcr: [UInt8], pid: Int, continuity: UInt8, prefix: Int, like: [UInt8]) -> [UInt8] {
        var p = Array(like.prefix(prefix))
        p += [0x47, UInt8(pid >> 8), UInt8(pid & 0xFF), 0x20 | continuity, 183, 0x10] + pcr
        p += [UInt8](repeating: 0xFF, count: prefix + tsPacketSize - p.count)
        return p
    }

    static func nullPacket(prefix: Int, like: [UInt8]) -> [UInt8] {
        Array(like.prefix(prefix)) + [0x47, 0x1F, 0xFF, 0x10] + [UInt8](repeating: 0xFF, count: 184)
    }

    /// A PES PTS/DTS field (33 bits in 5 bytes with marker bits).
    static func timestamp(_ b: [UInt8], at o: Int) -> Int64 {
        Int64((b[o] >> 1) & 7) << 30 | Int64(b[o + 1]) << 22 | Int64(b[o + 2] >> 1) << 15 | Int64(b[o + 3]) << 7 | Int64(b[o + 4] >> 1)
    }
}
