import Foundation

/// Matroska writes its tags with the header, before labelcast knows whether a live-switched
/// run will carry synthetic frames. So such a run reserves the field: a SimpleTag named
/// `LCPH` whose value is as many spaces as the AIGC value has bytes. After the trailer, the
/// reserved tag is either turned into the AIGC field in place (same sizes, so no offset in the
/// file moves) or, when nothing synthetic went out, into an EBML Void element, which every
/// reader skips. (The output is written without CRC-32 elements then, as their sums would no
/// longer match.)
enum MatroskaTagPatch {
    static let placeholderName = "LCPH"

    static func placeholderValue(for value: String) -> String {
        String(repeating: " ", count: value.utf8.count)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Patches the reserved tag in `path`: to `value` (the AIGC field) or, when nil, to Void.
    static func apply(file path: String, value: String?) throws {
        guard let handle = FileHandle(forUpdatingAtPath: path) else { throw Failure(description: "cannot open \(path) to write its AIGC tag") }
        defer { try? handle.close() }
        // The tags sit in the header, near the start of the file.
        let head = [UInt8](handle.readData(ofLength: 4 << 20))
        let name: [UInt8] = [0x45, 0xA3, 0x84] + Array(placeholderName.utf8)
        guard let at = find(name, in: head) else { throw Failure(description: "the reserved Matroska tag is missing") }
        // TagString follows TagName: ID 0x4487, a size, the value.
        let s = at + name.count
        guard s + 2 < head.count, head[s] == 0x44, head[s + 1] == 0x87, let (valueSize, valueSizeLen) = vint(head, s + 2) else {
            throw Failure(description: "the reserved Matroska tag has no value")
        }
        let valueStart = s + 2 + valueSizeLen
        // The SimpleTag (ID 0x67C8) holding both starts just before TagName.
        var tagStart: Int?
        var tagContent = 0
        for back in 3...10 where at - back >= 0 {
            let p = at - back
            if head[p] == 0x67, head[p + 1] == 0xC8, let (size, len) = vint(head, p + 2), p + 2 + len == at {
                tagStart = p; tagContent = size
                break
            }
        }
        guard let tagStart else { throw Failure(description: "the reserved Matroska tag is not a SimpleTag") }
        let sizeLen = at - tagStart - 2
        if let value {
            let bytes = Array(value.utf8)
            guard bytes.count == valueSize else { throw Failure(description: "the AIGC value does not fit the reserved tag") }
            try handle.seek(toOffset: UInt64(at + 3))
            handle.write(Data("AIGC".utf8))
            try handle.seek(toOffset: UInt64(valueStart))
            handle.write(Data(bytes))
        } else {
            // Void (ID 0xEC, one byte shorter than 0x67C8): its size takes one more byte.
            var void: [UInt8] = [0xEC] + encodeVint(tagContent, width: sizeLen + 1)
            void += [UInt8](repeating: 0, count: tagContent)
            try handle.seek(toOffset: UInt64(tagStart))
            handle.write(Data(void))
        }
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
        return nil
    }

    /// An EBML variable-length size at `i`: (value, bytes).
    static func vint(_ b: [UInt8], _ i: Int) -> (Int, Int)? {
        guard i < b.count, b[i] != 0 else { return nil }
        let len = b[i].leadingZeroBitCount + 1
        guard len <= 8, i + len <= b.count else { return nil }
        var v = Int(b[i] & (0xFF >> len))
        for k in 1..<len { v = (v << 8) | Int(b[i + k]) }
        return (v, len)
    }

    static func encodeVint(_ v: Int, width: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width)
        var x = v
        for k in stride(from: width - 1, through: 0, by: -1) { out[k] = UInt8(x & 0xFF); x >>= 8 }
        out[0] |= UInt8(0x80 >> (width - 1))
        return out
    }
}
