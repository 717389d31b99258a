import Crypto

/// The pieces of C2PA's fragmented-BMFF hard binding (C2PA 2.x, "BMFF-based hash" with
/// `merkle`, the form c2pa-rs validates with `Reader.with_fragment`) that the C library does
/// not make: c2pa-rs has `Builder::sign_fragmented_files` in Rust, but its C API exports no
/// fragmented signing call, so labelcast hashes the fragments itself and hands the finished
/// `c2pa.hash.bmff.v3` assertion (a Merkle map whose leaves are the fragments' hashes, and
/// the init segment's own hash) to the library, which signs and embeds it.
///
/// - Each media segment (fragment) gets a C2PA `uuid` box of purpose `merkle` appended at its
///   end, holding its place in the tree (`uniqueId`, `localId`, `location`, no proof: the
///   manifest keeps the whole leaf row). Appended, not inserted before the `moof`, so no
///   offset in the fragment moves and its hash can be taken as it is written.
/// - A leaf is the BMFF v2 hash of the fragment file: every top-level box but the excluded
///   ones (the C2PA `uuid` boxes, `ftyp`, `mfra`, `free`, `skip` — c2pa-rs's default list,
///   also written into the assertion), each preceded by its offset as 8 big-endian bytes.
/// - The init segment's hash (`initHash`) is the same hash of the init segment with its
///   manifest box in place (excluded, but it moves the `moov` after it).
public enum FragmentedBMFF {
    /// The C2PA `uuid` box's extended type (ContentProvenanceBox).
    public static let c2paUUID: [UInt8] = [0xD8, 0xFE, 0xC3, 0xD6, 0x1B, 0x0E, 0x48, 0x3C, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7E, 0xC4, 0x81]

    /// Top-level box types left out of the hash, besides the C2PA `uuid` boxes.
    static let excludedTypes: Set<String> = ["ftyp", "mfra", "free", "skip"]

    /// One top-level box: where it starts, its size, its type.
    struct Box {
        let offset: Int
        let size: Int
        let type: String
    }

    /// The top-level boxes of `bytes`; nil when a box's size does not fit (not BMFF).
    static func topLevel(_ bytes: [UInt8]) -> [Box]? {
        var boxes: [Box] = []
        var at = 0
        while at < bytes.count {
            guard at + 8 <= bytes.count else { return nil }
            var size = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            var header = 8
            if size == 1 {
                guard at + 16 <= bytes.count else { return nil }
                size = bytes[(at + 8)..<(at + 16)].reduce(0) { $0 << 8 | Int($1) }
                header = 16
            } else if size == 0 {
                size = bytes.count - at
            }
            guard size >= header, at + size <= bytes.count else { return nil }
            boxes.append(Box(offset: at, size: size, type: String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)))
            at += size
        }
        return boxes
    }

    static func isC2PABox(_ bytes: [UInt8], _ box: Box) -> Bool {
        box.type == "uuid" && box.size >= 24 && Array(bytes[(box.offset + 8)..<(box.offset + 24)]) == c2paUUID
    }

    /// The BMFF v2 hash (SHA-256) of a whole file with the default exclusions; nil when the
    /// bytes are not a sequence of boxes.
    public static func hash(_ bytes: [UInt8]) -> [UInt8]? {
        guard let boxes = topLevel(bytes), !boxes.isEmpty else { return nil }
        var sha = SHA256()
        bytes.withUnsafeBufferPointer { buf in
            for box in boxes where !excludedTypes.contains(box.type) && !isC2PABox(bytes, box) {
                var offset = UInt64(box.offset).bigEndian
                withUnsafeBytes(of: &offset) { sha.update(bufferPointer: $0) }
                sha.update(bufferPointer: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buf[box.offset..<(box.offset + box.size)])))
            }
        }
        return Array(sha.finalize())
    }

    /// The C2PA `uuid` box of purpose `merkle` for the fragment at `location` of the
    /// rendition `id` (uniqueId = localId = id): CBOR `{uniqueId, localId, location, hashes: null}`.
    public static func merkleBox(rendition id: Int, location: Int) -> [UInt8] {
        var cbor: [UInt8] = [0xA4]
        cbor += CBOR.text("uniqueId") + CBOR.unsigned(UInt64(id))
        cbor += CBOR.text("localId") + CBOR.unsigned(UInt64(id))
        cbor += CBOR.text("location") + CBOR.unsigned(UInt64(location))
        cbor += CBOR.text("hashes") + [0xF6]
        let body = c2paUUID + [0, 0, 0, 0] + Array("merkle".utf8) + [0] + cbor
        let size = UInt32(8 + body.count)
        return [UInt8(size >> 24), UInt8((size >> 16) & 0xFF), UInt8((size >> 8) & 0xFF), UInt8(size & 0xFF)] + Array("uuid".utf8) + body
    }

    /// What a media segment's C2PA Merkle box says about its place: the Merkle map it belongs
    /// to (`uniqueId`, `localId`) and its leaf index (`location`); nil when the segment has no
    /// readable box of purpose `merkle` (any writer's, not only labelcast's).
    public struct MerklePlace: Sendable, Equatable {
        public let uniqueId: Int
        public let localId: Int
        public let location: Int
    }

    /// Whether `bytes` are a non-empty sequence of boxes (what `hash` needs; headers only).
    public static func isBoxSequence(_ bytes: [UInt8]) -> Bool {
        topLevel(bytes).map { !$0.isEmpty } ?? false
    }

    /// Whether `bytes` hold a top-level C2PA `uuid` box (a manifest store or a Merkle box).
    public static func hasC2PABox(_ bytes: [UInt8]) -> Bool {
        (topLevel(bytes) ?? []).contains { isC2PABox(bytes, $0) }
    }

    public static func merklePlace(in bytes: [UInt8]) -> MerklePlace? {
        guard let boxes = topLevel(bytes) else { return nil }
        for box in boxes where isC2PABox(bytes, box) {
            // size, type, extended type, version + flags, purpose (NUL-terminated), CBOR.
            var at = box.offset + 28
            let end = box.offset + box.size
            guard let nul = bytes[at..<end].firstIndex(of: 0) else { continue }
            guard String(decoding: bytes[at..<nul], as: UTF8.self) == "merkle" else { continue }
            at = nul + 1
            var reader = CBOR.Reader(bytes: bytes, at: at, end: end)
            guard let count = reader.mapCount() else { continue }
            var fields: [String: Int] = [:]
            for _ in 0..<min(count, 64) {
                guard let key = reader.text() else { break }
                if let n = reader.unsignedIfNext() { fields[key] = n } else if !reader.skip() { break }
            }
            if let u = fields["uniqueId"], let l = fields["localId"], let loc = fields["location"] {
                return MerklePlace(uniqueId: u, localId: l, location: loc)
            }
        }
        return nil
    }

    /// The `c2pa.hash.bmff.v3` assertion's data, as c2pa-rs reads it from a manifest
    /// definition (byte strings as arrays of numbers): no file-level `hash` (a fragmented
    /// asset must not have one), one Merkle map for the rendition with every leaf.
    public static func assertionData(rendition id: Int, leaves: [[UInt8]], initHash: [UInt8]) -> [String: Any] {
        let exclusions: [[String: Any]] = [
            ["xpath": "/uuid", "data": [["offset": 8, "value": c2paUUID.map(Int.init)]]],
            ["xpath": "/ftyp"], ["xpath": "/mfra"], ["xpath": "/free"], ["xpath": "/skip"],
        ]
        let map: [String: Any] = [
            "uniqueId": id, "localId": id, "count": leaves.count, "alg": "sha256",
            "initHash": initHash.map(Int.init), "hashes": leaves.map { $0.map(Int.init) },
        ]
        return ["exclusions": exclusions, "alg": "sha256", "name": "jumbf manifest", "merkle": [map]]
    }

    /// The top-level boxes' layout, (type, offset, size), for checking that two signings
    /// placed the manifest the same way.
    public static func layout(_ bytes: [UInt8]) -> [String] {
        (topLevel(bytes) ?? []).map { "\($0.type)@\($0.offset)+\($0.size)" }
    }
}

