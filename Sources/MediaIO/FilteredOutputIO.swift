import CFFmpeg

/// An AVIOContext put in front of the one a muxer writes to, so that what the muxer writes
/// passes through an `SCTE35TSFilter` on its way to the file, pipe or network: the muxer
/// writes into `outer`; each time `outer` flushes, the filter's output is written to `inner`
/// and `inner` is flushed (a live output's `flush_packets` reaches the socket as before).
///
/// Used from the thread that drives the muxer; `detach()` once, after the trailer (or to
/// give up), before `inner` is closed.
final class FilteredOutputIO {
    let inner: UnsafeMutablePointer<AVIOContext>
    let filter: SCTE35TSFilter
    private(set) var outer: UnsafeMutablePointer<AVIOContext>?
    /// The first error `inner` reported, returned to the muxer from then on.
    private var error: Int32 = 0

    /// 64 TS packets: the muxer's writes come through in whole packets and reach `inner` in
    /// pieces no larger than its own buffer would have written.
    static let bufferSize = 188 * 64

    init(inner: UnsafeMutablePointer<AVIOContext>, filter: SCTE35TSFilter) throws {
        self.inner = inner
        self.filter = filter
        guard let buffer = av_malloc(Self.bufferSize)?.assumingMemoryBound(to: UInt8.self) else {
            throw MediaError(call: "av_malloc", code: lc_averror_enomem())
        }
        let opaque = Unmanaged.passUnretained(self).toOpaque()
        guard let ctx = avio_alloc_context(buffer, Int32(Self.bufferSize), 1, opaque, nil, { opaque, buf, size in
            guard let opaque, let buf, size > 0 else { return size }
            let me = Unmanaged<FilteredOutputIO>.fromOpaque(opaque).takeUnretainedValue()
            return me.pass(UnsafeRawBufferPointer(start: buf, count: Int(size)), size: size)
        }, nil) else {
            av_free(buffer)
            throw MediaError(call: "avio_alloc_context", code: lc_averror_enomem())
        }
        ctx.pointee.seekable = 0
        outer = ctx
    }

    deinit { _ = detach() }

    private func pass(_ bytes: UnsafeRawBufferPointer, size: Int32) -> Int32 {
        guard error == 0 else { return error }
        write(filter.filter(bytes))
        return error < 0 ? error : size
    }

    private func write(_ bytes: [UInt8]) {
        if !bytes.isEmpty { bytes.withUnsafeBufferPointer { avio_write(inner, $0.baseAddress, Int32($0.count)) } }
        avio_flush(inner)
        if inner.pointee.error < 0 { error = inner.pointee.error }
    }

    /// Flushes what the muxer wrote and what the filter still holds into `inner`, frees
    /// `outer`; returns `inner` (to be closed by the caller) and the first write error, if any.
    @discardableResult
    func detach() -> Int32 {
        guard var ctx = outer else { return error }
        avio_flush(ctx)
        if error == 0 { write(filter.finish()) }
        outer = nil
        av_freep(&ctx.pointee.buffer)
        var optional: UnsafeMutablePointer<AVIOContext>? = ctx
        avio_context_free(&optional)
        return error
    }
}
