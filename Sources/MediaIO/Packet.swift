import CFFmpeg

/// An owned AVPacket. `@unchecked Sendable` under one rule: one owner at a time — a packet is
/// handed from stage to stage and the sender never touches it after the hand-off.
public final class Packet: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<AVPacket>

    public init() {
        guard let p = av_packet_alloc() else { fatalError("av_packet_alloc: out of memory") }
        pointer = p
    }
    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = pointer
        av_packet_free(&p)
    }

    public var streamIndex: Int {
        get { Int(pointer.pointee.stream_index) }
        set { pointer.pointee.stream_index = Int32(newValue) }
    }
    public var pts: Int64 { get { pointer.pointee.pts } set { pointer.pointee.pts = newValue } }
    public var dts: Int64 { get { pointer.pointee.dts } set { pointer.pointee.dts = newValue } }
    public var duration: Int64 { get { pointer.pointee.duration } set { pointer.pointee.duration = newValue } }
    public var size: Int { Int(pointer.pointee.size) }
    public var isKeyframe: Bool { pointer.pointee.flags & AV_PKT_FLAG_KEY != 0 }
    public var isCorrupt: Bool { pointer.pointee.flags & AV_PKT_FLAG_CORRUPT != 0 }

    /// Rescales pts, dts and duration between time bases.
    public func rescale(from: Rational, to: Rational) {
        av_packet_rescale_ts(pointer, from.av, to.av)
    }

    /// Drops the payload and resets the fields, keeping the allocation for reuse.
    public func unref() { av_packet_unref(pointer) }

    /// The payload bytes (a copy).
    public var data: [UInt8] {
        guard let d = pointer.pointee.data, pointer.pointee.size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: d, count: Int(pointer.pointee.size)))
    }

    /// Replaces the payload with `bytes`, keeping timestamps, flags and side data.
    public func replacePayload(_ bytes: [UInt8]) {
        let padding = Int(AV_INPUT_BUFFER_PADDING_SIZE)
        guard let buf = av_buffer_alloc(bytes.count + padding) else { fatalError("av_buffer_alloc: out of memory") }
        let d = buf.pointee.data!
        bytes.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { d.update(from: base, count: bytes.count) }
        }
        (d + bytes.count).initialize(repeating: 0, count: padding)
        av_buffer_unref(&pointer.pointee.buf)
        pointer.pointee.buf = buf
        pointer.pointee.data = d
        pointer.pointee.size = Int32(bytes.count)
    }

    /// A new reference to the same payload and fields.
    public func clone() -> Packet {
        let p = Packet()
        av_packet_ref(p.pointer, pointer)
        return p
    }
}

/// A stream's codec extradata (SPS/PPS, avcC, …) as bytes, and setting it.
public enum CodecExtradata {
    public static func get(_ par: UnsafeMutablePointer<AVCodecParameters>) -> [UInt8] {
        guard let d = par.pointee.extradata, par.pointee.extradata_size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: d, count: Int(par.pointee.extradata_size)))
    }

    /// A codec context's extradata (an opened encoder's global header, a decoder's configuration).
    public static func get(_ ctx: UnsafeMutablePointer<AVCodecContext>) -> [UInt8] {
        guard let d = ctx.pointee.extradata, ctx.pointee.extradata_size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: d, count: Int(ctx.pointee.extradata_size)))
    }

    public static func set(_ par: UnsafeMutablePointer<AVCodecParameters>, _ bytes: [UInt8]) {
        av_freep(&par.pointee.extradata)
        let padding = Int(AV_INPUT_BUFFER_PADDING_SIZE)
        guard let raw = av_mallocz(bytes.count + padding) else { fatalError("av_mallocz: out of memory") }
        let d = raw.assumingMemoryBound(to: UInt8.self)
        bytes.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { d.update(from: base, count: bytes.count) }
        }
        par.pointee.extradata = d
        par.pointee.extradata_size = Int32(bytes.count)
    }
}
