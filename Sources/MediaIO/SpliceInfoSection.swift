/// An SCTE-35 `splice_info_section` (ANSI/SCTE 35 §9.6), just enough to carry it through a
/// re-timing step: its length, its CRC_32, and `pts_adjustment` — the 33-bit offset a receiver
/// adds to every `splice_time()` in the section. A labelcast output's clock is shifted against
/// the input's (media time 0 at the run's origin, plus the MPEG-TS mux delay), so the section's
/// `pts_adjustment` gains that shift; the `splice_time()`s themselves, which the section's
/// author wrote, are left as they are (§9.6: "pts_adjustment ... can be used by a splicer to
/// account for any offset"). Pure value type on bytes; no FFmpeg.
public struct SpliceInfoSection: Sendable, Equatable {
    /// `table_id` of every splice_info_section.
    public static let tableID: UInt8 = 0xFC
    /// 90 kHz timestamps are 33 bits wide (ISO/IEC 13818-1); arithmetic on them is modulo 2^33.
    public static let ptsModulus: Int64 = 1 << 33

    /// The section, `table_id` through `CRC_32`.
    public private(set) var bytes: [UInt8]

    /// Reads the section at the start of `data` (what FFmpeg's MPEG-TS demuxer gives as one
    /// SCTE-35 packet); nil when it is not one (wrong table_id, too short for its
    /// `section_length`). Bytes after the section are not part of it.
    public init?(_ data: [UInt8]) {
        guard data.count >= 3 + 14, data[0] == Self.tableID else { return nil }
        let length = 3 + (Int(data[1] & 0x0F) << 8 | Int(data[2]))
        // pts_adjustment, cw_index, tier, splice_command_length and type, CRC_32: 14 bytes.
        guard length >= 3 + 14, length <= data.count else { return nil }
        bytes = Array(data[0..<length])
    }

    /// The length of the section at the start of `data` from its header, or nil when fewer
    /// than 3 bytes are there.
    public static func length(ofSectionAt data: some Collection<UInt8>) -> Int? {
        guard data.count >= 3 else { return nil }
        let i = data.startIndex
        return 3 + (Int(data[data.index(i, offsetBy: 1)] & 0x0F) << 8 | Int(data[data.index(i, offsetBy: 2)]))
    }

    /// `encrypted_packet`: the command and descriptors are encrypted; `pts_adjustment` and
    /// CRC_32 are not (§9.6), so the section can still be re-timed.
    public var isEncrypted: Bool { bytes[4] & 0x80 != 0 }

    /// `splice_command_type` (0x05 splice_insert, 0x06 time_signal, 0x00 splice_null, …).
    public var commandType: UInt8 { bytes[13] }

    /// Whether CRC_32 matches the section (the CRC over the whole section, CRC included, is 0).
    public var crcIsValid: Bool { MPEGCRC32.checksum(bytes) == 0 }

    /// The 33-bit `pts_adjustment`. Setting it recomputes CRC_32.
    public var ptsAdjustment: Int64 {
        get {
            Int64(bytes[4] & 1) << 32 | Int64(bytes[5]) << 24 | Int64(bytes[6]) << 16 | Int64(bytes[7]) << 8 | Int64(bytes[8])
        }
        set {
            let v = ((newValue % Self.ptsModulus) + Self.ptsModulus) % Self.ptsModulus
            bytes[4] = (bytes[4] & 0xFE) | UInt8(v >> 32)
            bytes[5] = UInt8((v >> 24) & 0xFF)
            bytes[6] = UInt8((v >> 16) & 0xFF)
            bytes[7] = UInt8((v >> 8) & 0xFF)
            bytes[8] = UInt8(v & 0xFF)
            updateCRC()
        }
    }

    /// Moves the section onto a clock `shift` 90 kHz ticks ahead of the one it was written
    /// for: `pts_adjustment += shift` (modulo 2^33), CRC_32 recomputed.
    public mutating func shift(by ticks: Int64) {
        ptsAdjustment = (ptsAdjustment + ticks % Self.ptsModulus + Self.ptsModulus) % Self.ptsModulus
    }

    /// The section as the hex string HLS's `SCTE35-OUT`/`-IN`/`-CMD` attributes take (`0xFC…`).
    public var hex: String { "0x" + bytes.map { String(format: "%02X", $0) }.joined() }