/// The few CBOR items the Merkle box needs (RFC 8949 major types 0 and 3).
enum CBOR {
    static func head(_ major: UInt8, _ n: UInt64) -> [UInt8] {
        switch n {
        case 0..<24: return [major << 5 | UInt8(n)]
        case 24..<0x100: return [major << 5 | 24, UInt8(n)]
        case 0x100..<0x10000: return [major << 5 | 25, UInt8(n >> 8), UInt8(n & 0xFF)]
        case 0x10000..<0x1_0000_0000: return [major << 5 | 26] + (0..<4).reversed().map { UInt8((n >> (8 * UInt64($0))) & 0xFF) }
        default: return [major << 5 | 27] + (0..<8).reversed().map { UInt8((n >> (8 * UInt64($0))) & 0xFF) }
        }
    }

    static func unsigned(_ n: UInt64) -> [UInt8] { head(0, n) }

    static func text(_ s: String) -> [UInt8] {
        let utf8 = Array(s.utf8)
        return head(3, UInt64(utf8.count)) + utf8
    }

    /// A bounded reader for the few CBOR items the Merkle box holds (definite lengths only).
    struct Reader {
        let bytes: [UInt8]
        var at: Int
        let end: Int

        /// The head's major type and argument; nil past the end or on an indefinite length.
        mutating func head() -> (major: UInt8, n: Int)? {
            guard at < end else { return nil }
            let b = bytes[at]
            at += 1
            let info = b & 0x1F
            var n = 0
            switch info {
            case 0..<24: n = Int(info)
            case 24...27:
                let len = 1 << Int(info - 24)
                guard at + len <= end else { return nil }
                for k in 0..<len { n = n << 8 | Int(bytes[at + k]) }
                guard len < 8 || bytes[at] < 0x80 else { return nil }
                at += len
            default: return nil
            }
            return (b >> 5, n)
        }

        mutating func mapCount() -> Int? {
            guard let h = head(), h.major == 5 else { return nil }
            return h.n
        }

        mutating func text() -> String? {
            guard let h = head(), h.major == 3, h.n <= end - at else { return nil }
            defer { at += h.n }
            return String(decoding: bytes[at..<(at + h.n)], as: UTF8.self)
        }

        /// An unsigned integer if one is next (consumed); otherwise nothing is consumed.
        mutating func unsignedIfNext() -> Int? {
            let saved = at
            if let h = head(), h.major == 0 { return h.n }
            at = saved
            return nil
        }

        /// Skips one item (nested at most 8 deep); false when it cannot be read.
        mutating func skip(depth: Int = 0) -> Bool {
            guard depth < 8, let h = head() else { return false }
            switch h.major {
            case 0, 1, 7: return true
            case 2, 3:
                guard h.n <= end - at else { return false }
                at += h.n
                return true
            case 4:
                for _ in 0..<min(h.n, end - at) where !skip(depth: depth + 1) { return false }
                return true
            case 5:
                for _ in 0..<min(h.n, end - at) where !(skip(depth: depth + 1) && skip(depth: depth + 1)) { return false }
                return true
            case 6: return skip(depth: depth + 1)
            default: return false
            }
        }
    }
}