    /// What a `splice_insert()` (§9.7.3) or `time_signal()` (§9.7.4) says, read from the
    /// section: enough to place the cue in a playlist. Nil for other commands, an encrypted
    /// section, or one too short for its fields.
    public var command: SpliceCommand? {
        guard !isEncrypted, bytes.count >= 14 + 4 else { return nil }
        let end = bytes.count - 4  // before CRC_32
        var pos = 14
        // splice_time(): time_specified_flag, then 6 reserved bits and a 33-bit pts_time.
        func spliceTime() -> Int64?? {
            guard pos < end else { return .none }
            if bytes[pos] & 0x80 == 0 { pos += 1; return .some(nil) }
            guard pos + 5 <= end else { return .none }
            let t = Int64(bytes[pos] & 1) << 32 | Int64(bytes[pos + 1]) << 24 | Int64(bytes[pos + 2]) << 16 | Int64(bytes[pos + 3]) << 8 | Int64(bytes[pos + 4])
            pos += 5
            return .some((t + ptsAdjustment) % Self.ptsModulus)
        }
        switch commandType {
        case 0x06:
            guard case .some(let t) = spliceTime() else { return nil }
            return SpliceCommand(type: 0x06, spliceTicks: t)
        case 0x05:
            guard pos + 5 <= end else { return nil }
            let id = UInt32(bytes[14]) << 24 | UInt32(bytes[15]) << 16 | UInt32(bytes[16]) << 8 | UInt32(bytes[17])
            var c = SpliceCommand(type: 0x05, eventID: id)
            c.cancel = bytes[18] & 0x80 != 0
            pos = 19
            guard !c.cancel else { return c }
            guard pos < end else { return nil }
            let flags = bytes[pos]
            pos += 1
            c.outOfNetwork = flags & 0x80 != 0
            let program = flags & 0x40 != 0, duration = flags & 0x20 != 0
            c.immediate = flags & 0x10 != 0
            if program {
                if !c.immediate { guard case .some(let t) = spliceTime() else { return nil }; c.spliceTicks = t }
            } else {
                guard pos < end else { return nil }
                let components = Int(bytes[pos])
                pos += 1
                for i in 0..<components {
                    guard pos < end else { return nil }
                    pos += 1  // component_tag
                    if !c.immediate {
                        guard case .some(let t) = spliceTime() else { return nil }
                        if i == 0 { c.spliceTicks = t }
                    }
                }
            }
            if duration {
                guard pos + 5 <= end else { return nil }
                c.breakDuration = Int64(bytes[pos] & 1) << 32 | Int64(bytes[pos + 1]) << 24 | Int64(bytes[pos + 2]) << 16 | Int64(bytes[pos + 3]) << 8 | Int64(bytes[pos + 4])
            }
            return c
        default:
            return nil
        }
    }

    private mutating func updateCRC() {
        let n = bytes.count
        let crc = MPEGCRC32.checksum(bytes[0..<(n - 4)])
        bytes[n - 4] = UInt8(crc >> 24)
        bytes[n - 3] = UInt8((crc >> 16) & 0xFF)
        bytes[n - 2] = UInt8((crc >> 8) & 0xFF)
        bytes[n - 1] = UInt8(crc & 0xFF)
    }
}

/// A splice command's meaning for a playlist (`SpliceInfoSection.command`).
public struct SpliceCommand: Sendable, Equatable {
    /// 0x05 splice_insert, 0x06 time_signal.
    public var type: UInt8
    /// splice_insert's `splice_event_id`.
    public var eventID: UInt32?
    /// splice_insert's `splice_event_cancel_indicator`: the event is withdrawn.
    public var cancel = false
    /// splice_insert's `out_of_network_indicator`: out of the network feed (a break begins)
    /// when true, back into it when false.
    public var outOfNetwork: Bool?
    /// `splice_immediate_flag`: at the next opportunity (no splice time).
    public var immediate = false
    /// The splice point on the section's 90 kHz clock: `pts_time + pts_adjustment` (mod 2^33);
    /// nil when the command gives no time (immediate, or time_specified_flag 0).
    public var spliceTicks: Int64?
    /// `break_duration()`'s duration, 90 kHz ticks.
    public var breakDuration: Int64?

    public init(type: UInt8, eventID: UInt32? = nil, spliceTicks: Int64? = nil) {
        self.type = type
        self.eventID = eventID
        self.spliceTicks = spliceTicks
    }
}

/// The CRC_32 of MPEG-2 sections (ISO/IEC 13818-1 Annex A: polynomial 0x04C11DB7, initial
/// value 0xFFFFFFFF, not reflected, no final XOR), used by PAT, PMT and splice_info_sections.
public enum MPEGCRC32 {
    private static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i) << 24
        for _ in 0..<8 { c = (c & 0x8000_0000) != 0 ? (c << 1) ^ 0x04C1_1DB7 : c << 1 }
        return c
    }

    public static func checksum(_ data: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in data { crc = (crc << 8) ^ table[Int(((crc >> 24) ^ UInt32(b)) & 0xFF)] }
        return crc
    }
}
